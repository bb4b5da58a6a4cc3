"""One asyncio lock per session, so two turns of one session never interleave while different
sessions run side by side; a lock nobody holds or waits for is dropped, so the table does not
grow with every session ever seen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class SessionLocking(Protocol):
    """The per-session lock the dialog manager holds for a turn: this process's own
    (``SessionLocks``), or one shared by every instance (``assistant.cluster.redis_locks``)."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold ``key``'s lock for the block; two holders of one key never overlap."""
        ...

    def keys(self) -> frozenset[str]:
        """Sessions with a turn running or waiting in this process."""
        ...


class SessionLocks:
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
