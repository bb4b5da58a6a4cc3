"""What a check found: the outcome written into an artifact's manifest, timed and logged."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check; ``detail`` says what was wrong, for staff."""

    name: str
    passed: bool
    detail: str = ""
    seconds: float = 0.0

    def to_manifest(self) -> dict[str, Any]:
        """The form written into ``manifest.json``."""
        return asdict(self)


def timed_result(name: str, started: float, passed: bool, detail: str = "") -> CheckResult:
    """A check's outcome, timed from ``started``; failures are logged for staff."""
    if not passed:
        _LOGGER.info("%s check failed: %s", name, detail)
    return CheckResult(name, passed, detail, time.monotonic() - started)


def output_tail(text: str, lines: int = 12) -> str:
    """The end of a program's output, where the error that matters is."""
    return "\n".join(text.strip().splitlines()[-lines:])
