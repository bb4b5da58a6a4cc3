"""Updates in: a worker per chat, and each message or button press made into a turn.

Chats run side by side while each chat's turns stay in order: an update is queued on its
chat's worker, and one bad update is logged without silencing the chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.types import CallbackQuery, Message, Update

from assistant.events import LANGUAGES, Turn
from assistant.safe_text import clean, has_surrogates
from assistant.speech.voice_turn import hear
from channels.telegram.commands import CHANNEL, MAX_TEXT, command
from channels.telegram.photos import on_photo, photo_file
from channels.telegram.render import parse_button, question_tag
from channels.telegram.replies import take_turn
from channels.telegram.sender import Batch
from channels.telegram.voice_notes import MAX_VOICE_SECONDS, VoiceNoteError, decode_voice

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramChannel

_LOGGER = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


def language_of_user(code: str | None, default: str) -> str:
    """The user's Telegram language when we speak it, else ``default``."""
    wanted = (code or "").lower()[:2]
    return wanted if wanted in LANGUAGES else default


def encodable_update(update: Update, bot: Bot) -> Update:
    """``update`` with every lone UTF-16 surrogate replaced, in its text, caption, names...

    Telegram's JSON may carry one (``"\\ud800"``); the update is written to the ledger as
    UTF-8 before it is handled, and that write (then the store) would fail on it, leaving the
    user with no answer. Nearly every update is clean and passes through untouched.
    """
    fields = update.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    dumped = json.dumps(fields, ensure_ascii=False)  # surrogates stay only inside strings
    if not has_surrogates(dumped):
        return update
    return Update.model_validate_json(clean(dumped), context={"bot": bot})


@dataclass
class _Worker:
    queue: asyncio.Queue[Job] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class ChatWorkers:
    """One queue and one worker task per chat."""

    def __init__(self) -> None:
        self._chats: dict[int, _Worker] = {}

    def enqueue(self, chat_id: int, job: Job) -> None:
        """Run ``job`` after the chat's earlier jobs."""
        chat = self._chats.setdefault(chat_id, _Worker())
        chat.queue.put_nowait(job)
        if chat.task is None or chat.task.done():
            chat.task = asyncio.create_task(self._work(chat_id, chat), name=f"tg-in-{chat_id}")

    async def _work(self, chat_id: int, chat: _Worker) -> None:
        while True:
            job = await chat.queue.get()
            try:
                await job()
            except Exception:  # one bad update must not silence the chat
                _LOGGER.exception("telegram: chat %s: could not handle an update", chat_id)
            finally:
                chat.queue.task_done()

    async def drain(self, each_seconds: float) -> None:
        """Wait (each chat at most ``each_seconds``) for what is queued."""
        for chat in self._chats.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(chat.queue.join(), timeout=each_seconds)

    def cancel(self) -> None:
        """Stop every worker."""
        for chat in self._chats.values():
            if chat.task is not None:
                chat.task.cancel()


async def on_message(
    channel: TelegramChannel, message: Message, received: float, out: Batch
) -> None:
    """A typed message, a /command or a voice note, as a turn."""
    chat_id = message.chat.id
    user = message.from_user
    if not channel.allowed(user.id if user else None, chat_id, out):
        return
    key = await channel.key(chat_id)
    language = language_of_user(user.language_code if user else None, channel.default_language)
    if message.voice is not None:
        await on_voice(channel, message, key, language, received, out)
        return
    if channel.photos is not None and photo_file(message) is not None:
        await on_photo(channel, message, key, language, received, out)
        return
    text = clean(message.text) if message.text is not None else None
    if text is None:
        spoken_in = await channel.language_of(key, language)
        out.text(chat_id, channel.say(spoken_in, "unsupported"))
        return
    if text.startswith("/"):
        await command(channel, chat_id, key, language, text, received, out)
        return
    turn = Turn(key, text=text[:MAX_TEXT], language=language, channel=CHANNEL)
    await take_turn(channel, chat_id, turn, received, out)


async def on_callback(
    channel: TelegramChannel, query: CallbackQuery, received: float, out: Batch
) -> None:
    """A button pressed under the current question, as the number the user could say."""
    assert query.message is not None
    chat_id = query.message.chat.id
    if not channel.allowed(query.from_user.id, chat_id, out):
        with contextlib.suppress(Exception):
            await query.answer()
        return
    key = await channel.key(chat_id)
    session = await channel.manager.session(key)
    pressed = parse_button(query.data)
    if pressed is None or session is None or pressed[0] != question_tag(session):
        language = session.language if session is not None else channel.default_language
        with contextlib.suppress(Exception):
            await query.answer(channel.say(language, "stale_button"))
        return
    with contextlib.suppress(Exception):  # only stops the button's spinner
        await query.answer()
    # "Make it" is number 0; every other button is the number the user could say.
    text = "yes" if pressed[1] == 0 else str(pressed[1])
    await take_turn(channel, chat_id, Turn(key, text=text, channel=CHANNEL), received, out)


async def on_voice(
    channel: TelegramChannel,
    message: Message,
    key: str,
    language: str,
    received: float,
    out: Batch,
) -> None:
    """A voice note: decoded, recognised with the question's phrases, then a turn."""
    chat_id = message.chat.id
    voice = message.voice
    assert voice is not None
    expectation = await channel.manager.expectation(key, language)
    spoken_in = expectation.language
    if voice.duration > MAX_VOICE_SECONDS:
        seconds = str(MAX_VOICE_SECONDS)
        out.text(chat_id, channel.say(spoken_in, "voice_too_long", seconds=seconds))
        return
    recognizer = channel.recognizer_for(spoken_in) if channel.recognizer_for else None
    if recognizer is None:
        out.text(chat_id, channel.say(spoken_in, "no_recognizer"))
        return
    try:
        data = await channel.bot.download(voice.file_id)
        assert data is not None
        pcm = await asyncio.to_thread(decode_voice, data.read())
    except (VoiceNoteError, AssertionError, OSError) as err:
        _LOGGER.warning("telegram: unreadable voice note in chat %s: %s", chat_id, err)
        out.text(chat_id, channel.say(spoken_in, "voice_unreadable"))
        return
    heard = await hear(
        recognizer,
        expectation,
        pcm,
        session_key=key,
        channel=CHANNEL,
        language=language,
        telemetry=channel.manager.telemetry,
    )
    if heard.heard_something:
        out.text(chat_id, channel.say(spoken_in, "heard", text=heard.text))
    turn = heard.turn
    await take_turn(channel, chat_id, turn, received, out)
