"""Messages owed to chats: recorded in the ledger first, then sent through the outbox.

A turn collects what it wants to send in a ``Batch``; ``DurableSender.commit`` writes the batch
and marks the update done in one transaction, and only then hands the messages to the outbox.
Each message is marked sent as soon as Telegram confirms it, before the chat's next one goes,
so a restart sends exactly the messages that were never confirmed (``resend_unsent``).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import segno
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from assistant.ledger import OwedMessage, TelegramLedgerStore
from channels.telegram.outbox import Outbox
from channels.telegram.render import Button
from channels.telegram.voice_notes import encode_voice

_LOGGER = logging.getLogger(__name__)

PROBE_SPAN = 3  # message ids above the newest known one that a lost reply may have taken
Hook = Callable[[Any], None]
Synthesize = Callable[[str, str, float], bytes]


def keyboard(buttons: Sequence[Sequence[str]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard, one large button per row, from ``[label, data]`` pairs."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data)] for label, data in buttons
        ]
    )


@dataclass
class Batch:
    """What one update (or one delivery) sends, collected before anything is recorded."""

    items: list[OwedMessage] = field(default_factory=list)
    hooks: dict[int, Hook] = field(default_factory=dict)

    def _add(self, chat_id: int, method: str, params: dict[str, Any], hook: Hook | None) -> None:
        if hook is not None:
            self.hooks[len(self.items)] = hook
        self.items.append(OwedMessage(chat_id, method, params))

    def text(
        self,
        chat_id: int,
        text: str,
        buttons: Sequence[Button] = (),
        hook: Hook | None = None,
        *,
        progress: bool = False,
    ) -> None:
        """A text message, with buttons when the question has choices.

        ``progress`` marks the chat's progress message, which later edits refer to.
        """
        params: dict[str, Any] = {"text": text}
        if buttons:
            params["buttons"] = [[b.label, b.data] for b in buttons]
        if progress:
            params["progress"] = True
        self._add(chat_id, "sendMessage", params, hook)

    def edit_progress(self, chat_id: int, text: str) -> None:
        """New text for the chat's progress message, whichever id it gets when it is sent."""
        self._add(chat_id, "editMessageText", {"text": text}, None)

    def document(self, chat_id: int, path: Path, filename: str, caption: str) -> None:
        """A file from the data folder, read when it is sent."""
        params = {"path": str(path), "filename": filename, "caption": caption}
        self._add(chat_id, "sendDocument", params, None)

    def qr_photo(self, chat_id: int, url: str, caption: str) -> None:
        """A QR code of ``url``, drawn when it is sent."""
        self._add(chat_id, "sendPhoto", {"qr": url, "caption": caption}, None)

    def voice(self, chat_id: int, text: str, language: str) -> None:
        """``text`` spoken as a voice note, synthesised when it is sent."""
        self._add(chat_id, "sendVoice", {"speech": text, "language": language}, None)

    @property
    def first_text(self) -> int | None:
        """Index of the first text message (what a turn's latency is measured to)."""
        return next((i for i, o in enumerate(self.items) if o.method == "sendMessage"), None)


class DurableSender:
    """Records batches in the ledger and sends them through the outbox."""

    def __init__(
        self,
        bot: Bot,
        ledger: TelegramLedgerStore,
        outbox: Outbox,
        synthesize: Synthesize | None = None,
    ) -> None:
        self.bot = bot
        self.ledger = ledger
        self.outbox = outbox
        self.synthesize = synthesize
        self.last_ids: dict[int, int] = {}
        self.progress_ids: dict[int, int] = {}

    def saw(self, chat_id: int, message_id: int | None) -> None:
        """Remember the newest message id in a chat (the user's or ours)."""
        if message_id is not None and message_id > self.last_ids.get(chat_id, 0):
            self.last_ids[chat_id] = message_id

    async def commit(self, update_id: int | None, batch: Batch) -> list[asyncio.Future[Any]]:
        """Record the batch (and the update as done), then queue it for sending."""
        stored = await self.ledger.finish(update_id, batch.items)
        return [self.dispatch(owed, batch.hooks.get(i)) for i, owed in enumerate(stored)]

    async def resend_unsent(self) -> list[asyncio.Future[Any]]:
        """Queue every message recorded but never confirmed, oldest first (after a crash)."""
        self.last_ids.update(await self.ledger.last_message_ids())
        unsent = await self.ledger.unsent()
        if unsent:
            _LOGGER.warning("telegram: sending %d message(s) left unsent", len(unsent))
        return [self.dispatch(owed) for owed in unsent]

    def dispatch(self, owed: OwedMessage, hook: Hook | None = None) -> asyncio.Future[Any]:
        """Hand one recorded message to the outbox."""

        async def done(result: Any, failure: str | None) -> None:
            if failure is not None:
                _LOGGER.error(
                    "telegram: gave up %s to chat %s (ledger row %d): %s",
                    owed.method, owed.chat_id, owed.id, failure,
                )  # fmt: skip
                await self.ledger.given_up(owed.id, failure)
                return
            message_id = getattr(result, "message_id", None)
            self.saw(owed.chat_id, message_id)
            if message_id is not None and owed.params.get("progress"):
                self.progress_ids[owed.chat_id] = message_id
            await self.ledger.sent(owed.id, message_id)
            if hook is not None:
                hook(result)

        probe = self._probe(owed) if owed.method == "sendMessage" else None
        return self.outbox.send(owed.chat_id, self._call(owed), probe=probe, done=done)

    def send_now(self, chat_id: int, message_id: int, text: str) -> None:
        """An edit nobody needs after a restart (the seconds ticking on progress)."""
        self.outbox.send(
            chat_id,
            lambda: self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id),
        )

    # -- building the calls -----------------------------------------------------------------

    def _call(self, owed: OwedMessage) -> Callable[[], Any]:
        chat_id, params, bot = owed.chat_id, owed.params, self.bot
        if owed.method == "sendMessage":
            markup = keyboard(params.get("buttons") or ())
            return lambda: bot.send_message(chat_id, params["text"], reply_markup=markup)
        if owed.method == "editMessageText":

            async def edit() -> Any:
                message_id = await self._progress_id(chat_id)
                if not message_id:
                    return None  # the message it would change was never sent
                return await bot.edit_message_text(
                    text=params["text"], chat_id=chat_id, message_id=message_id
                )

            return edit
        if owed.method == "sendDocument":

            async def document() -> Any:
                data = await asyncio.to_thread(Path(params["path"]).read_bytes)
                upload = BufferedInputFile(data, filename=params["filename"])
                return await bot.send_document(chat_id, upload, caption=params["caption"])

            return document
        if owed.method == "sendPhoto":

            async def photo() -> Any:
                png = await asyncio.to_thread(_qr_png, params["qr"])
                upload = BufferedInputFile(png, filename="qr.png")
                return await bot.send_photo(chat_id, upload, caption=params["caption"])

            return photo
        if owed.method == "sendVoice":
            return lambda: self._send_voice(chat_id, params["speech"], params["language"])
        raise ValueError(f"unknown Telegram method {owed.method!r}")

    async def _progress_id(self, chat_id: int) -> int | None:
        if chat_id not in self.progress_ids:  # after a restart: the ledger remembers
            self.progress_ids[chat_id] = await self.ledger.progress_message(chat_id) or 0
        return self.progress_ids[chat_id]

    async def _send_voice(self, chat_id: int, text: str, language: str) -> Any:
        if self.synthesize is None:
            return None
        pcm = await asyncio.to_thread(self.synthesize, text, language, 1.0)
        ogg = await asyncio.to_thread(encode_voice, pcm)
        seconds = max(1, round(len(pcm) / 32000))  # 16 kHz, 2 bytes a sample
        upload = BufferedInputFile(ogg, filename="reply.ogg")
        return await self.bot.send_voice(chat_id, upload, duration=seconds)

    def _probe(self, owed: OwedMessage) -> Callable[[], Any]:
        """Look for a text message that may have arrived although its reply was lost.

        Telegram cannot be asked for a chat's messages, but editing a message to exactly the
        text and buttons it already has fails with "message is not modified": that answer
        from one of the few ids after the newest one we know means the message is there. No
        other message of ours can have such an id (one message at a time per chat).
        """
        chat_id, text = owed.chat_id, owed.params["text"]
        markup = keyboard(owed.params.get("buttons") or ())

        async def probe() -> Any:
            newest = self.last_ids.get(chat_id, 0)
            if not newest:
                return None  # where to look is unknown: looking could change an old message
            for message_id in range(newest + 1, newest + 1 + PROBE_SPAN):
                try:
                    return await self.bot.edit_message_text(
                        text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                    )  # an edit that went through: that message now says it, so it is there
                except TelegramBadRequest as err:
                    if "not modified" in str(err):
                        return _Found(message_id)
            return None

        return probe


@dataclass(frozen=True, slots=True)
class _Found:
    """A message found by the probe: only its id is known."""

    message_id: int


def _qr_png(url: str) -> bytes:
    png = io.BytesIO()
    segno.make(url, error="m").save(png, kind="png", scale=8, border=3)
    return png.getvalue()
