"""The Telegram ledger (``assistant/ledger.py``) in the store's SQLite file.

Its tables are made by the store's migrations, and every read and write runs on the store's
own connection and thread: a second writer on the file would make the store's read-then-write
transactions fail with "database is locked".
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from assistant.ledger import OwedMessage, PendingUpdate

if TYPE_CHECKING:
    from assistant.store.sqlite import SQLiteStore

_T = TypeVar("_T")


class SQLiteTelegramLedger:
    """Durable inbox and outbox of the Telegram channel, in the store's database."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await self._store.run(fn)

    @property
    def conn(self) -> sqlite3.Connection:
        """The store's connection: only touched inside ``_run``, on the store's thread."""
        return self._store.db.conn

    # -- updates ----------------------------------------------------------------------------

    async def take(self, update_id: int, chat_id: int, payload: str) -> bool:
        """Write an update down; False when it was written before (a redelivery)."""

        def insert() -> bool:
            with self.conn:
                cursor = self.conn.execute(
                    "INSERT OR IGNORE INTO telegram_updates "
                    "(update_id, chat_id, payload, status, received) VALUES (?, ?, ?, 'new', ?)",
                    (update_id, chat_id, payload, time.time()),
                )
            return cursor.rowcount == 1

        return await self._run(insert)

    async def begin(self, update_id: int, revision: int) -> None:
        """Handling starts: remember the session's revision, to tell later whether it ran."""

        def update() -> None:
            with self.conn:
                self.conn.execute(
                    "UPDATE telegram_updates SET status = 'handling', revision = ? "
                    "WHERE update_id = ? AND status != 'done'",
                    (revision, update_id),
                )

        await self._run(update)

    async def finish(
        self, update_id: int | None, messages: Sequence[OwedMessage]
    ) -> list[OwedMessage]:
        """Record ``messages`` and mark the update done, in one transaction; ids filled in."""

        def write() -> list[OwedMessage]:
            now = time.time()
            stored = []
            with self.conn:
                for message in messages:
                    cursor = self.conn.execute(
                        "INSERT INTO telegram_messages (chat_id, update_id, method, params, "
                        "status, created) VALUES (?, ?, ?, ?, 'pending', ?)",
                        (
                            message.chat_id,
                            update_id,
                            message.method,
                            json.dumps(message.params, ensure_ascii=False),
                            now,
                        ),
                    )
                    assert cursor.lastrowid is not None
                    stored.append(
                        OwedMessage(
                            message.chat_id, message.method, message.params, cursor.lastrowid
                        )
                    )
                if update_id is not None:
                    self.conn.execute(
                        "UPDATE telegram_updates SET status = 'done', finished = ? "
                        "WHERE update_id = ?",
                        (now, update_id),
                    )
            return stored

        return await self._run(write)

    async def unfinished(self) -> list[PendingUpdate]:
        """Updates taken in but not done, oldest first."""

        def read() -> list[PendingUpdate]:
            rows = self.conn.execute(
                "SELECT update_id, chat_id, payload, revision FROM telegram_updates "
                "WHERE status != 'done' ORDER BY update_id"
            ).fetchall()
            return [PendingUpdate(*row) for row in rows]

        return await self._run(read)

    # -- messages ---------------------------------------------------------------------------

    async def sent(self, row: int, message_id: int | None) -> None:
        """Telegram confirmed the message: it is never sent again."""

        def update() -> None:
            with self.conn:
                self.conn.execute(
                    "UPDATE telegram_messages SET status = 'sent', sent = ?, message_id = ? "
                    "WHERE id = ?",
                    (time.time(), message_id, row),
                )

        await self._run(update)

    async def given_up(self, row: int, reason: str) -> None:
        """The message will not be sent; the reason stays for staff."""

        def update() -> None:
            with self.conn:
                self.conn.execute(
                    "UPDATE telegram_messages SET status = 'given_up', sent = ?, reason = ? "
                    "WHERE id = ?",
                    (time.time(), reason[:500], row),
                )

        await self._run(update)

    async def unsent(self) -> list[OwedMessage]:
        """Messages recorded but not confirmed sent, in the order they were recorded."""

        def read() -> list[OwedMessage]:
            rows = self.conn.execute(
                "SELECT id, chat_id, method, params FROM telegram_messages "
                "WHERE status = 'pending' ORDER BY id"
            ).fetchall()
            return [OwedMessage(row[1], row[2], json.loads(row[3]), row[0]) for row in rows]

        return await self._run(read)

    async def progress_message(self, chat_id: int) -> int | None:
        """The id of the newest progress message sent to a chat (edits refer to it)."""

        def read() -> int | None:
            found = self.conn.execute(
                "SELECT message_id FROM telegram_messages WHERE chat_id = ? "
                "AND method = 'sendMessage' AND status = 'sent' "
                "AND json_extract(params, '$.progress') = 1 ORDER BY id DESC LIMIT 1",
                (chat_id,),
            ).fetchone()
            return found[0] if found else None

        return await self._run(read)

    async def recent_chats(self, since: float) -> list[int]:
        """Chats that sent an update after ``since`` (a time.time())."""

        def read() -> list[int]:
            rows = self.conn.execute(
                "SELECT DISTINCT chat_id FROM telegram_updates WHERE received >= ?", (since,)
            ).fetchall()
            return [row[0] for row in rows]

        return await self._run(read)

    async def mentions(self, chat_id: int, needle: str) -> bool:
        """Whether any message recorded for the chat contains ``needle`` (a link's token)."""

        def read() -> bool:
            row = self.conn.execute(
                "SELECT 1 FROM telegram_messages WHERE chat_id = ? AND instr(params, ?) > 0 "
                "LIMIT 1",
                (chat_id, needle),
            ).fetchone()
            return row is not None

        return await self._run(read)

    async def given_up_messages(self) -> list[dict[str, Any]]:
        """Messages the bot gave up on, with the reason (for staff and tests)."""

        def read() -> list[dict[str, Any]]:
            cursor = self.conn.execute(
                "SELECT id, chat_id, method, params, reason, created, sent "
                "FROM telegram_messages WHERE status = 'given_up' ORDER BY id"
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return await self._run(read)

    async def last_message_ids(self) -> dict[int, int]:
        """The newest message id the bot knows in each chat (sent by it or by the user)."""

        def read() -> dict[int, int]:
            known: dict[int, int] = {}
            for chat_id, message_id in self.conn.execute(
                "SELECT chat_id, max(message_id) FROM telegram_messages "
                "WHERE message_id IS NOT NULL GROUP BY chat_id"
            ):
                known[chat_id] = message_id
            for chat_id, payload in self.conn.execute(
                "SELECT chat_id, payload FROM telegram_updates WHERE update_id IN "
                "(SELECT max(update_id) FROM telegram_updates GROUP BY chat_id)"
            ):
                message = json.loads(payload).get("message") or {}
                if isinstance(message.get("message_id"), int):
                    known[chat_id] = max(known.get(chat_id, 0), message["message_id"])
            return known

        return await self._run(read)
