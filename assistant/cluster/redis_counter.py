"""Events per name in a sliding window, counted in Redis so every instance counts together.

A sorted set per name holds one member per event, scored by its time; counting trims what
fell out of the window, adds the event and reads the size in one transaction, and the key
expires a window after its last event, so names nobody uses leave nothing behind.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

PREFIX = "assistant:count:"


class RedisWindowCounter:
    """``WindowCounter`` over Redis sorted sets."""

    def __init__(
        self, client: Redis, *, prefix: str = PREFIX, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock

    async def add(self, name: str, window: float) -> int:
        """Count one event now; the events of ``name`` in the last ``window`` seconds."""
        key = self.prefix + name
        now = self.clock()
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now - window)
            pipe.zadd(key, {f"{now:.6f}:{secrets.token_hex(4)}": now})
            pipe.zcard(key)
            pipe.pexpire(key, int(window * 1000) + 1000)
            results = await pipe.execute()
        return int(results[2])
