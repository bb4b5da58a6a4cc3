"""After a crash: send what was recorded but never confirmed, deliveries nobody listened for,
then handle the updates that were taken in but not finished.

A redelivered update is not a second turn: the session revision noted when handling began
tells whether the turn was applied before the crash (then only its replies are shown again).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import TYPE_CHECKING

from aiogram.types import Update

from assistant.events import ReplyKind, SessionState
from channels.telegram.replies import show
from channels.telegram.sender import Batch

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramChannel

_LOGGER = logging.getLogger(__name__)

RECOVERY_WAIT = 60.0  # at most this long sending what a crash left, before polling again
RECENT_CHATS = 24 * 3600.0  # chats active this recently are checked for missed deliveries


async def recover(channel: TelegramChannel, listening_since: float) -> None:
    """Send what was recorded but not confirmed, deliveries nobody was listening for,
    then handle unfinished updates."""
    owed = await channel.sender.resend_unsent()
    await missed_deliveries(channel, listening_since)
    unfinished = await channel.ledger.unfinished()
    if unfinished:
        _LOGGER.warning("telegram: handling %d update(s) left unfinished", len(unfinished))
    for pending in unfinished:
        update = Update.model_validate_json(pending.payload, context={"bot": channel.bot})
        handler = channel.handler_for(update, time.perf_counter())
        if handler is None:
            await channel.ledger.finish(pending.update_id, [])
            continue
        channel.workers.enqueue(
            pending.chat_id,
            functools.partial(
                channel.run_update,
                pending.update_id,
                pending.chat_id,
                handler,
                replayed_after=pending.revision,
            ),
        )
    if owed:
        await asyncio.wait(owed, timeout=RECOVERY_WAIT)


async def missed_deliveries(channel: TelegramChannel, listening_since: float) -> None:
    """Deliveries stored while no bot listened (a crash, or generation that was resumed
    and finished before start-up got this far): the chat gets them now, once."""
    for chat_id in await channel.ledger.recent_chats(listening_since - RECENT_CHATS):
        key = await channel.key(chat_id)
        session = await channel.manager.session(key)
        if (
            session is None
            or session.state != SessionState.DELIVERED
            or session.artifact_id is None
            or session.updated >= listening_since  # the listener has it
        ):
            continue
        artifact = await channel.store.artifact(session.artifact_id)
        if artifact is None or await channel.ledger.mentions(chat_id, artifact.token):
            continue
        replies = await channel.manager.last_replies(key)
        if replies and replies[0].kind == ReplyKind.DELIVERY:
            _LOGGER.warning("telegram: chat %s gets a delivery it missed", chat_id)
            out = Batch()
            await show(channel, chat_id, replies, None, out)
            await channel.sender.commit(None, out)
