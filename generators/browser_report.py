"""What one page load in Chromium showed, kept for staff and tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PageReport:
    """What one page load showed: enough for staff to see why a page was refused."""

    console_errors: tuple[str, ...]
    blocked_requests: tuple[str, ...]
    title: str
    screenshot: Path | None
    text: str

    @property
    def ok(self) -> bool:
        """A page passes only with no errors and no attempt to leave its folder."""
        return not self.console_errors and not self.blocked_requests

    def describe(self, limit: int = 10) -> str:
        """A short, staff-readable list of the problems (empty when ``ok``)."""
        parts = []
        for label, items in (("errors", self.console_errors), ("blocked", self.blocked_requests)):
            if items:
                more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
                parts.append(f"{label}: " + "; ".join(items[:limit]) + more)
        return " | ".join(parts)
