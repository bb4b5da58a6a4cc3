"""The web chat channel: the page at ``/``, its websocket at ``/ws``, and the resume QR code.

The page is one jinja2 template with our own CSS and script; the strings of both languages
are embedded, so a language switch needs no reload. Speech is optional: without a recogniser
for the session's language, audio is answered with one sentence; without synthesis, replies
are only shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import segno
from aiohttp import web

from assistant.cluster.ports import WindowCounter
from assistant.dialog.manager import DialogManager
from assistant.events import LANGUAGES, Reply
from assistant.jobs.phrases import Phrases
from assistant.limits import CodeGuard, MemoryAttempts, SessionLimit
from assistant.photos import PhotoStore
from assistant.ports import SpeechToText, VoiceActivityDetector
from assistant.preferences import SETTINGS as SPEECH_SETTINGS
from assistant.preferences import SILENCE, SpeechPreferences
from assistant.server import request_language
from assistant.session import Session
from assistant.speech.audio import wav_bytes
from assistant.speech.recognition_pool import RecognitionPool
from assistant.speech.voice_turn import VoiceTurn, hear
from channels.web.connection import CHANNEL, WebConnection
from channels.web.hub import SessionHub
from channels.web.origins import OriginPolicy
from channels.web.oversize import SayingWebSocket
from channels.web.pacing import AddressAllowances
from channels.web.peer import is_loopback, peer_host
from channels.web.photo_upload import PhotoUpload
from channels.web.protocol import CODE_PATTERN, WATCH_PATTERN

_LOGGER = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
MAX_WEBSOCKET_MESSAGE = 4 * 1024 * 1024  # larger frames are read and refused with a sentence

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' data: blob:; connect-src 'self' {sockets}; frame-src 'self'; "
    "worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _page_strings(phrases: Phrases) -> dict[str, dict[str, str]]:
    """Every ``web.*`` phrase per language, for the page's script."""
    strings: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        table = phrases.table[language]
        strings[language] = {
            key.removeprefix("web."): str(value)
            for key, value in table.items()
            if key.startswith("web.") and isinstance(value, str)
        }
    return strings


class WebChannel:
    """Routes, the shared hub, and the speech the connections use."""

    def __init__(
        self,
        manager: DialogManager,
        phrases: Phrases,
        *,
        default_language: str = "ja",
        base_url: str = "http://127.0.0.1:8080",
        kiosk_id: str = "local",
        kiosk_screen_token: str = "",
        recognizer_for: Callable[[str], SpeechToText | None] | None = None,
        vad_factory: Callable[[], VoiceActivityDetector] | None = None,
        synthesize: Callable[[str, str, float], bytes] | None = None,
        poll_interval: float = 0.3,
        page_poll_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        code_guard: CodeGuard | None = None,
        session_limit: SessionLimit | None = None,
        audio_burst_s: float = 2.0,
        audio_address_streams: int = 2,
        max_utterance_s: float = 15.0,
        recognition: RecognitionPool | None = None,
        origins: OriginPolicy | None = None,
        photos: PhotoStore | None = None,
        shared_audio: WindowCounter | None = None,
    ) -> None:
        self.manager = manager
        self.phrases = phrases
        self.default_language = default_language
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self.origins = origins or OriginPolicy(self.base_url, "127.0.0.1")
        self.kiosk_screen_token = kiosk_screen_token
        self._recognizer_for = recognizer_for
        self._vad_factory = vad_factory
        self._synthesize = synthesize
        self.hub = SessionHub(manager, self.summary, self.speak, poll_interval, page_poll_interval)
        self.clock = clock  # for the audio tail after listening ends; tests move it by hand
        self.strings = _page_strings(phrases)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.connections = 0
        # Per address, in the store when composed (compose.py); in memory otherwise.
        attempts = MemoryAttempts()
        self.code_guard = code_guard or CodeGuard(attempts)
        self.session_limit = session_limit or SessionLimit(attempts)
        # Audio pacing and recognition (issue 12): what one client may take of the server.
        self.audio_burst_s = audio_burst_s
        self.max_utterance_s = max_utterance_s
        self.audio_addresses = AddressAllowances(
            audio_burst_s, float(audio_address_streams), shared=shared_audio
        )
        self.recognition = recognition or RecognitionPool()
        self._warming: asyncio.Task[None] | None = None
        # Issue 15, part U: pictures come over HTTP POST, guarded by a token per session.
        self.photo_upload = (
            PhotoUpload(manager, self.hub, photos, self.origins, CHANNEL) if photos else None
        )

    # -- wiring -----------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """The page, its socket, its static files and the resume QR code."""
        app.router.add_get("/", self.page)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/c/{code}.svg", self.resume_qr)
        if self.photo_upload is not None:
            app.router.add_post("/photo", self.photo_upload.handle)
        app.router.add_static("/static/web/", STATIC_DIR, append_version=True, name="web_static")
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._stop)

    async def _start(self, app: web.Application) -> None:
        self.manager.add_listener(CHANNEL, self.hub.on_unsolicited)

    async def _stop(self, app: web.Application) -> None:
        self.manager.remove_listener(CHANNEL)
        await self.hub.close()
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)
        self.recognition.close()

    # -- pages ------------------------------------------------------------------------------

    def _language(self, request: web.Request) -> str:
        return request_language(request, self.default_language)

    async def page(self, request: web.Request) -> web.Response:
        """The chat page; ``?kiosk=1`` (or a kiosk id) makes it the kiosk's screen."""
        language = self._language(request)
        kiosk = request.query.get("kiosk")
        if kiosk is not None:
            kiosk = self.kiosk_id if kiosk in ("", "1", "true") else kiosk
            if not WATCH_PATTERN.fullmatch(kiosk):
                raise web.HTTPBadRequest(text="kiosk must be letters, digits, - or _")
        code = request.query.get("code", "").strip().upper()
        config = {
            "language": language,
            "kiosk": kiosk,
            # The screen's token, given in its own address, goes back in its hello.
            "kiosk_token": request.query.get("token", "")[:256] if kiosk is not None else "",
            "code": code if CODE_PATTERN.fullmatch(code) else None,
            "strings": self.strings,
            "speech": {setting.key: setting.to_wire() for setting in SPEECH_SETTINGS},
        }
        template = self.templates.get_template("chat.html")
        body = template.render(
            lang=language,
            s=self.strings[language],
            kiosk=kiosk is not None,
            silence=SILENCE,
            static=lambda name: request.app.router["web_static"].url_for(filename=name),
            config=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
        )
        host = request.host
        policy = PAGE_POLICY.format(sockets=f"ws://{host} wss://{host}")
        headers = {
            "Content-Security-Policy": policy,
            "Cache-Control": "no-store",
        }
        return web.Response(text=body, content_type="text/html", charset="utf-8", headers=headers)

    async def resume_qr(self, request: web.Request) -> web.Response:
        """A QR code of the page with a session code, for a phone to continue the session."""
        code = request.match_info["code"].upper()
        if not CODE_PATTERN.fullmatch(code):
            raise web.HTTPNotFound()
        out = io.BytesIO()
        segno.make(f"{self.base_url}/?code={code}", error="m").save(
            out, kind="svg", scale=8, border=3, dark="#000000", light="#ffffff"
        )
        return web.Response(
            body=out.getvalue(),
            content_type="image/svg+xml",
            headers={"Cache-Control": "no-store"},
        )

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """One page's session, for as long as the page is open; only our own pages' sockets
        (see ``channels.web.origins``) are accepted, anything else gets 403 and a sentence."""
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        port = sockname[1] if isinstance(sockname, tuple) and len(sockname) > 1 else 0
        refusal = self.origins.refusal(
            origin=request.headers.get("Origin"), host=request.headers.get("Host"), port=port
        )
        if refusal is not None:
            _LOGGER.warning("web: refused a websocket from %s: %s", request.remote, refusal)
            text = self.phrases.say(self._language(request), "edge.forbidden_origin")
            return web.Response(status=403, text=text)
        socket = SayingWebSocket(heartbeat=30.0, max_msg_size=MAX_WEBSOCKET_MESSAGE)
        await socket.prepare(request)
        self.connections += 1
        self.manager.telemetry.connections(CHANNEL, 1)
        try:
            connection = WebConnection(self, socket, request.remote or "", peer_host(request))
            socket.too_large = lambda: self.phrases.say(connection.language, "web.frame_too_large")
            await connection.serve()
        finally:
            self.connections -= 1
            self.manager.telemetry.connections(CHANNEL, -1)
        return socket

    # -- what connections share -------------------------------------------------------------

    def may_watch(self, peer: str, token: str | None) -> bool:
        """Whether a socket may watch the kiosk screen (its question, code and QR code): the
        kiosk machine itself, or a screen given the configured token."""
        if is_loopback(peer):
            return True
        wanted = self.kiosk_screen_token
        return bool(wanted and token) and hmac.compare_digest(
            (token or "").encode(), wanted.encode()
        )

    def summary(self, session: Session) -> dict[str, Any]:
        """What a page shows besides replies: language, settings and the continuation code."""
        return {
            "type": "session",
            "language": session.language,
            "state": session.state.value,
            "code": session.code,
            "resume_url": f"{self.base_url}/?code={session.code}",
            "resume_qr": f"/c/{session.code}.svg",
            "preferences": dict(session.preferences),
            "key": session.key if session.key.startswith("web:") else None,
            # What the page sends with a picture (None: this server takes no uploads).
            "photo_token": self.photo_upload.token(session.key) if self.photo_upload else None,
        }

    def recognizer_for(self, language: str) -> SpeechToText | None:
        return self._recognizer_for(language) if self._recognizer_for is not None else None

    def prepare_recognition(self, language: str) -> None:
        """Start the recognition workers in the background when someone first turns on a
        microphone, so a server nobody speaks to runs none and the first speaker waits less."""
        if self._warming is None:
            self._warming = asyncio.create_task(self.recognition.start(language))

    def new_vad(self) -> VoiceActivityDetector:
        assert self._vad_factory is not None
        return self._vad_factory()

    async def hear(self, session_key: str, pcm: bytes, language: str) -> VoiceTurn | None:
        """One utterance as the voice turn every channel makes (None: no recogniser for the
        language the session expects)."""
        expectation = await self.manager.expectation(session_key, language)
        recognizer = self.recognizer_for(expectation.language)
        if recognizer is None:
            return None
        return await hear(
            recognizer,
            expectation,
            pcm,
            session_key=session_key,
            channel=CHANNEL,
            pool=self.recognition,
            telemetry=self.manager.telemetry,
        )

    async def speak(self, key: str, replies: list[Reply]) -> bytes | None:
        """Replies as one WAV when the session wants them read aloud (and a voice exists)."""
        text = " ".join(r.speech for r in replies if r.speech)
        if self._synthesize is None or not text:
            return None
        session = await self.manager.session(key)
        preferences = session.preferences if session is not None else {}
        if not preferences.get("voice"):
            return None
        language = replies[-1].language
        rate = SpeechPreferences.from_preferences(preferences).rate
        synthesize = self._synthesize
        with contextlib.suppress(Exception):
            pcm = await asyncio.to_thread(synthesize, text, language, rate)
            return wav_bytes(pcm)
        _LOGGER.warning("could not synthesise replies in %s", language)
        return None
