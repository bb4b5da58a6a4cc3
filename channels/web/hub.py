"""Who is looking at which session: the web chat's fan-out, and the kiosk screen's watchers.

A session can be open in several places at once (a reloaded tab, a phone that continued it by
code, a kiosk screen), and each must show the same conversation. Replies of a turn and
replies no turn asked for (delivery) both go through ``publish``.

A kiosk screen shows the session that the kiosk channel drives, usually from another process
(``assistant kiosk``). Nothing may assume one process owns the database, so a watcher polls
the kiosk's seat (which session is the current person's) and that session's revision and,
when either moves, shows the replies of the latest turn: each new person's session in turn,
never the one before.

A web page's session can move on elsewhere too (``assistant console --resume``, Telegram's
``/resume``, another server process). One poller reads the revisions of every session with
an open page in a single query; a revision this process did not write itself is shown on
those pages like a kiosk change. With Redis (``redis_url``: several instances) there is no
poller: every instance publishes each revision it commits, and this hub hears them through
the manager's ``changes`` and refreshes the pages of that key at once. Revisions written here are noted as they are written
(``note``), so a page never sees its own turn twice. A page follows only its own session: when
that session ends (a goodbye, or the next person took the kiosk) the page is told in words,
and nothing of whatever the kiosk does next reaches it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

from assistant.dialog.manager import DialogManager
from assistant.events import Reply, ReplyKind, SessionState
from assistant.session import Session

_LOGGER = logging.getLogger(__name__)
WEB_CHANNEL = "web"  # the channel name the web connections give their turns


class Subscriber(Protocol):
    """One open page."""

    async def send_replies(self, replies: list[Reply], *, spoken: bytes | None) -> None: ...

    async def send_json(self, message: dict[str, Any]) -> None: ...

    async def notice(self, key: str, **params: str) -> None: ...


Speaker = Callable[[str, list[Reply]], Awaitable[bytes | None]]


class SessionHub:
    """Open pages per session key, and one poller per watched (kiosk) session."""

    def __init__(
        self,
        manager: DialogManager,
        summarize: Callable[[Session], dict[str, Any]],
        speaker: Speaker | None = None,
        poll_interval: float = 0.3,
        page_poll_interval: float = 1.0,
    ) -> None:
        self.manager = manager
        self.summarize = summarize
        self._seen: dict[str, int] = {}
        self.poll_interval = poll_interval
        self._pages: dict[str, set[Subscriber]] = {}
        self._watchers: dict[str, set[Subscriber]] = {}
        self._pollers: dict[str, asyncio.Task[None]] = {}
        self._watched: dict[str, str] = {}  # seat -> the session its screens show now
        self.speaker = speaker  # replies as audio for pages that want them read aloud
        self.page_poll_interval = page_poll_interval
        self._known: dict[str, int] = {}  # revision of each page's session as pages last saw it
        self._page_poller: asyncio.Task[None] | None = None
        self._writing: dict[str, int] = {}  # keys this process is changing right now
        self._page_pass: asyncio.Event | None = None  # set when a pass over the pages ends
        self.changes = manager.changes  # several instances: news of every commit, no polling
        if self.changes is not None:
            self.changes.listen(self._changed)
            self.changes.listen_resync(self._refresh_pages)  # news missed in an outage

    # -- pages ------------------------------------------------------------------------------

    def join(self, key: str, page: Subscriber) -> None:
        self._pages.setdefault(key, set()).add(page)
        if self.changes is not None:
            return  # the change news reach ``_changed``: nothing to poll
        if self._page_poller is None or self._page_poller.done():
            self._page_poller = asyncio.create_task(self._poll_pages())

    def leave(self, key: str, page: Subscriber) -> None:
        pages = self._pages.get(key)
        if pages is not None:
            pages.discard(page)
            if not pages:
                del self._pages[key]
                self._known.pop(key, None)

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[None]:
        """This process changes ``key`` now: the poller leaves it alone until ``note``."""
        self._writing[key] = self._writing.get(key, 0) + 1
        try:
            yield
        finally:
            self._writing[key] -= 1
            if not self._writing[key]:
                del self._writing[key]

    def note(self, session: Session) -> None:
        """This process wrote ``session`` and showed it: the poller has nothing to add."""
        self.note_revision(session.key, session.revision)

    def note_revision(self, key: str, revision: int) -> None:
        """As ``note``, with the revision only (what the manager stored last for ``key``)."""
        if key in self._pages:
            self._known[key] = max(self._known.get(key, -1), revision)

    async def note_stored(self, key: str) -> Session | None:
        """Note what this process stored last for ``key``: from the manager's memory when it
        has it (no read per turn or delivery), else read back; the session when read."""
        revision = self.manager.saved_revision(key)
        if revision is not None:
            self.note_revision(key, revision)
            return None
        session = await self.manager.session(key)
        if session is not None:
            self.note(session)
        return session

    async def _poll_pages(self) -> None:
        while self._pages:
            await asyncio.sleep(self.page_poll_interval)
            try:
                await self._refresh_pages()
            except asyncio.CancelledError:
                raise
            except Exception:  # a busy database must not end the pages' updates
                _LOGGER.exception("could not read the revisions of open web sessions")
            finished, self._page_pass = self._page_pass, None
            if finished is not None:
                finished.set()

    async def page_poll(self) -> None:
        """Wait until the page poller has read the sessions' revisions once more from start to
        end: tests prove that nothing came from another process without sleeping a poll."""
        if self._page_pass is None:
            self._page_pass = asyncio.Event()
        await self._page_pass.wait()

    async def _refresh_pages(self) -> None:
        keys = [key for key in self._pages if key in self._known]
        if not keys:
            return
        revisions = await self.manager.store.revisions(keys)
        for key, revision in revisions.items():
            await self._changed(key, revision)

    async def _changed(self, key: str, revision: int) -> None:
        """``key`` is stored at ``revision`` (read by the poller, or heard from Redis): its
        pages are shown the latest turn unless this process wrote it or they saw it."""
        if key not in self._known or key in self._writing:
            return
        if revision <= self._known.get(key, revision):
            return
        session = await self.manager.session(key)
        if session is None or key not in self._pages or key in self._writing:
            return
        if session.revision <= self._known.get(key, -1):
            return
        self._known[key] = session.revision
        replies = await self.manager.last_replies(key)
        _LOGGER.info("session %s moved on elsewhere (revision %d)", key, session.revision)
        await self.broadcast(key, self.summarize(session))
        if session.state == SessionState.ENDED and not _said_goodbye(replies):
            # Ended in silence (the next person took the kiosk): what was last said
            # belongs to before, so only the end is shown.
            await self._tell_ended(key)
            return
        await self.publish(key, replies)

    def open_keys(self) -> frozenset[str]:
        """Sessions a page shows or a screen watches now: the clean-up never removes them."""
        return frozenset(self._pages) | frozenset(self._watchers)

    def pages(self, key: str) -> int:
        """How many pages show ``key`` (for tests and metrics)."""
        return len(self._pages.get(key, ()))

    async def publish(self, key: str, replies: list[Reply]) -> None:
        """Show replies on every page of the session, spoken once for all of them.

        The text goes out at once; the audio follows when it is ready (synthesis can take
        seconds, and nobody should wait for it to read what is already known).
        """
        pages = list(self._pages.get(key, ()))
        if not pages or not replies:
            return
        for page in pages:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await page.send_replies(replies, spoken=None)
        spoken = await self.speaker(key, replies) if self.speaker is not None else None
        if spoken:
            message = speech_message(spoken)
            for page in pages:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await page.send_json(message)
        if _said_goodbye(replies):
            await self._tell_ended(key)

    async def _tell_ended(self, key: str) -> None:
        """Every page of ``key`` hears that the session ended and its code no longer works."""
        for page in list(self._pages.get(key, ())):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await page.notice("session_ended")

    async def broadcast(self, key: str, message: dict[str, Any]) -> None:
        """A non-reply message (the session's settings) to every page of the session."""
        for page in list(self._pages.get(key, ())):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await page.send_json(message)

    async def on_unsolicited(self, key: str, replies: list[Reply]) -> None:
        """The dialog manager's listener for the web channel (delivery, failures)."""
        with self.writing(key):
            await self.publish(key, replies)
            # Progress is not stored (no new revision to note): no read per progress message,
            # which a burst of deliveries would pay for on the one database thread.
            momentary = all(reply.kind == ReplyKind.PROGRESS for reply in replies)
            if key in self._pages and not momentary:
                await self.note_stored(key)

    # -- kiosk screens ----------------------------------------------------------------------

    def watch(self, seat: str, screen: Subscriber) -> None:
        """Mirror the current session of ``seat`` on ``screen``: its summary and its latest
        replies, on every change, and each new person's session as they sit down."""
        self._watchers.setdefault(seat, set()).add(screen)
        if seat not in self._pollers:
            self._pollers[seat] = asyncio.create_task(self._poll(seat))
        else:
            self._seen.pop(seat, None)  # the new screen needs the current state at once

    def unwatch(self, key: str, screen: Subscriber) -> None:
        screens = self._watchers.get(key)
        if screens is None:
            return
        screens.discard(screen)
        if not screens:
            del self._watchers[key]
            self._seen.pop(key, None)
            self._watched.pop(key, None)
            task = self._pollers.pop(key, None)
            if task is not None:
                task.cancel()

    async def _poll(self, key: str) -> None:
        while key in self._watchers:
            try:
                await self._refresh(key)
            except asyncio.CancelledError:
                raise
            except Exception:  # a busy database must not end the screen
                _LOGGER.exception("kiosk screen could not read session %s", key)
            await asyncio.sleep(self.poll_interval)

    async def _refresh(self, seat: str) -> None:
        # A seat no kiosk has taken yet shows the session of its own name (a kiosk from
        # before seats existed).
        key = await self.manager.store.seat_session(seat) or seat
        if self._watched.get(seat) != key:
            self._watched[seat] = key
            self._seen.pop(seat, None)
        session = await self.manager.session(key)
        revision = session.revision if session is not None else -1
        if self._seen.get(seat) == revision:
            return
        self._seen[seat] = revision
        summary = self.summarize(session) if session is not None else None
        replies = await self.manager.last_replies(key) if session is not None else []
        for screen in list(self._watchers.get(seat, ())):
            with contextlib.suppress(ConnectionError, RuntimeError):
                if summary is not None:
                    await screen.send_json(summary)
                await screen.send_replies(replies, spoken=None)

    async def close(self) -> None:
        """Stop every poller (the server is shutting down)."""
        if self.changes is not None:
            self.changes.unlisten(self._changed)
            self.changes.unlisten_resync(self._refresh_pages)
        if self._page_poller is not None:
            self._page_poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._page_poller
            self._page_poller = None
        for task in self._pollers.values():
            task.cancel()
        for task in list(self._pollers.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pollers.clear()
        self._watchers.clear()
        self._watched.clear()


def speech_message(spoken: bytes) -> dict[str, Any]:
    """The websocket message carrying replies read aloud (one WAV)."""
    return {"type": "speech", "format": "wav", "audio": base64.b64encode(spoken).decode("ascii")}


def _said_goodbye(replies: list[Reply]) -> bool:
    """Whether these replies ended their session (the user said "finish" or cancelled)."""
    return bool(replies) and replies[-1].state == SessionState.ENDED
