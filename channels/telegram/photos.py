"""Photos sent to the bot (issue 15, part U): the largest size, fetched and made safe.

Telegram lists a photo in several sizes, smallest first; the largest is the picture the
user took (already shrunk by Telegram to at most 2560 px). It is fetched through the Bot
API's file download (getFile, then the file route) and handed to ``assistant/photos.py``,
which re-encodes it without metadata; the dialog gets only its id, or why it was refused.
An image sent as a file (a document, to keep its quality) is taken the same way.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram.types import Message

from assistant.events import Turn
from assistant.photos import PhotoError
from channels.telegram.commands import CHANNEL
from channels.telegram.replies import take_turn
from channels.telegram.sender import Batch

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramChannel

_LOGGER = logging.getLogger(__name__)


def photo_file(message: Message) -> tuple[str, int | None] | None:
    """The file id and declared size of the picture in ``message``, if it has one."""
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return largest.file_id, largest.file_size
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        return document.file_id, document.file_size
    return None


async def on_photo(
    channel: TelegramChannel,
    message: Message,
    key: str,
    language: str,
    received: float,
    out: Batch,
) -> None:
    """A picture: refused by size before it is fetched, else fetched, checked and a turn."""
    found = photo_file(message)
    assert found is not None and channel.photos is not None
    file_id, declared = found
    store = channel.photos
    photo_id = problem = None
    if declared is not None and declared > store.max_bytes:
        problem = "too_big"
    else:
        try:
            data = await channel.bot.download(file_id)
            assert data is not None
            photo = await asyncio.to_thread(store.accept, data.read())
            photo_id = photo.id
        except PhotoError as err:
            _LOGGER.info("telegram: photo refused in chat %s: %s", message.chat.id, err.code)
            problem = err.code
        except (AssertionError, OSError) as err:
            _LOGGER.warning("telegram: photo not fetched in chat %s: %s", message.chat.id, err)
            problem = "damaged"
    turn = Turn(key, language=language, channel=CHANNEL, photo=photo_id, photo_problem=problem)
    await take_turn(channel, message.chat.id, turn, received, out)
