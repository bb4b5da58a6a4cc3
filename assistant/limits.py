"""Limits on guessing: a six-character code is short enough to type, so it is too short to
leave open to a script trying them all. Wrong codes are counted per address (an IP, a chat)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WRONG_CODES = 10  # allowed per window and address
WINDOW = 600.0  # seconds


class MissCounter:
    """Recent misses per address; ``blocked`` once an address has had too many."""

    def __init__(
        self,
        allowed: int = WRONG_CODES,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed = allowed
        self.window = window
        self.clock = clock
        self._misses: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        misses = self._misses.setdefault(address, deque())
        cutoff = self.clock() - self.window
        while misses and misses[0] < cutoff:
            misses.popleft()
        if not misses:
            del self._misses[address]
            return deque()
        return misses

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self.allowed

    def miss(self, address: str) -> None:
        self._recent(address)
        self._misses.setdefault(address, deque()).append(self.clock())
