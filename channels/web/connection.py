"""One websocket: a page showing one session, or a kiosk screen mirroring one.

Every message is checked by ``protocol.parse`` first; a bad one is answered with a sentence in
the session's language and changes nothing. Turns go to the dialog manager exactly as typed
or recognised text from any other channel does; the replies are published to every page of
the session. A burst of messages is refused past a small budget, so one page cannot hog the
event loop that every other user shares; a client that goes on sending past it (text or
binary) is answered each time and, after ``FLOOD`` refusals in a row, closed with the reason
in the session's language, which the page shows. Audio while listening is paced instead
(``pacing.py``): real time plus a small burst, the excess dropped with one sentence per streak
and counted against the same budget; recognition goes through the channel's bounded pool.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from assistant.dialog.conflict import SESSION_CONFLICT, conflict_reply, is_session_conflict
from assistant.errors import InputError, StoreError
from assistant.events import Reply, Turn
from assistant.limits import CodeVerdict
from assistant.session import Session
from channels.web.hub import WEB_CHANNEL, speech_message
from channels.web.oversize import close_reason
from channels.web.pacing import AudioPacing
from channels.web.protocol import (
    CODE_PATTERN,
    AudioEnd,
    AudioStart,
    CommandMessage,
    Hello,
    Ping,
    PreferencesMessage,
    ProtocolError,
    Resume,
    Say,
    parse,
)
from channels.web.voice_input import TAIL_SECONDS, VoiceInput

if TYPE_CHECKING:
    from channels.web.channel import WebChannel

_LOGGER = logging.getLogger(__name__)

CHANNEL = WEB_CHANNEL
BURST = 30  # messages a page may send at once
REFILL = 10.0  # messages per second the budget grows back by
FLOOD = 100  # refused messages in a row before the socket is closed

__all__ = ["CHANNEL", "TAIL_SECONDS", "WebConnection", "new_key"]


def new_key() -> str:
    """A web session key: the browser keeps it, so it must be as unguessable as a link."""
    return "web:" + secrets.token_urlsafe(18)


class Budget:
    """A token bucket: ``BURST`` at once, then ``REFILL`` per second."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.tokens = float(BURST)
        self.at = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(float(BURST), self.tokens + (now - self.at) * REFILL)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class WebConnection(VoiceInput):
    """Serves one websocket until the page goes away."""

    def __init__(
        self, channel: WebChannel, socket: web.WebSocketResponse, remote: str = "", peer: str = ""
    ) -> None:
        self.channel = channel
        self.socket = socket
        self.remote = remote  # the address wrong continuation codes are counted against
        self.peer = peer  # the socket's own peer address (never a header): who may watch
        self.key: str | None = None
        self.watching: str | None = None
        self.language = channel.default_language
        self.listening = None
        self.budget = Budget()
        self.refused = 0  # refusals since the last message the budget let through
        self.stopped_listening = float("-inf")  # when the server last ended listening
        self.pacing = AudioPacing(channel.audio_addresses, remote, channel.audio_burst_s)
        self._send_lock = asyncio.Lock()

    # -- sending ----------------------------------------------------------------------------

    async def send_json(self, message: dict[str, Any]) -> None:
        if self.socket.closed:
            return
        async with self._send_lock:
            await self.socket.send_json(message)

    async def send_replies(self, replies: list[Reply], *, spoken: bytes | None) -> None:
        if replies:
            self.language = replies[-1].language
        await self.send_json({"type": "replies", "replies": [r.to_wire() for r in replies]})
        if spoken:
            audio = base64.b64encode(spoken).decode("ascii")
            await self.send_json({"type": "speech", "format": "wav", "audio": audio})

    async def error(self, key: str, **params: Any) -> None:
        """One sentence saying what was wrong with the last message; nothing else changes."""
        self.channel.manager.telemetry.error(key)
        message = self.channel.phrases.say(self.language, f"web.{key}", **params)
        await self.send_json({"type": "error", **InputError(message, code=key).to_wire()})

    async def notice(self, key: str, **params: Any) -> None:
        """A sentence that is not an error (no recogniser here, a watch-only screen)."""
        message = self.channel.phrases.say(self.language, f"web.{key}", **params)
        await self.send_json({"type": "notice", "code": key, "message": message})

    # -- the loop ---------------------------------------------------------------------------

    async def serve(self) -> None:
        """Read messages until the socket closes, then leave the session's page list."""
        try:
            async for message in self.socket:
                if message.type == WSMsgType.TEXT:
                    await self._overtaken_in_words(self._text(message.data))
                elif message.type == WSMsgType.BINARY:
                    await self._overtaken_in_words(self._audio(message.data))
                elif message.type == WSMsgType.ERROR:
                    _LOGGER.info("websocket closed with %s", self.socket.exception())
        finally:
            self._leave()
            self.pacing.close()

    async def _overtaken_in_words(self, handling: Awaitable[None]) -> None:
        """Handle one message; a turn another process overtook gets one sentence, and the
        socket stays open (the page follows the session to where the other process left it)."""
        try:
            await handling
        except StoreError as err:
            if not is_session_conflict(err) or self.key is None:
                raise
            _LOGGER.warning("%s: %s", self.key, err)
            reply = await conflict_reply(self.channel.manager, self.key, self.language)
            await self.send_json({"type": "error", "code": SESSION_CONFLICT, "message": reply.text})

    async def _within_budget(self) -> bool:
        """Take one message from the budget, or refuse it in words (closing on a flood)."""
        if self.budget.take():
            self.refused = 0
            return True
        self.refused += 1
        if self.refused < FLOOD:
            await self.error("busy")
            return False
        await self._close_flooded()
        return False

    async def _count_against_budget(self) -> None:
        """A refusal answered on its own terms (audio too fast): it takes from the budget like
        any message, and a client that goes on past it is closed with the reason."""
        if self.budget.take():
            self.refused = 0
            return
        self.refused += 1
        if self.refused >= FLOOD:
            await self._close_flooded()

    async def _close_flooded(self) -> None:
        """Too many refusals in a row: say so, and close with the reason the page shows."""
        self.channel.manager.telemetry.error("flooded")
        message = self.channel.phrases.say(self.language, "web.flooded")
        await self.send_json({"type": "error", **InputError(message, code="flooded").to_wire()})
        _LOGGER.info("closing a flooding websocket from %s", self.remote or "?")
        await self.socket.close(code=WSCloseCode.POLICY_VIOLATION, message=close_reason(message))

    def _leave(self) -> None:
        if self.key is not None:
            self.channel.hub.leave(self.key, self)
        if self.watching is not None:
            self.channel.hub.unwatch(self.watching, self)

    async def _text(self, frame: str) -> None:
        try:
            message, problem = parse(frame), None
        except ProtocolError as err:
            message, problem = None, err
        if isinstance(message, Ping):  # free: never counts as a burst
            await self.send_json({"type": "pong"})
            return
        if not await self._within_budget():
            return
        if problem is not None or message is None:
            assert problem is not None
            await self.error(problem.key, **problem.params)
            return
        if isinstance(message, Hello):
            await self._hello(message)
            return
        if self.watching is not None:
            await self.notice("watch_only")
            return
        if self.key is None:  # everything else needs a session: start one as hello would
            await self._hello(Hello())
            if self.key is None:  # refused, and told why
                return
        if isinstance(message, Say):
            await self._say(message)
        elif isinstance(message, CommandMessage):
            await self._command(message)
        elif isinstance(message, PreferencesMessage):
            await self._preferences(message)
        elif isinstance(message, Resume):
            await self._resume(message)
        elif isinstance(message, AudioStart):
            await self._audio_start(message)
        elif isinstance(message, AudioEnd):
            await self._audio_end(message)

    # -- sessions ---------------------------------------------------------------------------

    async def _hello(self, message: Hello) -> None:
        self._leave()
        self.key = self.watching = None
        language = message.language
        if language:
            self.language = language
        kiosk = message.kiosk
        if kiosk:
            if not self.channel.may_watch(self.peer, message.token):
                _LOGGER.warning("refused the kiosk screen to %s", self.peer or "?")
                await self.error("kiosk_screen_refused")
                return
            self.watching = f"kiosk:{kiosk}"
            self.channel.hub.watch(self.watching, self)
            # Whether a kiosk has taken this seat at all: the screen says so rather than
            # asking people to greet a kiosk that is not there.
            store = self.channel.manager.store
            seated = await store.seat_session(self.watching) is not None
            seated = seated or await self.channel.manager.session(self.watching) is not None
            await self.send_json(
                {"type": "watching", "session": self.watching, "kiosk_connected": seated}
            )
            return
        key = message.session
        code = message.code
        if key is None and code:
            session = await self._find(code)
            key = session.key if session is not None else None
        if await self._may_start(key):
            await self._open(key or new_key(), language)

    async def _may_start(self, key: str | None) -> bool:
        """A new stored session counts against the address's limit; an existing one is free."""
        if key is not None and await self.channel.manager.session(key) is not None:
            return True
        if await self.channel.session_limit.take(self.remote):
            return True
        await self.error("too_many_sessions")
        return False

    async def _find(self, code: str) -> Session | None:
        """The session a code names; wrong codes are counted against the address (limits.py)."""
        guard = self.channel.code_guard
        verdict = await guard.verdict(self.remote)
        if verdict is CodeVerdict.CLOSED:
            await self.error("code_wait")
            return None
        session = None
        if CODE_PATTERN.fullmatch(code):
            session = await self.channel.manager.store.find_by_code(code)
        if session is None:
            await guard.miss(self.remote, code[:16])
            slow = verdict is CodeVerdict.SLOW
            await self.error("code_wait" if slow else "no_code", code=code[:16])
        return session

    async def _open(self, key: str, language: str | None) -> None:
        self._leave()
        self.key = key
        self.channel.hub.join(key, self)
        with self.channel.hub.writing(key):
            replies = await self.channel.manager.resume(key, CHANNEL, language)
            session = await self.channel.manager.session(key)
            if session is not None:
                self.language = session.language
                self.channel.hub.note(session)
                await self.send_json(self.channel.summary(session))
        await self.send_replies(replies, spoken=None)  # the text at once, the audio after
        spoken = await self.channel.speak(key, replies)
        if spoken:
            await self.send_json(speech_message(spoken))

    async def _resume(self, message: Resume) -> None:
        session = await self._find(message.code)
        if session is not None:
            await self._open(session.key, None)

    # -- turns ------------------------------------------------------------------------------

    async def _turn(self, turn: Turn) -> None:
        assert self.key is not None
        with self.channel.hub.writing(self.key):
            await self._apply(turn)

    async def _apply(self, turn: Turn) -> None:
        assert self.key is not None
        replies = await self.channel.manager.handle(turn)
        language = self.language
        if replies:
            self.language = replies[-1].language
        if any(reply.stop for reply in replies):  # "stop" silences every page at once
            await self.channel.hub.broadcast(self.key, {"type": "stop_speech"})
        await self.channel.hub.publish(self.key, replies)
        # Shown already: the change poller need not show it.
        session = await self.channel.hub.note_stored(self.key)
        if self.language != language:  # the page's own labels follow the session's language
            session = session or await self.channel.manager.session(self.key)
            if session is not None:
                await self.channel.hub.broadcast(self.key, self.channel.summary(session))

    async def _say(self, message: Say) -> None:
        assert self.key is not None
        await self._turn(Turn(session_key=self.key, text=message.text, channel=CHANNEL))

    async def _command(self, message: CommandMessage) -> None:
        assert self.key is not None
        turn = Turn(session_key=self.key, text="", channel=CHANNEL, command=message.command)
        await self._turn(turn)

    async def _preferences(self, message: PreferencesMessage) -> None:
        assert self.key is not None
        with self.channel.hub.writing(self.key):
            session = await self.channel.manager.update_preferences(
                self.key, CHANNEL, message.values
            )
            self.channel.hub.note(session)
        if self.listening is not None and "silence" in message.values:
            self.listening.segmenter.silence_seconds = session.preferences["silence"]
        await self.channel.hub.broadcast(self.key, self.channel.summary(session))
