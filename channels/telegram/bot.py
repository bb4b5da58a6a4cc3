"""The Telegram bot: aiogram 3 updates in, dialog turns through the manager, messages out.

Updates are taken one at a time from aiogram (so none overtakes another), recorded in SQLite
(Telegram delivers at least once: a redelivered update after a restart is not a second turn)
and handed to a worker per chat, so chats run side by side while each chat's turns stay in
order. Everything sent goes through the ``Outbox`` (one message a second per chat, retries).

A chat talks to the session ``telegram:<chat id>``, or to the session it continued with
``/resume CODE`` (kiosk, web or console), which is remembered in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import segno
from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from assistant.dialog import DialogManager
from assistant.events import LANGUAGES, Reply, SessionState, Turn
from assistant.i18n import Phrases
from assistant.limits import MissCounter
from assistant.ports import SpeechToText
from assistant.session import CODE_ALPHABET, CODE_LENGTH
from assistant.speech.recognition import recognize
from assistant.store import SQLiteStore
from channels.telegram.outbox import Outbox
from channels.telegram.render import Button, Outgoing, parse_button, question_tag, render
from channels.telegram.voice_notes import (
    MAX_VOICE_SECONDS,
    VoiceNoteError,
    decode_voice,
    encode_voice,
)

_LOGGER = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_DOCUMENT = 50 * 1024 * 1024  # what a bot may send
PROGRESS_EVERY = 3.0  # seconds between edits of the progress message
COMMANDS = ("start", "help", "cancel", "lang", "resume", "voice")
MAX_TEXT = 2000


def _keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.data)] for b in buttons
        ]
    )


def _language(code: str | None, default: str) -> str:
    wanted = (code or "").lower()[:2]
    return wanted if wanted in LANGUAGES else default


@dataclass
class _Chat:
    queue: asyncio.Queue[Callable[[], Awaitable[None]]] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    progress_id: int | None = None
    progress_text: str = ""
    ticker: asyncio.Task[None] | None = None


class TelegramChannel:
    """The bot: polling or webhook, the flow with buttons, typed answers and voice notes."""

    def __init__(
        self,
        manager: DialogManager,
        phrases: Phrases,
        store: SQLiteStore,
        *,
        token: str,
        api_url: str = "",
        allowed_users: Sequence[int] = (),
        default_language: str = "ja",
        recognizer_for: Callable[[str], SpeechToText | None] | None = None,
        synthesize: Callable[[str, str, float], bytes] | None = None,
        outbox: Outbox | None = None,
        request_timeout: float = 30.0,
        progress_every: float = PROGRESS_EVERY,
    ) -> None:
        self.manager = manager
        self.phrases = phrases
        self.store = store
        self.allowed = frozenset(allowed_users)
        self.default_language = default_language
        self.recognizer_for = recognizer_for
        self.synthesize = synthesize
        self.outbox = outbox or Outbox()
        self.progress_every = progress_every
        server = TelegramAPIServer.from_base(api_url) if api_url else PRODUCTION
        session = AiohttpSession(api=server, timeout=request_timeout)
        self.bot = Bot(
            token=token,
            session=session,
            default=DefaultBotProperties(link_preview_is_disabled=True),
        )
        self.dispatcher = Dispatcher()
        router = Router(name="assistant")
        router.message()(self._on_message)
        router.callback_query()(self._on_callback)
        self.dispatcher.include_router(router)
        self._chats: dict[int, _Chat] = {}
        self._keys: dict[int, str] = {}
        self.turn_times: list[float] = []
        self.code_misses = MissCounter()

    # -- life cycle -------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Listen for deliveries and tell Telegram our commands (shown in the chat's menu)."""
        self.manager.add_listener(CHANNEL, self._on_unsolicited)
        for language in LANGUAGES:
            commands = [
                BotCommand(command=name, description=self._say(language, f"commands.{name}"))
                for name in COMMANDS
            ]
            with contextlib.suppress(Exception):  # a menu is nice to have, never required
                await self.bot.set_my_commands(
                    commands, language_code=language if language != "ja" else "ja"
                )

    async def run_polling(self, polling_timeout: int = 10) -> None:
        """Long polling until cancelled; the dialog state lives in the store, not here."""
        await self.prepare()
        try:
            await self.bot.delete_webhook(drop_pending_updates=False)
            await self.dispatcher.start_polling(
                self.bot,
                polling_timeout=polling_timeout,
                handle_as_tasks=False,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=["message", "callback_query"],
            )
        finally:
            await self.close()

    async def stop_polling(self) -> None:
        with contextlib.suppress(RuntimeError):  # not polling
            await self.dispatcher.stop_polling()

    async def close(self) -> None:
        """Finish what is queued, then let go of the session and the workers."""
        self.manager.remove_listener(CHANNEL)
        for chat in self._chats.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(chat.queue.join(), timeout=10)
            if chat.ticker is not None:
                chat.ticker.cancel()
            if chat.worker is not None:
                chat.worker.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.outbox.drain(), timeout=30)
        await self.outbox.close()
        await self.bot.session.close()

    async def feed(self, update: Update) -> None:
        """One update from a webhook (polling feeds the dispatcher itself)."""
        await self.dispatcher.feed_update(self.bot, update)

    # -- words ------------------------------------------------------------------------------

    def _say(self, language: str, key: str, **params: Any) -> str:
        return self.phrases.say(language, f"telegram.{key}", **params)

    # -- updates in -------------------------------------------------------------------------

    async def _admit(self, update_id: int | None, user_id: int | None, chat_id: int) -> bool:
        if update_id is not None and not await self.store.first_time(CHANNEL, update_id):
            _LOGGER.info("telegram: update %s was handled before; skipped", update_id)
            return False
        if self.allowed and user_id not in self.allowed:
            language = self.default_language
            self._send_text(chat_id, self._say(language, "not_allowed"))
            return False
        return True

    def _enqueue(self, chat_id: int, job: Callable[[], Awaitable[None]]) -> None:
        chat = self._chats.setdefault(chat_id, _Chat())
        chat.queue.put_nowait(job)
        if chat.worker is None or chat.worker.done():
            chat.worker = asyncio.create_task(self._work(chat_id, chat), name=f"tg-in-{chat_id}")

    async def _work(self, chat_id: int, chat: _Chat) -> None:
        while True:
            job = await chat.queue.get()
            try:
                await job()
            except Exception:  # one bad update must not silence the chat
                _LOGGER.exception("telegram: chat %s: could not handle an update", chat_id)
            finally:
                chat.queue.task_done()

    async def _on_message(self, message: Message, event_update: Update | None = None) -> None:
        user = message.from_user
        update_id = event_update.update_id if event_update is not None else None
        if not await self._admit(update_id, user.id if user else None, message.chat.id):
            return
        received = time.perf_counter()
        self._enqueue(message.chat.id, lambda: self._message(message, received))

    async def _on_callback(self, query: CallbackQuery, event_update: Update | None = None) -> None:
        update_id = event_update.update_id if event_update is not None else None
        message = query.message
        if message is None:
            return
        if not await self._admit(update_id, query.from_user.id, message.chat.id):
            with contextlib.suppress(Exception):
                await query.answer()
            return
        received = time.perf_counter()
        self._enqueue(message.chat.id, lambda: self._callback(query, received))

    # -- sessions ---------------------------------------------------------------------------

    async def _key(self, chat_id: int) -> str:
        key = self._keys.get(chat_id)
        if key is None:
            key = await self.store.linked(f"{CHANNEL}:{chat_id}") or f"{CHANNEL}:{chat_id}"
            self._keys[chat_id] = key
        return key

    async def _chats_of(self, key: str) -> list[int]:
        chats = {int(key.split(":", 1)[1])} if key.startswith(f"{CHANNEL}:") else set()
        for address in await self.store.addresses(key, f"{CHANNEL}:"):
            with contextlib.suppress(ValueError):
                chats.add(int(address.split(":", 1)[1]))
        return [c for c in chats if await self._key(c) == key]

    async def _language_of(self, key: str, fallback: str) -> str:
        session = await self.manager.session(key)
        return session.language if session is not None else fallback

    # -- handling ---------------------------------------------------------------------------

    async def _message(self, message: Message, received: float) -> None:
        chat_id = message.chat.id
        key = await self._key(chat_id)
        language = _language(
            message.from_user.language_code if message.from_user else None, self.default_language
        )
        if message.voice is not None:
            await self._voice(message, key, language, received)
            return
        text = message.text
        if text is None:
            self._send_text(
                chat_id, self._say(await self._language_of(key, language), "unsupported")
            )
            return
        if text.startswith("/"):
            await self._command(chat_id, key, language, text, received)
            return
        await self._turn(
            chat_id, Turn(key, text=text[:MAX_TEXT], language=language, channel=CHANNEL), received
        )

    async def _command(
        self, chat_id: int, key: str, language: str, text: str, received: float
    ) -> None:
        name, _, argument = text[1:].partition(" ")
        name = name.split("@", 1)[0].lower()
        argument = argument.strip()
        if name == "start":
            await self._show(chat_id, await self.manager.resume(key, CHANNEL, language), received)
        elif name == "resume":
            await self._resume(chat_id, key, language, argument, received)
        elif name == "voice":
            await self._toggle_voice(chat_id, key, language)
        elif name in ("help", "cancel"):
            turn = Turn(key, text="", language=language, channel=CHANNEL, data={"command": name})
            await self._turn(chat_id, turn, received)
        elif name == "lang":
            data = {"command": "switch_language"}
            if argument.lower() in LANGUAGES:
                data["argument"] = argument.lower()
            turn = Turn(key, text="", language=language, channel=CHANNEL, data=data)
            await self._turn(chat_id, turn, received)
        else:  # an unknown /word is treated as what it says ("/2" is a fine answer)
            turn = Turn(key, text=text[1:MAX_TEXT], language=language, channel=CHANNEL)
            await self._turn(chat_id, turn, received)

    async def _resume(
        self, chat_id: int, key: str, language: str, code: str, received: float
    ) -> None:
        code = code.upper()
        spoken_in = await self._language_of(key, language)
        valid = len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)
        if not code:
            self._send_text(chat_id, self._say(spoken_in, "resume_usage"))
            return
        if self.code_misses.blocked(str(chat_id)):
            self._send_text(chat_id, self._say(spoken_in, "code_wait"))
            return
        session = await self.store.find_by_code(code) if valid else None
        if session is None:
            self.code_misses.miss(str(chat_id))
            self._send_text(chat_id, self._say(spoken_in, "no_code", code=code[:12]))
            return
        await self.store.link(f"{CHANNEL}:{chat_id}", session.key)
        self._keys[chat_id] = session.key
        await self._show(chat_id, await self.manager.resume(session.key, CHANNEL), received)

    async def _toggle_voice(self, chat_id: int, key: str, language: str) -> None:
        session = await self.manager.session(key)
        on = not (session.preferences.get("voice") if session is not None else False)
        session = await self.manager.update_preferences(key, CHANNEL, {"voice": on}, language)
        self._send_text(chat_id, self._say(session.language, "voice_on" if on else "voice_off"))

    async def _callback(self, query: CallbackQuery, received: float) -> None:
        assert query.message is not None
        chat_id = query.message.chat.id
        key = await self._key(chat_id)
        session = await self.manager.session(key)
        pressed = parse_button(query.data)
        if pressed is None or session is None or pressed[0] != question_tag(session):
            language = session.language if session is not None else self.default_language
            with contextlib.suppress(Exception):
                await query.answer(self._say(language, "stale_button"))
            return
        with contextlib.suppress(Exception):  # only stops the button's spinner
            await query.answer()
        # "Make it" is number 0; every other button is the number the user could say.
        text = "yes" if pressed[1] == 0 else str(pressed[1])
        await self._turn(chat_id, Turn(key, text=text, channel=CHANNEL), received)

    async def _voice(self, message: Message, key: str, language: str, received: float) -> None:
        chat_id = message.chat.id
        voice = message.voice
        assert voice is not None
        expectation = await self.manager.expectation(key, language)
        spoken_in = expectation.language
        if voice.duration > MAX_VOICE_SECONDS:
            self._send_text(
                chat_id, self._say(spoken_in, "voice_too_long", seconds=str(MAX_VOICE_SECONDS))
            )
            return
        recognizer = self.recognizer_for(spoken_in) if self.recognizer_for else None
        if recognizer is None:
            self._send_text(chat_id, self._say(spoken_in, "no_recognizer"))
            return
        try:
            data = await self.bot.download(voice.file_id)
            assert data is not None
            pcm = await asyncio.to_thread(decode_voice, data.read())
        except (VoiceNoteError, AssertionError, OSError) as err:
            _LOGGER.warning("telegram: unreadable voice note in chat %s: %s", chat_id, err)
            self._send_text(chat_id, self._say(spoken_in, "voice_unreadable"))
            return
        result = await asyncio.to_thread(recognize, recognizer, spoken_in, expectation.phrases, pcm)
        _LOGGER.info("telegram heard %r (confidence %.2f)", result.text, result.confidence)
        if result.text.strip():
            self._send_text(chat_id, self._say(spoken_in, "heard", text=result.text))
        turn = Turn(
            key, text=result.text, channel=CHANNEL, confidence=result.confidence, language=language
        )
        await self._turn(chat_id, turn, received)

    async def _turn(self, chat_id: int, turn: Turn, received: float) -> None:
        replies = await self.manager.handle(turn)
        await self._show(chat_id, replies, received)

    # -- replies out ------------------------------------------------------------------------

    async def _on_unsolicited(self, key: str, replies: list[Reply]) -> None:
        for chat_id in await self._chats_of(key):
            await self._show(chat_id, replies, None)

    async def _show(self, chat_id: int, replies: list[Reply], received: float | None) -> None:
        if not replies:
            return
        key = await self._key(chat_id)
        session = await self.manager.session(key)
        chat = self._chats.setdefault(chat_id, _Chat())
        outgoing = render(replies, question_tag(session))
        first: asyncio.Future[Any] | None = None
        for item in outgoing:
            if item.kind == "progress":
                await self._start_progress(chat_id, chat, item)
                continue
            if item.kind == "delivery":
                self._finish_progress(chat_id, chat, session.language if session else "en")
                sent = self._send_text(chat_id, item.text)
                first = first or sent
                await self._send_artifact(chat_id, key)
                continue
            sent = self._send_text(chat_id, item.text, _keyboard(item.buttons))
            first = first or sent
        last = replies[-1]
        if last.state not in (SessionState.GENERATING, SessionState.DELIVERED):
            self._finish_progress(chat_id, chat, last.language)
        if received is not None and first is not None:
            first.add_done_callback(
                lambda _: self.turn_times.append(time.perf_counter() - received)
            )
        if session is not None and session.preferences.get("voice"):
            self._send_speech(chat_id, replies)

    def _send_text(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> asyncio.Future[Any]:
        return self.outbox.send(
            chat_id, lambda: self.bot.send_message(chat_id, text, reply_markup=markup)
        )

    async def _start_progress(self, chat_id: int, chat: _Chat, item: Outgoing) -> None:
        if chat.progress_id is not None and chat.ticker is not None:
            # A later stage ("writing", "checking"): the same message says what happens now.
            chat.progress_text = item.text
            message_id = chat.progress_id
            self.outbox.send(
                chat_id,
                lambda: self.bot.edit_message_text(
                    text=item.text, chat_id=chat_id, message_id=message_id
                ),
            )
            return
        self._stop_ticker(chat)
        sent = await self.outbox.send(chat_id, lambda: self.bot.send_message(chat_id, item.text))
        chat.progress_id = sent.message_id if sent is not None else None
        chat.progress_text = item.text
        if chat.progress_id is not None:
            chat.ticker = asyncio.create_task(self._tick(chat_id, chat))

    async def _tick(self, chat_id: int, chat: _Chat) -> None:
        """Edit the one progress message while generation runs, so the chat shows it is alive."""
        started = time.monotonic()
        message_id = chat.progress_id
        key = await self._key(chat_id)
        while True:
            await asyncio.sleep(self.progress_every)
            language = await self._language_of(key, self.default_language)
            seconds = str(round(time.monotonic() - started))
            text = self._say(language, "progress", text=chat.progress_text, seconds=seconds)
            await self.outbox.send(
                chat_id,
                lambda text=text: self.bot.edit_message_text(
                    text=text, chat_id=chat_id, message_id=message_id
                ),
            )

    @staticmethod
    def _stop_ticker(chat: _Chat) -> None:
        if chat.ticker is not None:
            chat.ticker.cancel()
            chat.ticker = None

    def _finish_progress(self, chat_id: int, chat: _Chat, language: str) -> None:
        self._stop_ticker(chat)
        message_id, chat.progress_id = chat.progress_id, None
        if message_id is None:
            return
        text = f"{chat.progress_text} {self._say(language, 'done')}"
        self.outbox.send(
            chat_id,
            lambda: self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id),
        )

    async def _send_artifact(self, chat_id: int, key: str) -> None:
        """The zip as a document and the download link as a QR code photo."""
        session = await self.manager.session(key)
        if session is None or session.artifact_id is None:
            return
        artifact = await self.store.artifact(session.artifact_id)
        if artifact is None:
            return
        language = session.language
        job = self.manager.jobs.jobs.get(artifact.job_id)
        title = job.title.get(language) if job is not None else artifact.job_id
        zip_path = Path(artifact.zip_path)
        size = await asyncio.to_thread(_size, zip_path)
        if size is not None and size <= MAX_DOCUMENT:
            data = await asyncio.to_thread(zip_path.read_bytes)
            name = f"{artifact.job_id}-v{artifact.version}.zip"
            caption = self._say(language, "zip_caption", title=title)
            self.outbox.send(
                chat_id,
                lambda: self.bot.send_document(
                    chat_id, BufferedInputFile(data, filename=name), caption=caption
                ),
            )
        elif size is not None:
            self._send_text(chat_id, self._say(language, "zip_too_big"))
        links = self.manager.writer.links(artifact, language)
        download = next((link.url for link in links if link.kind == "download"), None)
        if download is not None:
            png = io.BytesIO()
            segno.make(download, error="m").save(png, kind="png", scale=8, border=3)
            caption = self._say(language, "qr_caption")
            self.outbox.send(
                chat_id,
                lambda: self.bot.send_photo(
                    chat_id, BufferedInputFile(png.getvalue(), filename="qr.png"), caption=caption
                ),
            )

    def _send_speech(self, chat_id: int, replies: list[Reply]) -> None:
        text = " ".join(r.speech for r in replies if r.speech)
        if self.synthesize is None or not text:
            return
        language = replies[-1].language
        synthesize = self.synthesize

        async def speak() -> Any:
            pcm = await asyncio.to_thread(synthesize, text, language, 1.0)
            ogg = await asyncio.to_thread(encode_voice, pcm)
            return await self.bot.send_voice(chat_id, BufferedInputFile(ogg, filename="reply.ogg"))

        self.outbox.send(chat_id, speak)


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None
