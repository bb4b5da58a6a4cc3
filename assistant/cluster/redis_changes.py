"""News of committed turns over Redis pub/sub: ``session:<key>`` carries the new revision.

Every instance publishes what it commits and holds one subscription (one task, started with
the service and cancelled when it stops) that hands each change to its listeners, the web
hub's pages among them, so a page follows its session at once wherever the turn was taken.
Messages published while the subscription was away are not replayed: once it is back, the
resync listeners are called, and the web hub reads the revisions of its open pages once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from assistant.cluster.ports import ChangeListener, ResyncListener

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

_LOGGER = logging.getLogger(__name__)

CHANNEL_PREFIX = "session:"
RECONNECT_S = 1.0  # Redis away: how long before subscribing again


class RedisSessionChanges:
    """``SessionChanges`` over one Redis: publish on commit, one subscription per process."""

    def __init__(self, client: Redis, *, prefix: str = CHANNEL_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._listeners: list[ChangeListener] = []
        self._resync: list[ResyncListener] = []
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def publish(self, key: str, revision: int) -> None:
        """Tell every instance (this one too) that ``key`` is at ``revision``; a Redis that is
        away costs the pages their instant update, never the user's turn."""
        try:
            await self.client.publish(self.prefix + key, str(revision))
        except Exception:
            _LOGGER.warning("could not publish the change of %s", key, exc_info=True)

    def listen(self, listener: ChangeListener) -> None:
        """Call ``listener(key, revision)`` for every published change."""
        self._listeners.append(listener)

    def unlisten(self, listener: ChangeListener) -> None:
        """Stop calling ``listener``."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def listen_resync(self, listener: ResyncListener) -> None:
        """Call ``listener()`` each time the subscription is back after an outage."""
        self._resync.append(listener)

    def unlisten_resync(self, listener: ResyncListener) -> None:
        """Stop calling ``listener``."""
        with contextlib.suppress(ValueError):
            self._resync.remove(listener)

    async def start(self) -> None:
        """Subscribe, and return once the subscription is in place (nothing after is missed)."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="session-changes")
        waiting = asyncio.create_task(self._subscribed.wait())
        await asyncio.wait([waiting, self._task], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self._task.done():
            self._task.result()  # the subscription failed at once: say why

    async def stop(self) -> None:
        """Cancel the subscription's task and wait for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self) -> None:
        first = True
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self.prefix + "*")
                self._subscribed.set()
                if not first:
                    await self._resynced()
                first = False
                await self._deliver(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception:
                if first:
                    raise
                _LOGGER.warning("session changes: Redis away, subscribing again", exc_info=True)
                await asyncio.sleep(RECONNECT_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _resynced(self) -> None:
        _LOGGER.info("session changes: subscribed again, reading what was missed")
        for listener in list(self._resync):
            try:
                await listener()
            except Exception:
                _LOGGER.exception("a resync listener failed")

    async def _deliver(self, pubsub: PubSub) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "pmessage":
                continue
            channel, data = message["channel"], message["data"]
            key = (channel.decode() if isinstance(channel, bytes) else channel)[len(self.prefix) :]
            try:
                revision = int(data)
            except ValueError:
                continue
            for listener in list(self._listeners):
                try:
                    await listener(key, revision)
                except Exception:  # one listener's trouble must not end the others' news
                    _LOGGER.exception("a listener failed on the change of %s", key)
