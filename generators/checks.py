"""Checks an artifact must pass before it is delivered.

A failed check never ships: the generator raises, the user hears one plain sentence, and the
reason is in the log and in the generation's row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
