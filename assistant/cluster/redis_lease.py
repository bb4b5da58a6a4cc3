"""A lease in Redis: one instance at a time holds a named right (the Telegram bot's polling,
since Telegram gives each update to one ``getUpdates`` caller and refuses two at once).

Taken with ``SET NX PX``, renewed every third of ``ttl`` by a compare-and-renew script; a
holder that dies stops renewing and another instance, asking every tenth of ``ttl``, takes
the lease within about ``ttl`` of the death; a holder that stops releases it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from assistant.cluster.redis_tokens import TokenKeys, new_token

if TYPE_CHECKING:
    from redis.asyncio import Redis

_LOGGER = logging.getLogger(__name__)

LEASE_TTL_S = 15.0
PREFIX = "assistant:lease:"


class RedisLease:
    """``Lease`` over Redis for ``name``; one object per holder, reusable after release."""

    def __init__(
        self, client: Redis, name: str, *, ttl: float = LEASE_TTL_S, prefix: str = PREFIX
    ) -> None:
        self.client = client
        self.key = prefix + name
        self.ttl = ttl
        self.token = ""
        self._renewing: asyncio.Task[None] | None = None
        self._lost: asyncio.Future[None] | None = None
        self._keys = TokenKeys(client, ttl)

    async def acquire(self) -> None:
        """Wait until this instance holds the lease, then keep renewing it."""
        token = new_token()
        while True:
            try:
                if await self._keys.take(self.key, token):
                    break
            except asyncio.CancelledError:
                raise
            except Exception:
                _LOGGER.warning("lease %s: Redis does not answer", self.key, exc_info=True)
            # Another instance holds it: nothing announces its death but the key's expiry.
            await asyncio.sleep(self.ttl / 10)
        self.token = token
        self._lost = asyncio.get_running_loop().create_future()
        self._renewing = asyncio.create_task(self._keep(token, self._lost), name=self.key)
        _LOGGER.info("lease %s taken", self.key)

    def lost(self) -> asyncio.Future[None]:
        """Completes when the lease could not be renewed in time (another may hold it now)."""
        if self._lost is None:
            raise RuntimeError("the lease is not held")
        return self._lost

    async def release(self) -> None:
        """Stop renewing and free the lease now, if it is still this holder's."""
        task, self._renewing = self._renewing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.token:
            token, self.token = self.token, ""
            await self._keys.free(self.key, token, "lease")
        if self._lost is not None and not self._lost.done():
            self._lost.cancel()

    async def _keep(self, token: str, lost: asyncio.Future[None]) -> None:
        loop = asyncio.get_running_loop()
        renewed_at = loop.time()
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                still = await self._keys.renew(self.key, token)
            except Exception:
                _LOGGER.warning("could not renew lease %s", self.key, exc_info=True)
                if loop.time() - renewed_at < self.ttl:
                    continue  # it may still be ours: try again before it expires
                still = False
            if not still:
                _LOGGER.error("lease %s lost", self.key)
                if not lost.done():
                    lost.set_result(None)
                return
            renewed_at = loop.time()
