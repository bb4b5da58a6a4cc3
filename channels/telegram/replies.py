"""Replies out: the dialog's replies rendered into a chat's batch of messages.

Text and buttons come from ``render``; a progress reply becomes the chat's one progress
message; a delivery brings the zip (links only when it is too big for a bot) and a QR code of
the download link; with voice on, the spoken form follows as a voice note.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.events import Reply, SessionState, Turn
from channels.telegram.render import question_tag, render
from channels.telegram.sender import Batch

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramChannel


async def take_turn(
    channel: TelegramChannel, chat_id: int, turn: Turn, received: float, out: Batch
) -> None:
    """The dialog's answer to one turn, shown in the chat."""
    replies = await channel.manager.handle(turn)
    await show(channel, chat_id, replies, received, out)


async def show(
    channel: TelegramChannel,
    chat_id: int,
    replies: list[Reply],
    received: float | None,
    out: Batch,
) -> None:
    """Add ``replies`` to the batch; ``received`` (when a user's update) times the turn."""
    if not replies:
        return
    key = await channel.key(chat_id)
    session = await channel.manager.session(key)
    for item in render(replies, question_tag(session)):
        if item.kind == "progress":
            channel.progress.start(chat_id, item, out)
        elif item.kind == "delivery":
            language = session.language if session else "en"
            channel.progress.finish(chat_id, channel.say(language, "done"), out)
            out.text(chat_id, item.text)
            await send_artifact(channel, chat_id, key, out)
        else:
            out.text(chat_id, item.text, item.buttons)
    last = replies[-1]
    if last.state not in (SessionState.GENERATING, SessionState.DELIVERED):
        channel.progress.finish(chat_id, channel.say(last.language, "done"), out)
    first = out.first_text
    if received is not None and first is not None:
        also = out.hooks.get(first)

        def measured(message: Any) -> None:
            channel.turn_times.append(time.perf_counter() - received)
            if also is not None:
                also(message)

        out.hooks[first] = measured
    if session is not None and session.preferences.get("voice") and channel.synthesize:
        text = " ".join(r.speech for r in replies if r.speech)
        if text:
            out.voice(chat_id, text, replies[-1].language)


async def send_artifact(channel: TelegramChannel, chat_id: int, key: str, out: Batch) -> None:
    """The zip as a document (links only when it is too big) and the link as a QR code."""
    session = await channel.manager.session(key)
    if session is None or session.artifact_id is None:
        return
    artifact = await channel.store.artifact(session.artifact_id)
    if artifact is None:
        return
    language = session.language
    job = channel.manager.jobs.jobs.get(artifact.job_id)
    title = job.title.get(language) if job is not None else artifact.job_id
    zip_path = Path(artifact.zip_path)
    size = await asyncio.to_thread(_size, zip_path)
    if size is not None and size <= channel.max_document:
        name = f"{artifact.job_id}-v{artifact.version}.zip"
        caption = channel.say(language, "zip_caption", title=title)
        out.document(chat_id, zip_path, name, caption)
    elif size is not None:
        out.text(chat_id, channel.say(language, "zip_too_big"))
    links = channel.manager.writer.links(artifact, language)
    download = next((link.url for link in links if link.kind == "download"), None)
    if download is not None:
        out.qr_photo(chat_id, download, channel.say(language, "qr_caption"))


def _size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None
