"""Limits per address (an IP, a chat): on guessing continuation codes and on new sessions.

A six-character code is short enough to type, so it is too short to leave open to a script
trying them all; a websocket ``hello`` makes a stored session, so it must not make hundreds a
second. Both counts live in the store (``AttemptStore``): a restart does not reset them.

Codes: the space is ``len(CODE_ALPHABET) ** CODE_LENGTH`` = 32**6 = 1,073,741,824. Different
wrong codes are counted per address. Past ``soft`` of them in ``soft_window`` a wrong code is
answered "wait" instead of "no such code", but the right code still opens its session, so
one careless guesser behind a shared address does not lock out everyone there. Past
``ceiling`` in a day nothing is looked up at all: one address gets at most ``ceiling`` (100)
lookups a day, so with S live codes its chance of a hit is 100 * S / 32**6 a day (S = 1,000:
about 1 in 10,700); N addresses get N times that.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from assistant.upkeep_ports import AttemptStore

WRONG_CODES = 10  # different wrong codes per window and address before "wait"
WINDOW = 600.0  # seconds
WRONG_CODES_PER_DAY = 100  # different wrong codes a day before nothing is looked up
DAY = 86_400.0
NEW_SESSIONS = 20  # new sessions per window and address; 0 = no limit
NEW_SESSION_WINDOW = 600.0

CODE_MISS = "code_miss"
NEW_SESSION = "new_session"


class CodeVerdict(enum.Enum):
    """Whether an address may try a code now."""

    OPEN = "open"  # look it up; a wrong one is "no such code"
    SLOW = "slow"  # look it up; a wrong one is "wait a few minutes"
    CLOSED = "closed"  # nothing is looked up until the day's failures age out


class MemoryAttempts:
    """An ``AttemptStore`` in memory, for a channel built without a store (tests, tools)."""

    def __init__(self) -> None:
        self._rows: list[tuple[str, str, str, float]] = []

    async def record_attempt(self, kind: str, address: str, code: str, at: float) -> None:
        """Remember one attempt."""
        self._rows.append((kind, address, code, at))

    async def count_attempts(
        self, kind: str, address: str, since: float, *, distinct: bool = False
    ) -> int:
        """Attempts since ``since``; with ``distinct``, different codes only."""
        found = [r[2] for r in self._rows if r[0] == kind and r[1] == address and r[3] >= since]
        return len(set(found)) if distinct else len(found)


class CodeGuard:
    """Counts wrong continuation codes per address and says whether to look one up."""

    def __init__(
        self,
        attempts: AttemptStore,
        *,
        soft: int = WRONG_CODES,
        soft_window: float = WINDOW,
        ceiling: int = WRONG_CODES_PER_DAY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.attempts = attempts
        self.soft = soft
        self.soft_window = soft_window
        self.ceiling = ceiling
        self.clock = clock

    async def verdict(self, address: str) -> CodeVerdict:
        """What this address may do with the next code it sends."""
        now = self.clock()
        today = await self.attempts.count_attempts(CODE_MISS, address, now - DAY, distinct=True)
        if today >= self.ceiling:
            return CodeVerdict.CLOSED
        recent = await self.attempts.count_attempts(
            CODE_MISS, address, now - self.soft_window, distinct=True
        )
        return CodeVerdict.SLOW if recent >= self.soft else CodeVerdict.OPEN

    async def miss(self, address: str, code: str) -> None:
        """Count a wrong code (the same wrong code again counts once)."""
        await self.attempts.record_attempt(CODE_MISS, address, code.strip().upper(), self.clock())


class SessionLimit:
    """New stored sessions per address: ``allowed`` per ``window`` seconds (0 = no limit)."""

    def __init__(
        self,
        attempts: AttemptStore,
        *,
        allowed: int = NEW_SESSIONS,
        window: float = NEW_SESSION_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.attempts = attempts
        self.allowed = allowed
        self.window = window
        self.clock = clock

    async def take(self, address: str) -> bool:
        """Whether ``address`` may start one more session now; if so, it is counted."""
        if self.allowed <= 0:
            return True
        now = self.clock()
        made = await self.attempts.count_attempts(NEW_SESSION, address, now - self.window)
        if made >= self.allowed:
            return False
        await self.attempts.record_attempt(NEW_SESSION, address, "", now)
        return True
