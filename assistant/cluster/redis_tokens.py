"""Keys held with a token in Redis: the one primitive under the session locks and the leases.

A holder takes a key with ``SET key token NX PX ttl`` (its token is its own, random), renews
and frees it only through compare-and-act scripts, so it never extends or deletes a key that
expired and was taken by another holder meanwhile. What to do while waiting and when a renewal
fails is the caller's (``redis_locks``, ``redis_lease``).
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

_LOGGER = logging.getLogger(__name__)

_FREE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


def new_token() -> str:
    """A holder's token: nobody else's key can match it."""
    return secrets.token_hex(16)


class TokenKeys:
    """Take, renew and free keys that expire after ``ttl`` seconds unless renewed."""

    def __init__(self, client: Redis, ttl: float) -> None:
        self.client = client
        self.ttl = ttl
        self._milliseconds = int(ttl * 1000)
        self._free = client.register_script(_FREE)
        self._renew = client.register_script(_RENEW)

    async def take(self, name: str, token: str) -> bool:
        """Hold ``name`` for ``token`` if nobody holds it; False when someone does."""
        return bool(await self.client.set(name, token, nx=True, px=self._milliseconds))

    async def renew(self, name: str, token: str) -> bool:
        """Another ``ttl`` for ``name``; False when it is no longer ``token``'s."""
        return bool(await self._renew(keys=[name], args=[token, self._milliseconds]))

    async def free(self, name: str, token: str, what: str) -> None:
        """Delete ``name`` if it is still ``token``'s; a failure is logged (it expires)."""
        try:
            await self._free(keys=[name], args=[token])
        except Exception:
            _LOGGER.warning("could not release %s %s", what, name, exc_info=True)
