"""Sessions in use on any instance, so one instance's clean-up never removes a session a
page of another instance has open (issue 17).

Each instance writes the sessions it has in use (a turn running, a page open) into one Redis
sorted set, each with the moment its entry stops counting, every third of ``ttl``; the
clean-up reads the entries still counting. Times are the Redis server's, so instances on
machines whose clocks differ agree. An instance that dies stops writing: its entries stop
counting after ``ttl``, and the next clean-up may remove what only it had open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

_LOGGER = logging.getLogger(__name__)

BUSY_KEY = "assistant:busy-sessions"
BUSY_TTL_S = 60.0


class RedisBusySessions:
    """The sessions every instance has in use, as of its latest write."""

    def __init__(self, client: Redis, *, key: str = BUSY_KEY, ttl: float = BUSY_TTL_S) -> None:
        self.client = client
        self.key = key
        self.ttl = ttl
        self._local: Callable[[], frozenset[str]] = frozenset
        self._task: asyncio.Task[None] | None = None

    async def _now(self) -> float:
        seconds, micros = await self.client.time()
        return seconds + micros / 1e6

    async def write(self) -> None:
        """Write this instance's sessions in use now, and drop entries no longer counting."""
        now = await self._now()
        async with self.client.pipeline(transaction=True) as pipe:
            keys = self._local()
            if keys:
                pipe.zadd(self.key, {key: now + self.ttl for key in keys}, gt=True)
            pipe.zremrangebyscore(self.key, "-inf", now)
            await pipe.execute()

    async def everywhere(self) -> frozenset[str]:
        """This instance's sessions in use and every other instance's still counting."""
        await self.write()
        now = await self._now()
        members = await self.client.zrangebyscore(self.key, now, "+inf")
        return self._local() | frozenset(
            m.decode() if isinstance(m, bytes) else str(m) for m in members
        )

    def start(self, local: Callable[[], frozenset[str]]) -> None:
        """Write ``local()``'s sessions every third of ``ttl`` from now on."""
        self._local = local
        self._task = asyncio.create_task(self._keep_writing(), name="busy-sessions")

    async def stop(self) -> None:
        """Stop writing (the entries stop counting after ``ttl``)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _keep_writing(self) -> None:
        while True:
            try:
                await self.write()
            except Exception as err:  # Redis away for a moment: the next write catches up
                _LOGGER.warning("could not share the sessions in use: %s", err)
            await asyncio.sleep(self.ttl / 3)
