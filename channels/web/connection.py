"""One websocket: a page showing one session, or a kiosk screen mirroring one.

Every message is checked by ``protocol.parse`` first; a bad one is answered with a sentence in
the session's language and changes nothing. Turns go to the dialog manager exactly as typed
or recognised text from any other channel does; the replies are published to every page of
the session. A burst of messages is refused past a small budget, so one page cannot hog the
event loop that every other user shares; a client that goes on sending past it (text or
binary) is answered each time and, after ``FLOOD`` refusals in a row, closed with the reason
in the session's language, which the page shows.
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
from assistant.preferences import SpeechPreferences
from assistant.session import Session
from channels.web.listening import MAX_BINARY_FRAME, Listening
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

if TYPE_CHECKING:
    from channels.web.channel import WebChannel

_LOGGER = logging.getLogger(__name__)

CHANNEL = "web"
BURST = 30  # messages a page may send at once
REFILL = 10.0  # messages per second the budget grows back by
FLOOD = 100  # refused messages in a row before the socket is closed
CLOSE_REASON_BYTES = 123  # the most a websocket close frame may carry
# Audio the page sent before it heard that listening ended (one round trip of frames) is the
# tail of a stream the server itself stopped, not a mistake: it is not answered.
TAIL_SECONDS = 2.0


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


class WebConnection:
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
        self.listening: Listening | None = None
        self.budget = Budget()
        self.refused = 0  # refusals since the last message the budget let through
        self.stopped_listening = float("-inf")  # when the server last ended listening
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

    async def error(self, key: str, **params: str) -> None:
        """One sentence saying what was wrong with the last message; nothing else changes."""
        message = self.channel.phrases.say(self.language, f"web.{key}", **params)
        await self.send_json({"type": "error", **InputError(message, code=key).to_wire()})

    async def notice(self, key: str, **params: str) -> None:
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
        message = self.channel.phrases.say(self.language, "web.flooded")
        await self.send_json({"type": "error", **InputError(message, code="flooded").to_wire()})
        reason = message.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore").encode()
        _LOGGER.info("closing a flooding websocket from %s", self.remote or "?")
        await self.socket.close(code=WSCloseCode.POLICY_VIOLATION, message=reason)
        return False

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
            await self.send_json({"type": "watching", "session": self.watching})
            return
        key = message.session
        code = message.code
        if key is None and code:
            session = await self._find(code)
            key = session.key if session is not None else None
        await self._open(key or new_key(), language)

    async def _find(self, code: str) -> Session | None:
        misses = self.channel.code_misses
        if misses.blocked(self.remote):
            await self.error("code_wait")
            return None
        session = None
        if CODE_PATTERN.fullmatch(code):
            session = await self.channel.manager.store.find_by_code(code)
        if session is None:
            misses.miss(self.remote)
            await self.error("no_code", code=code[:16])
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
        spoken = await self.channel.speak(key, replies)
        await self.send_replies(replies, spoken=spoken)

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
        started = time.perf_counter()
        replies = await self.channel.manager.handle(turn)
        language = self.language
        if replies:
            self.language = replies[-1].language
        if any(reply.stop for reply in replies):  # "stop" silences every page at once
            await self.channel.hub.broadcast(self.key, {"type": "stop_speech"})
        await self.channel.hub.publish(self.key, replies)
        self.channel.turn_times.append(time.perf_counter() - started)
        session = await self.channel.manager.session(self.key)
        if session is None:
            return
        self.channel.hub.note(session)  # shown already: the change poller need not show it
        if self.language != language:  # the page's own labels follow the session's language
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

    # -- voice ------------------------------------------------------------------------------

    async def _audio_start(self, message: AudioStart) -> None:
        assert self.key is not None
        session = await self.channel.manager.session(self.key)
        language = session.language if session is not None else self.language
        if self.channel.recognizer_for(language) is None:
            self.listening = None
            await self.notice("no_recognizer")
            await self.send_json({"type": "listening", "active": False})
            return
        silence = SpeechPreferences.from_preferences(
            session.preferences if session else None
        ).silence
        self.listening = Listening(self.channel.new_vad(), message.mode, silence)
        await self.send_json({"type": "listening", "active": True})

    async def _audio_end(self, message: AudioEnd) -> None:
        listening, self.listening = self.listening, None
        if listening is None:
            return
        self.stopped_listening = self.channel.clock()
        await self.send_json({"type": "listening", "active": False})
        for utterance in listening.finish():
            await self._utterance(utterance)
        self.stopped_listening = self.channel.clock()

    async def _audio(self, data: bytes) -> None:
        if self.listening is None or self.key is None:
            # Stray audio counts against the budget like any message: each frame is answered,
            # and a page that streams on regardless is closed with the reason.
            tail = self.channel.clock() - self.stopped_listening < TAIL_SECONDS
            if await self._within_budget() and not tail:
                await self.error("binary_unexpected")
            return
        if len(data) > MAX_BINARY_FRAME:
            await self.error("too_large")
            return
        listening = self.listening
        for utterance in listening.feed(data):
            if listening.mode == "once":
                self.listening = None
                self.stopped_listening = self.channel.clock()
                await self.send_json({"type": "listening", "active": False})
            await self._utterance(utterance)
            if self.listening is None:  # the tail is counted from after recognition
                self.stopped_listening = self.channel.clock()
                break

    async def _utterance(self, pcm: bytes) -> None:
        assert self.key is not None
        heard = await self.channel.hear(self.key, pcm, self.language)
        if heard is None:
            await self.notice("no_recognizer")
            return
        if not heard.heard_something:
            return  # a cough or a door: nothing was said
        say = self.channel.phrases.say(heard.language, "web.heard", text=heard.text)
        confidence = heard.recognition.confidence
        await self.send_json(
            {"type": "heard", "text": heard.text, "confidence": confidence, "say": say}
        )
        await self._turn(heard.turn)
