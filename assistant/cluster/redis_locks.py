"""The per-session lock shared by every instance: a Redis key per session.

Taken with ``SET key token NX PX ttl`` (the token is this holder's alone), renewed every
third of ``ttl`` while the turn runs, and released by a Lua compare-and-delete, so a holder
never frees a lock that expired and was taken by someone else. A holder that dies stops
renewing: its lock frees itself after ``ttl``. Turns of one session in this process queue on
the process's own lock first, so only one of them at a time asks Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from assistant.cluster.redis_tokens import TokenKeys, new_token
from assistant.key_locks import KeyLocks

if TYPE_CHECKING:
    from redis.asyncio import Redis

_LOGGER = logging.getLogger(__name__)

LOCK_TTL_S = 10.0  # a dead holder's lock frees itself after this long
FIRST_RETRY_S = 0.002  # waiting for a lock held elsewhere: first pause, doubled up to
LAST_RETRY_S = 0.025  # this one, so a freed lock is taken within a few ms
PREFIX = "assistant:lock:session:"


class RedisSessionLocks:
    """``KeyLocking`` over Redis: one holder per session key across every instance."""

    def __init__(
        self,
        client: Redis,
        *,
        ttl: float = LOCK_TTL_S,
        prefix: str = PREFIX,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.prefix = prefix
        self.on_wait = on_wait  # told when a turn waits for another instance's (tests, metrics)
        self._local = KeyLocks()
        self._keys = TokenKeys(client, ttl)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold ``key`` in this process and in Redis for the block."""
        async with self._local.hold(key):
            name = self.prefix + key
            token = new_token()
            await self._acquire(key, name, token)
            renewing = asyncio.create_task(self._keep(name, token), name=f"lock:{key}")
            try:
                yield
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
                # Shielded: a cancelled turn still frees the lock now, not after ``ttl``.
                await asyncio.shield(self._free(name, token))

    def keys(self) -> frozenset[str]:
        """Sessions with a turn running or waiting in this process."""
        return self._local.keys()

    async def _acquire(self, key: str, name: str, token: str) -> None:
        pause = FIRST_RETRY_S
        told = False
        while not await self._keys.take(name, token):
            if not told and self.on_wait is not None:
                self.on_wait(key)
                told = True
            # Held by another instance: no notification exists for its release, so ask again
            # soon; the pauses grow so a long turn elsewhere costs few requests.
            await asyncio.sleep(pause)
            pause = min(pause * 2, LAST_RETRY_S)

    async def _keep(self, name: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                renewed = await self._keys.renew(name, token)
            except Exception:  # Redis away for a moment: the next renewal may still be in time
                _LOGGER.warning("could not renew the lock %s", name, exc_info=True)
                continue
            if not renewed:
                _LOGGER.error("the lock %s expired while its turn ran", name)
                return

    async def _free(self, name: str, token: str) -> None:
        await self._keys.free(name, token, "the lock")  # else it expires by itself after ttl
