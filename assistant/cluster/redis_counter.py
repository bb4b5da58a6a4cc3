"""Amounts per name in a sliding window, counted in Redis so every instance counts together.

The window is cut into ``SLOTS`` slots; an amount is added to its slot's key with
``INCRBYFLOAT`` and the key expires (``PEXPIRE``) once the window has passed it, and the
window's total is the sum of its slots (``MGET``), all in one round trip. The total is exact
to one slot (a tenth of the window), which a rate limit can afford; names nobody uses leave
nothing behind.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

PREFIX = "assistant:count:"
SLOTS = 10


class RedisWindowCounter:
    """``WindowCounter`` over Redis: one small key per name and slot."""

    def __init__(
        self, client: Redis, *, prefix: str = PREFIX, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock

    async def add(self, name: str, window: float, amount: float = 1.0) -> float:
        """Add ``amount`` now; the total of ``name`` over the last ``window`` seconds."""
        slot = window / SLOTS
        current = math.floor(self.clock() / slot)
        keys = [f"{self.prefix}{name}:{current - back}" for back in range(SLOTS)]
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incrbyfloat(keys[0], amount)
            pipe.pexpire(keys[0], math.ceil((window + slot) * 1000))
            pipe.mget(keys)
            results = await pipe.execute()
        return sum(float(value) for value in results[2] if value is not None)
