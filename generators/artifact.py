"""What every generator does around its template: write files, run checks, report.

A check that fails raises ``GenerationError`` with the checks in its details, so nothing that
failed is ever delivered and staff find the reason in the failed attempt's manifest.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from assistant.errors import GenerationError
from generators.checks.result import CheckResult
from generators.palette import Palette

_LOGGER = logging.getLogger(__name__)


async def write_text(folder: Path, name: str, text: str) -> None:
    """Write one artifact file off the event loop."""
    await asyncio.to_thread((folder / name).write_text, text, encoding="utf-8")


def palette_notes(palette: Palette) -> list[dict[str, Any]]:
    """Colour answers the page could not use as chosen, as notes the user is told about."""
    notes = []
    for adjustment in palette.adjustments:
        if adjustment.question_id is None:
            continue
        note = {
            "key": "color_adjusted",
            "question": adjustment.question_id,
            "original": adjustment.original,
            "used": adjustment.used,
            "contrast_before": round(adjustment.ratio_before, 2),
            "contrast_after": round(adjustment.ratio_after, 2),
        }
        if note not in notes:
            notes.append(note)
    return notes


def conclude(
    checks: list[CheckResult], skipped: list[str], details: dict[str, Any]
) -> dict[str, Any]:
    """The manifest details; raises when any check failed."""
    details = {
        **details,
        "checks": [check.to_manifest() for check in checks],
        "checks_passed": [check.name for check in checks if check.passed],
        "checks_skipped": skipped,
    }
    failed = [check for check in checks if not check.passed]
    if failed:
        reasons = "; ".join(f"{check.name}: {check.detail}" for check in failed)
        raise GenerationError(f"checks failed: {reasons}", code="check_failed", details=details)
    return details
