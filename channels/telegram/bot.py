"""The Telegram bot: aiogram 3 updates in, dialog turns through the manager, messages out.

Updates are taken one at a time from aiogram (so none overtakes another) and written to the
ledger before aiogram's next ``getUpdates`` confirms them to Telegram; a worker per chat then
handles them, so chats run side by side while each chat's turns stay in order. A turn's
messages are recorded in the ledger, together with the update being marked done, before any
is sent, and sent through the ``Outbox`` (one message a second per chat, retries). After a
crash, ``prepare`` first sends what was recorded but never confirmed, then handles updates
that were taken in but not finished; a redelivered update is not a second turn.

A chat talks to the session ``telegram:<chat id>``, or to the session it continued with
``/resume CODE`` (kiosk, web or console), which is remembered in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import BotCommand, CallbackQuery, Message, Update

from assistant.dialog.manager import DialogManager
from assistant.events import LANGUAGES, Reply, ReplyKind, SessionState, Turn
from assistant.jobs.phrases import Phrases
from assistant.ports import SpeechToText
from assistant.session import CODE_ALPHABET, CODE_LENGTH
from assistant.speech.voice_turn import hear
from assistant.store.limits import MissCounter
from assistant.store.sqlite import SQLiteStore
from channels.telegram.ledger import TelegramLedger
from channels.telegram.outbox import Outbox
from channels.telegram.render import Outgoing, parse_button, question_tag, render
from channels.telegram.sender import Batch, DurableSender
from channels.telegram.voice_notes import MAX_VOICE_SECONDS, VoiceNoteError, decode_voice

_LOGGER = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_DOCUMENT = 50 * 1024 * 1024  # what a bot may send
PROGRESS_EVERY = 3.0  # seconds between edits of the progress message
COMMANDS = ("start", "help", "cancel", "lang", "resume", "voice")
MAX_TEXT = 2000
RECOVERY_WAIT = 60.0  # at most this long sending what a crash left, before polling again
RECENT_CHATS = 24 * 3600.0  # chats active this recently are checked for missed deliveries

Handler = Callable[[Batch], Awaitable[None]]


def _language(code: str | None, default: str) -> str:
    wanted = (code or "").lower()[:2]
    return wanted if wanted in LANGUAGES else default


@dataclass
class _Chat:
    queue: asyncio.Queue[Callable[[], Awaitable[None]]] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    progress_active: bool = False  # a progress message was sent and is still being edited
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
        max_document: int = MAX_DOCUMENT,
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
        self.max_document = max_document
        server = TelegramAPIServer.from_base(api_url) if api_url else PRODUCTION
        session = AiohttpSession(api=server, timeout=request_timeout)
        session.middleware(self._stamp_updates)
        self.bot = Bot(
            token=token,
            session=session,
            default=DefaultBotProperties(link_preview_is_disabled=True),
        )
        self.ledger = TelegramLedger(store)
        self.sender = DurableSender(self.bot, self.ledger, self.outbox, synthesize)
        self.dispatcher = Dispatcher()
        router = Router(name="assistant")
        router.message()(self._on_message)
        router.callback_query()(self._on_callback)
        self.dispatcher.include_router(router)
        self._chats: dict[int, _Chat] = {}
        self._keys: dict[int, str] = {}
        self._polled_at: dict[int, float] = {}
        self._prepared = False
        self.turn_times: list[float] = []
        self.code_misses = MissCounter()

    # -- life cycle -------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Open the ledger, finish what a crash left, and tell Telegram our commands."""
        if self._prepared:
            return
        self._prepared = True
        await self.ledger.open()
        self.manager.add_listener(CHANNEL, self._on_unsolicited)
        listening_since = time.time()
        await self._recover(listening_since)
        for language in LANGUAGES:
            commands = [
                BotCommand(command=name, description=self._say(language, f"commands.{name}"))
                for name in COMMANDS
            ]
            with contextlib.suppress(Exception):  # a menu is nice to have, never required
                await self.bot.set_my_commands(commands, language_code=language)

    async def _recover(self, listening_since: float) -> None:
        """Send what was recorded but not confirmed, deliveries nobody was listening for,
        then handle unfinished updates."""
        owed = await self.sender.resend_unsent()
        await self._missed_deliveries(listening_since)
        unfinished = await self.ledger.unfinished()
        if unfinished:
            _LOGGER.warning("telegram: handling %d update(s) left unfinished", len(unfinished))
        for pending in unfinished:
            update = Update.model_validate_json(pending.payload, context={"bot": self.bot})
            handler = self._handler_for(update, time.perf_counter())
            if handler is None:
                await self.ledger.finish(pending.update_id, [])
                continue
            self._enqueue(
                pending.chat_id,
                lambda p=pending, h=handler: self._run_update(
                    p.update_id, p.chat_id, h, replayed_after=p.revision
                ),
            )
        if owed:
            await asyncio.wait(owed, timeout=RECOVERY_WAIT)

    async def _missed_deliveries(self, listening_since: float) -> None:
        """Deliveries stored while no bot listened (a crash, or generation that was resumed
        and finished before start-up got this far): the chat gets them now, once."""
        for chat_id in await self.ledger.recent_chats(listening_since - RECENT_CHATS):
            key = await self._key(chat_id)
            session = await self.manager.session(key)
            if (
                session is None
                or session.state != SessionState.DELIVERED
                or session.artifact_id is None
                or session.updated >= listening_since  # the listener has it
            ):
                continue
            artifact = await self.store.artifact(session.artifact_id)
            if artifact is None or await self.ledger.mentions(chat_id, artifact.token):
                continue
            replies = await self.manager.last_replies(key)
            if replies and replies[0].kind == ReplyKind.DELIVERY:
                _LOGGER.warning("telegram: chat %s gets a delivery it missed", chat_id)
                out = Batch()
                await self._show(chat_id, replies, None, out)
                await self.sender.commit(None, out)

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

    async def _stamp_updates(
        self, make_request: Callable[..., Awaitable[Any]], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        """Note when each update came back from getUpdates: a turn's latency starts there."""
        result = await make_request(bot, method)
        if isinstance(method, GetUpdates):
            now = time.perf_counter()
            for update in result:
                self._polled_at[update.update_id] = now
        return result

    # -- words ------------------------------------------------------------------------------

    def _say(self, language: str, key: str, **params: Any) -> str:
        return self.phrases.say(language, f"telegram.{key}", **params)

    # -- updates in -------------------------------------------------------------------------

    async def _on_message(self, message: Message, event_update: Update) -> None:
        self.sender.saw(message.chat.id, message.message_id)
        await self._take(event_update, message.chat.id)

    async def _on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        if query.message is None:  # a button on an inline-mode message: not ours to answer
            self._polled_at.pop(event_update.update_id, None)
            return
        await self._take(event_update, query.message.chat.id)

    async def _take(self, update: Update, chat_id: int) -> None:
        """Write the update down before it is confirmed to Telegram, then queue its turn."""
        received = self._polled_at.pop(update.update_id, None) or time.perf_counter()
        payload = update.model_dump_json(exclude_unset=True, exclude_none=True)
        if not await self.ledger.take(update.update_id, chat_id, payload):
            _LOGGER.info("telegram: update %s was taken before; skipped", update.update_id)
            return
        handler = self._handler_for(update, received)
        if handler is not None:
            self._enqueue(chat_id, lambda: self._run_update(update.update_id, chat_id, handler))

    def _handler_for(self, update: Update, received: float) -> Handler | None:
        if update.message is not None:
            message = update.message
            return lambda out: self._message(message, received, out)
        if update.callback_query is not None and update.callback_query.message is not None:
            query = update.callback_query
            return lambda out: self._callback(query, received, out)
        return None

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

    async def _run_update(
        self, update_id: int, chat_id: int, handler: Handler, replayed_after: int | None = None
    ) -> None:
        """One update, start to finish: its messages are recorded with the update done.

        ``replayed_after`` is the session revision noted when handling began before a crash:
        if the session has moved on since, the turn was applied and only its replies were
        lost, so they are shown again instead of applying the turn twice.
        """
        key = await self._key(chat_id)
        session = await self.manager.session(key)
        revision = session.revision if session is not None else 0
        out = Batch()
        if replayed_after is not None and revision != replayed_after:
            _LOGGER.warning("telegram: update %s was applied before a crash", update_id)
            await self._show(chat_id, await self.manager.last_replies(key), None, out)
        else:
            await self.ledger.begin(update_id, revision)
            await handler(out)
        await self.sender.commit(update_id, out)

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

    def _allowed(self, user_id: int | None, chat_id: int, out: Batch) -> bool:
        if self.allowed and user_id not in self.allowed:
            out.text(chat_id, self._say(self.default_language, "not_allowed"))
            return False
        return True

    # -- handling ---------------------------------------------------------------------------

    async def _message(self, message: Message, received: float, out: Batch) -> None:
        chat_id = message.chat.id
        user = message.from_user
        if not self._allowed(user.id if user else None, chat_id, out):
            return
        key = await self._key(chat_id)
        language = _language(user.language_code if user else None, self.default_language)
        if message.voice is not None:
            await self._voice(message, key, language, received, out)
            return
        text = message.text
        if text is None:
            spoken_in = await self._language_of(key, language)
            out.text(chat_id, self._say(spoken_in, "unsupported"))
            return
        if text.startswith("/"):
            await self._command(chat_id, key, language, text, received, out)
            return
        turn = Turn(key, text=text[:MAX_TEXT], language=language, channel=CHANNEL)
        await self._turn(chat_id, turn, received, out)

    async def _command(
        self, chat_id: int, key: str, language: str, text: str, received: float, out: Batch
    ) -> None:
        name, _, argument = text[1:].partition(" ")
        name = name.split("@", 1)[0].lower()
        argument = argument.strip()
        if name == "start":
            replies = await self.manager.resume(key, CHANNEL, language)
            await self._show(chat_id, replies, received, out)
        elif name == "resume":
            await self._resume(chat_id, key, language, argument, received, out)
        elif name == "voice":
            await self._toggle_voice(chat_id, key, language, out)
        elif name in ("help", "cancel"):
            turn = Turn(key, text="", language=language, channel=CHANNEL, data={"command": name})
            await self._turn(chat_id, turn, received, out)
        elif name == "lang":
            data = {"command": "switch_language"}
            if argument.lower() in LANGUAGES:
                data["argument"] = argument.lower()
            turn = Turn(key, text="", language=language, channel=CHANNEL, data=data)
            await self._turn(chat_id, turn, received, out)
        else:  # an unknown /word is treated as what it says ("/2" is a fine answer)
            turn = Turn(key, text=text[1:MAX_TEXT], language=language, channel=CHANNEL)
            await self._turn(chat_id, turn, received, out)

    async def _resume(
        self, chat_id: int, key: str, language: str, code: str, received: float, out: Batch
    ) -> None:
        code = code.upper()
        spoken_in = await self._language_of(key, language)
        valid = len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)
        if not code:
            out.text(chat_id, self._say(spoken_in, "resume_usage"))
            return
        if self.code_misses.blocked(str(chat_id)):
            out.text(chat_id, self._say(spoken_in, "code_wait"))
            return
        session = await self.store.find_by_code(code) if valid else None
        if session is None:
            self.code_misses.miss(str(chat_id))
            out.text(chat_id, self._say(spoken_in, "no_code", code=code[:12]))
            return
        await self.store.link(f"{CHANNEL}:{chat_id}", session.key)
        self._keys[chat_id] = session.key
        replies = await self.manager.resume(session.key, CHANNEL)
        await self._show(chat_id, replies, received, out)

    async def _toggle_voice(self, chat_id: int, key: str, language: str, out: Batch) -> None:
        session = await self.manager.session(key)
        on = not (session.preferences.get("voice") if session is not None else False)
        session = await self.manager.update_preferences(key, CHANNEL, {"voice": on}, language)
        out.text(chat_id, self._say(session.language, "voice_on" if on else "voice_off"))

    async def _callback(self, query: CallbackQuery, received: float, out: Batch) -> None:
        assert query.message is not None
        chat_id = query.message.chat.id
        if not self._allowed(query.from_user.id, chat_id, out):
            with contextlib.suppress(Exception):
                await query.answer()
            return
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
        await self._turn(chat_id, Turn(key, text=text, channel=CHANNEL), received, out)

    async def _voice(
        self, message: Message, key: str, language: str, received: float, out: Batch
    ) -> None:
        chat_id = message.chat.id
        voice = message.voice
        assert voice is not None
        expectation = await self.manager.expectation(key, language)
        spoken_in = expectation.language
        if voice.duration > MAX_VOICE_SECONDS:
            seconds = str(MAX_VOICE_SECONDS)
            out.text(chat_id, self._say(spoken_in, "voice_too_long", seconds=seconds))
            return
        recognizer = self.recognizer_for(spoken_in) if self.recognizer_for else None
        if recognizer is None:
            out.text(chat_id, self._say(spoken_in, "no_recognizer"))
            return
        try:
            data = await self.bot.download(voice.file_id)
            assert data is not None
            pcm = await asyncio.to_thread(decode_voice, data.read())
        except (VoiceNoteError, AssertionError, OSError) as err:
            _LOGGER.warning("telegram: unreadable voice note in chat %s: %s", chat_id, err)
            out.text(chat_id, self._say(spoken_in, "voice_unreadable"))
            return
        heard = await hear(
            recognizer, expectation, pcm, session_key=key, channel=CHANNEL, language=language
        )
        if heard.heard_something:
            out.text(chat_id, self._say(spoken_in, "heard", text=heard.text))
        await self._turn(chat_id, heard.turn, received, out)

    async def _turn(self, chat_id: int, turn: Turn, received: float, out: Batch) -> None:
        replies = await self.manager.handle(turn)
        await self._show(chat_id, replies, received, out)

    # -- replies out ------------------------------------------------------------------------

    async def _on_unsolicited(self, key: str, replies: list[Reply]) -> None:
        for chat_id in await self._chats_of(key):
            out = Batch()
            await self._show(chat_id, replies, None, out)
            await self.sender.commit(None, out)

    async def _show(
        self, chat_id: int, replies: list[Reply], received: float | None, out: Batch
    ) -> None:
        if not replies:
            return
        key = await self._key(chat_id)
        session = await self.manager.session(key)
        chat = self._chats.setdefault(chat_id, _Chat())
        for item in render(replies, question_tag(session)):
            if item.kind == "progress":
                self._start_progress(chat_id, chat, item, out)
            elif item.kind == "delivery":
                self._finish_progress(chat_id, chat, session.language if session else "en", out)
                out.text(chat_id, item.text)
                await self._send_artifact(chat_id, key, out)
            else:
                out.text(chat_id, item.text, item.buttons)
        last = replies[-1]
        if last.state not in (SessionState.GENERATING, SessionState.DELIVERED):
            self._finish_progress(chat_id, chat, last.language, out)
        first = out.first_text
        if received is not None and first is not None:
            also = out.hooks.get(first)

            def measured(message: Any) -> None:
                self.turn_times.append(time.perf_counter() - received)
                if also is not None:
                    also(message)

            out.hooks[first] = measured
        if session is not None and session.preferences.get("voice") and self.synthesize:
            text = " ".join(r.speech for r in replies if r.speech)
            if text:
                out.voice(chat_id, text, replies[-1].language)

    def _start_progress(self, chat_id: int, chat: _Chat, item: Outgoing, out: Batch) -> None:
        chat.progress_text = item.text
        if chat.progress_active:
            # A later stage ("writing", "checking"): the same message says what happens now.
            out.edit_progress(chat_id, item.text)
            return
        self._stop_ticker(chat)
        chat.progress_active = True

        def sent(message: Any) -> None:
            if chat.progress_active and message is not None and chat.ticker is None:
                chat.ticker = asyncio.create_task(self._tick(chat_id, chat, message.message_id))

        out.text(chat_id, item.text, hook=sent, progress=True)

    async def _tick(self, chat_id: int, chat: _Chat, message_id: int) -> None:
        """Edit the one progress message while generation runs, so the chat shows it is alive.

        These edits are not recorded: after a restart a stale count of seconds helps nobody.
        """
        started = time.monotonic()
        key = await self._key(chat_id)
        while True:
            await asyncio.sleep(self.progress_every)
            language = await self._language_of(key, self.default_language)
            seconds = str(round(time.monotonic() - started))
            text = self._say(language, "progress", text=chat.progress_text, seconds=seconds)
            self.sender.send_now(chat_id, message_id, text)

    @staticmethod
    def _stop_ticker(chat: _Chat) -> None:
        if chat.ticker is not None:
            chat.ticker.cancel()
            chat.ticker = None

    def _finish_progress(self, chat_id: int, chat: _Chat, language: str, out: Batch) -> None:
        self._stop_ticker(chat)
        if not chat.progress_active:
            return
        chat.progress_active = False
        out.edit_progress(chat_id, f"{chat.progress_text} {self._say(language, 'done')}")

    async def _send_artifact(self, chat_id: int, key: str, out: Batch) -> None:
        """The zip as a document (links only when it is too big) and the link as a QR code."""
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
        if size is not None and size <= self.max_document:
            name = f"{artifact.job_id}-v{artifact.version}.zip"
            caption = self._say(language, "zip_caption", title=title)
            out.document(chat_id, zip_path, name, caption)
        elif size is not None:
            out.text(chat_id, self._say(language, "zip_too_big"))
        links = self.manager.writer.links(artifact, language)
        download = next((link.url for link in links if link.kind == "download"), None)
        if download is not None:
            out.qr_photo(chat_id, download, self._say(language, "qr_caption"))


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None
