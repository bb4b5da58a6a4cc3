"""The upkeep ports (part D of issue 12): attempts counted per address, and the retention of
old sessions, turns and artifacts. Kept apart from ``assistant.ports`` (the dialog's, the
queue's and the engines'), which they are part of the vocabulary beside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class AttemptStore(Protocol):
    """Attempts per address (wrong codes, new sessions), kept where a restart cannot reset them."""

    async def record_attempt(self, kind: str, address: str, code: str, at: float) -> None:
        """One attempt of ``kind`` from ``address``; ``code`` is what was tried, or ""."""
        ...

    async def count_attempts(
        self, kind: str, address: str, since: float, *, distinct: bool = False
    ) -> int:
        """Attempts since ``since``; with ``distinct``, different codes only."""
        ...


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each kind of stored thing is kept, in seconds; 0 keeps it forever.

    ``ended`` and ``idle`` count from a session's last turn; ``turns`` is the history of
    sessions that are kept; ``artifacts`` counts from when the artifact was made; ``links`` is
    a chat's link to a session it continued; ``attempts`` outlives every limit's window.
    """

    ended: float = 0.0
    idle: float = 0.0
    turns: float = 0.0
    artifacts: float = 0.0
    links: float = 0.0
    attempts: float = 86_400.0


@dataclass(frozen=True, slots=True)
class CleanupReport:
    """One clean-up: when, whether it only counted, what it removed, and which folders."""

    at: float
    dry_run: bool
    removed: dict[str, int]
    folders: tuple[str, ...] = ()


class RetentionStore(Protocol):
    """Removes what is past retention; never a session in use or an artifact one points at."""

    async def clean_up(
        self, policy: RetentionPolicy, now: float, busy: frozenset[str], *, dry_run: bool
    ) -> CleanupReport:
        """Remove (or with ``dry_run`` only count) the rows past ``policy``; sessions whose
        keys are in ``busy`` are kept. The report names the artifact folders removed."""
        ...

    async def record_cleanup(self, report: CleanupReport) -> None:
        """Keep the run for staff (``/healthz``, ``assistant cleanup``)."""
        ...

    async def last_cleanup(self) -> CleanupReport | None:
        """The latest run that was not a dry run, if any."""
        ...

    async def strings_in_use(self) -> frozenset[str]:
        """Every text value in the answers of kept sessions (their pending answer and the
        versions "undo" can go back to included) and of tasks still to build: a stored photo
        is kept while its id is among them."""
        ...
