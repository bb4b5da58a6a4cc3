"""The Telegram ledger's port: what the bot has taken in and what it still owes the user.

Telegram redelivers an update until a later ``getUpdates`` confirms it, and forgets a message
the moment a ``sendMessage`` fails. So an update is written down before polling confirms it,
and a turn's messages are written down, together with the update being marked done, before
any of them is sent. After a crash the bot first sends what is still pending and handles the
updates that are not done; nothing the user said or was told is lost.

The store implements this port (``assistant/store/ledger.py`` for SQLite); the channel only
sees the protocol, so another store (PostgreSQL) can keep the ledger too. Several processes
may share one store: every method is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class OwedMessage:
    """One message owed to a chat: the Bot API method and what it needs, as plain JSON.

    Files are named, not carried (a zip by its path, a QR code by its link, a voice note by
    its text), so a pending message costs a row, not megabytes.
    """

    chat_id: int
    method: str
    params: dict[str, Any]
    id: int = 0


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    """An update taken in but not finished when the bot stopped."""

    update_id: int
    chat_id: int
    payload: str
    revision: int | None


class TelegramLedgerStore(Protocol):
    """Durable inbox and outbox of the Telegram channel."""

    async def take(self, update_id: int, chat_id: int, payload: str) -> bool:
        """Write an update down; False when it was written before (a redelivery)."""
        ...

    async def begin(self, update_id: int, revision: int) -> None:
        """Handling starts: remember the session's revision, to tell later whether it ran."""
        ...

    async def finish(
        self, update_id: int | None, messages: Sequence[OwedMessage]
    ) -> list[OwedMessage]:
        """Record ``messages`` and mark the update done, in one transaction; ids filled in."""
        ...

    async def unfinished(self) -> list[PendingUpdate]:
        """Updates taken in but not done, oldest first."""
        ...

    async def sent(self, row: int, message_id: int | None) -> None:
        """Telegram confirmed the message: it is never sent again."""
        ...

    async def given_up(self, row: int, reason: str) -> None:
        """The message will not be sent; the reason stays for staff."""
        ...

    async def unsent(self) -> list[OwedMessage]:
        """Messages recorded but not confirmed sent, in the order they were recorded."""
        ...

    async def progress_message(self, chat_id: int) -> int | None:
        """The id of the newest progress message sent to a chat (edits refer to it)."""
        ...

    async def recent_chats(self, since: float) -> list[int]:
        """Chats that sent an update after ``since`` (a ``time.time()``)."""
        ...

    async def mentions(self, chat_id: int, needle: str) -> bool:
        """Whether any message recorded for the chat contains ``needle`` (a link's token)."""
        ...

    async def given_up_messages(self) -> list[dict[str, Any]]:
        """Messages the bot gave up on, with the reason (for staff and tests)."""
        ...

    async def last_message_ids(self) -> dict[int, int]:
        """The newest message id the bot knows in each chat (sent by it or by the user)."""
        ...
