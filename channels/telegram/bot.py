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

The concerns live beside this module: ``intake`` (updates into turns), ``commands``,
``replies`` (rendering into a batch), ``progress``, ``recovery``; ``sender`` and ``outbox``
send, and the ledger is a port of the store (``assistant/ledger.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import BotCommand, CallbackQuery, Message, Update

from assistant.dialog.conflict import conflict_reply, is_session_conflict
from assistant.dialog.manager import DialogManager
from assistant.errors import StoreError
from assistant.events import LANGUAGES, Reply
from assistant.jobs.phrases import Phrases
from assistant.ledger import TelegramLedgerStore
from assistant.limits import CodeGuard, MemoryAttempts
from assistant.photos import PhotoStore
from assistant.ports import ChatStore, SpeechToText
from channels.telegram.commands import CHANNEL, COMMANDS
from channels.telegram.intake import ChatWorkers, encodable_update, on_callback, on_message
from channels.telegram.outbox import Outbox
from channels.telegram.progress import PROGRESS_EVERY, ProgressMessages
from channels.telegram.recovery import recover
from channels.telegram.replies import show
from channels.telegram.sender import Batch, DurableSender

_LOGGER = logging.getLogger(__name__)

MAX_DOCUMENT = 50 * 1024 * 1024  # what a bot may send

Handler = Callable[[Batch], Awaitable[None]]


class TelegramChannel:
    """The bot: polling or webhook, the flow with buttons, typed answers and voice notes."""

    def __init__(
        self,
        manager: DialogManager,
        phrases: Phrases,
        store: ChatStore,
        *,
        ledger: TelegramLedgerStore,
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
        code_guard: CodeGuard | None = None,
        photos: PhotoStore | None = None,
    ) -> None:
        self.manager = manager
        self.phrases = phrases
        self.store = store
        self.allowed_users = frozenset(allowed_users)
        self.default_language = default_language
        self.recognizer_for = recognizer_for
        self.synthesize = synthesize
        self.outbox = outbox or Outbox()
        self.max_document = max_document
        self.photos = photos  # where pictures sent to the bot are accepted (issue 15, part U)
        server = TelegramAPIServer.from_base(api_url) if api_url else PRODUCTION
        session = AiohttpSession(api=server, timeout=request_timeout)
        session.middleware(self._stamp_updates)
        self.bot = Bot(
            token=token,
            session=session,
            default=DefaultBotProperties(link_preview_is_disabled=True),
        )
        self.ledger = ledger
        self.sender = DurableSender(self.bot, self.ledger, self.outbox, synthesize)
        self.progress = ProgressMessages(
            self.sender, self._progress_text, self._chat_language, progress_every
        )
        self.workers = ChatWorkers()
        self.dispatcher = Dispatcher()
        router = Router(name="assistant")
        router.message()(self._on_message)
        router.callback_query()(self._on_callback)
        self.dispatcher.include_router(router)
        self.keys: dict[int, str] = {}
        self._polled_at: dict[int, float] = {}
        self._prepared = False
        self.turn_times: list[float] = []
        # Wrong /resume codes per chat: in the store when composed (compose.py).
        self.code_guard = code_guard or CodeGuard(MemoryAttempts())

    # -- life cycle -------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Finish what a crash left, and tell Telegram our commands."""
        if self._prepared:
            return
        self._prepared = True
        self.manager.add_listener(CHANNEL, self._on_unsolicited)
        await recover(self, time.time())
        for language in LANGUAGES:
            commands = [
                BotCommand(command=name, description=self.say(language, f"commands.{name}"))
                for name in COMMANDS
            ]
            with contextlib.suppress(Exception):  # a menu is nice to have, never required
                await self.bot.set_my_commands(commands, language_code=language)

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
        await self.workers.drain(each_seconds=10)
        self.progress.stop()
        self.workers.cancel()
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

    def say(self, language: str, key: str, **params: Any) -> str:
        """A sentence of the locale files' ``telegram`` section."""
        return self.phrases.say(language, f"telegram.{key}", **params)

    def _progress_text(self, language: str, text: str, seconds: str) -> str:
        return self.say(language, "progress", text=text, seconds=seconds)

    async def _chat_language(self, chat_id: int) -> str:
        return await self.language_of(await self.key(chat_id), self.default_language)

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
        update = encodable_update(update, self.bot)
        payload = update.model_dump_json(exclude_unset=True, exclude_none=True)
        if not await self.ledger.take(update.update_id, chat_id, payload):
            _LOGGER.info("telegram: update %s was taken before; skipped", update.update_id)
            return
        handler = self.handler_for(update, received)
        if handler is not None:
            self.workers.enqueue(
                chat_id, lambda: self.run_update(update.update_id, chat_id, handler)
            )

    def handler_for(self, update: Update, received: float) -> Handler | None:
        """What handles ``update`` into a batch, or None for an update that is not ours."""
        if update.message is not None:
            message = update.message
            return lambda out: on_message(self, message, received, out)
        if update.callback_query is not None and update.callback_query.message is not None:
            query = update.callback_query
            return lambda out: on_callback(self, query, received, out)
        return None

    async def run_update(
        self, update_id: int, chat_id: int, handler: Handler, replayed_after: int | None = None
    ) -> None:
        """One update, start to finish: its messages are recorded with the update done.

        ``replayed_after`` is the session revision noted when handling began before a crash:
        if the session has moved on since, the turn was applied and only its replies were
        lost, so they are shown again instead of applying the turn twice.
        """
        key = await self.key(chat_id)
        session = await self.manager.session(key)
        revision = session.revision if session is not None else 0
        out = Batch()
        if replayed_after is not None and revision != replayed_after:
            _LOGGER.warning("telegram: update %s was applied before a crash", update_id)
            await show(self, chat_id, await self.manager.last_replies(key), None, out)
        else:
            await self.ledger.begin(update_id, revision)
            try:
                await handler(out)
            except StoreError as err:
                if not is_session_conflict(err):
                    raise
                _LOGGER.warning("telegram: chat %s: %s", chat_id, err)
                reply = await conflict_reply(self.manager, key, self.default_language)
                out.text(chat_id, reply.text)
        await self.sender.commit(update_id, out)

    # -- sessions ---------------------------------------------------------------------------

    async def key(self, chat_id: int) -> str:
        """The session a chat talks to: its own, or the one it continued by code."""
        key = self.keys.get(chat_id)
        if key is None:
            key = await self.store.linked(f"{CHANNEL}:{chat_id}") or f"{CHANNEL}:{chat_id}"
            self.keys[chat_id] = key
        return key

    async def _chats_of(self, key: str) -> list[int]:
        chats = {int(key.split(":", 1)[1])} if key.startswith(f"{CHANNEL}:") else set()
        for address in await self.store.addresses(key, f"{CHANNEL}:"):
            with contextlib.suppress(ValueError):
                chats.add(int(address.split(":", 1)[1]))
        return [c for c in chats if await self.key(c) == key]

    async def language_of(self, key: str, fallback: str) -> str:
        """The session's language, or ``fallback`` before it exists."""
        session = await self.manager.session(key)
        return session.language if session is not None else fallback

    def allowed(self, user_id: int | None, chat_id: int, out: Batch) -> bool:
        """Whether the user may talk to the bot; if not, the chat is told so."""
        if self.allowed_users and user_id not in self.allowed_users:
            out.text(chat_id, self.say(self.default_language, "not_allowed"))
            return False
        return True

    # -- replies out ------------------------------------------------------------------------

    async def _on_unsolicited(self, key: str, replies: list[Reply]) -> None:
        for chat_id in await self._chats_of(key):
            out = Batch()
            await show(self, chat_id, replies, None, out)
            await self.sender.commit(None, out)
