"""One asyncio lock per key, so two turns of one session (or two sign-in attempts on one name)
never interleave while different keys run side by side; a lock nobody holds or waits for is
dropped, so the table does not grow with every key ever seen. With ``redis_url`` the same
protocol is served across instances by ``assistant.cluster.redis_locks``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class KeyLocking(Protocol):
    """A lock per key: the dialog manager holds its session's for a turn, the staff sign-in
    a name's and an address's for an attempt. This process's own (``KeyLocks``), or one
    shared by every instance (``assistant.cluster.redis_locks``)."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold ``key``'s lock for the block; two holders of one key never overlap."""
        ...

    def keys(self) -> frozenset[str]:
        """Keys held or waited for in this process (sessions with a turn running)."""
        ...


class KeyLocks:
    """One asyncio lock per session key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._entries.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._entries[key]

    def keys(self) -> frozenset[str]:
        """Sessions with a turn running or waiting."""
        return frozenset(self._entries)
