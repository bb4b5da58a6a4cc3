"""The ports of the parts several instances share; Redis implements them beside this file."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

ChangeListener = Callable[[str, int], Awaitable[None]]
ResyncListener = Callable[[], Awaitable[None]]


class SessionChanges(Protocol):
    """News of committed turns: every instance hears each session's new revision at once,
    so pages follow their session wherever its turn was taken, without polling."""

    async def publish(self, key: str, revision: int) -> None:
        """Tell every instance that ``key`` is stored at ``revision`` now."""
        ...

    def listen(self, listener: ChangeListener) -> None:
        """Call ``listener(key, revision)`` for every change published by any instance."""
        ...

    def unlisten(self, listener: ChangeListener) -> None:
        """Stop calling ``listener`` (its page hub closed)."""
        ...

    def listen_resync(self, listener: ResyncListener) -> None:
        """Call ``listener()`` after the news came back from an outage: changes published
        meanwhile were not heard, so whoever follows sessions reads them once."""
        ...

    def unlisten_resync(self, listener: ResyncListener) -> None:
        """Stop calling ``listener`` after outages."""
        ...


class Lease(Protocol):
    """A named right only one instance holds at a time (the Telegram bot's polling)."""

    async def acquire(self) -> None:
        """Return once this instance holds the lease (waits while another holds it)."""
        ...

    def lost(self) -> asyncio.Future[None]:
        """Completes when the lease was lost (not renewed in time)."""
        ...

    async def release(self) -> None:
        """Give the lease up at once, so another instance takes over without waiting."""
        ...


class WindowCounter(Protocol):
    """Amounts per name in a sliding window (events, seconds of audio), counted by every
    instance together."""

    async def add(self, name: str, window: float, amount: float = 1.0) -> float:
        """Add ``amount`` for ``name`` now; its total over the last ``window`` seconds."""
        ...
