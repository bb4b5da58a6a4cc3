"""The one progress message per chat while an artifact is made: sent once, then edited.

A later stage ("writing", "checking") edits the same message; a ticker edits it every few
seconds with the time so far, so the chat shows it is alive; delivery (or leaving the
generating state) marks it done. The ticker's edits are not recorded in the ledger: after a
restart a stale count of seconds helps nobody.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.telegram.render import Outgoing
from channels.telegram.sender import Batch, DurableSender

PROGRESS_EVERY = 3.0  # seconds between edits of the progress message


@dataclass
class _Progress:
    active: bool = False  # a progress message was sent and is still being edited
    text: str = ""
    ticker: asyncio.Task[None] | None = None


class ProgressMessages:
    """Each chat's progress message and the ticker that keeps it fresh."""

    def __init__(
        self,
        sender: DurableSender,
        say: Callable[[str, str, str], str],
        language_of: Callable[[int], Awaitable[str]],
        every: float = PROGRESS_EVERY,
    ) -> None:
        self.sender = sender
        self.say = say  # (language, progress text, seconds) -> the edited message
        self.language_of = language_of
        self.every = every
        self._chats: dict[int, _Progress] = {}

    def start(self, chat_id: int, item: Outgoing, out: Batch) -> None:
        """A progress reply: a new message, or an edit of the one still shown."""
        chat = self._chats.setdefault(chat_id, _Progress())
        chat.text = item.text
        if chat.active:
            # A later stage ("writing", "checking"): the same message says what happens now.
            out.edit_progress(chat_id, item.text)
            return
        self._stop_ticker(chat)
        chat.active = True

        def sent(message: Any) -> None:
            if chat.active and message is not None and chat.ticker is None:
                chat.ticker = asyncio.create_task(self._tick(chat_id, chat, message.message_id))

        out.text(chat_id, item.text, hook=sent, progress=True)

    def finish(self, chat_id: int, done: str, out: Batch) -> None:
        """Generation is over: the message says ``done`` after what it said last."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return
        self._stop_ticker(chat)
        if not chat.active:
            return
        chat.active = False
        out.edit_progress(chat_id, f"{chat.text} {done}")

    def stop(self) -> None:
        """Stop every ticker (the channel closes)."""
        for chat in self._chats.values():
            self._stop_ticker(chat)

    async def _tick(self, chat_id: int, chat: _Progress, message_id: int) -> None:
        """Edit the one progress message while generation runs."""
        started = time.monotonic()
        while True:
            await asyncio.sleep(self.every)
            language = await self.language_of(chat_id)
            seconds = str(round(time.monotonic() - started))
            self.sender.send_now(chat_id, message_id, self.say(language, chat.text, seconds))

    @staticmethod
    def _stop_ticker(chat: _Progress) -> None:
        if chat.ticker is not None:
            chat.ticker.cancel()
            chat.ticker = None
