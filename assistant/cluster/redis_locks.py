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
import secrets
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from assistant.key_locks import KeyLocks

if TYPE_CHECKING:
    from redis.asyncio import Redis

_LOGGER = logging.getLogger(__name__)

LOCK_TTL_S = 10.0  # a dead holder's lock frees itself after this long
FIRST_RETRY_S = 0.002  # waiting for a lock held elsewhere: first pause, doubled up to
LAST_RETRY_S = 0.025  # this one, so a freed lock is taken within a few ms
PREFIX = "assistant:lock:session:"

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


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
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold ``key`` in this process and in Redis for the block."""
        async with self._local.hold(key):
            name = self.prefix + key
            token = secrets.token_hex(16)
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
        milliseconds = int(self.ttl * 1000)
        while not await self.client.set(name, token, nx=True, px=milliseconds):
            if not told and self.on_wait is not None:
                self.on_wait(key)
                told = True
            # Held by another instance: no notification exists for its release, so ask again
            # soon; the pauses grow so a long turn elsewhere costs few requests.
            await asyncio.sleep(pause)
            pause = min(pause * 2, LAST_RETRY_S)

    async def _keep(self, name: str, token: str) -> None:
        milliseconds = int(self.ttl * 1000)
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                renewed = await self._renew(keys=[name], args=[token, milliseconds])
            except Exception:  # Redis away for a moment: the next renewal may still be in time
                _LOGGER.warning("could not renew the lock %s", name, exc_info=True)
                continue
            if not renewed:
                _LOGGER.error("the lock %s expired while its turn ran", name)
                return

    async def _free(self, name: str, token: str) -> None:
        try:
            await self._release(keys=[name], args=[token])
        except Exception:  # it expires by itself after ttl
            _LOGGER.warning("could not release the lock %s", name, exc_info=True)
