"""The Telegram ledger (``assistant/ledger.py``) in PostgreSQL, as ``store/ledger.py`` keeps it
in SQLite.

With several instances only one runs the bot (a lease), yet every method is still one
statement or one transaction: an update is taken once even if two bots overlapped for a
moment (``ON CONFLICT DO NOTHING``), and a turn's messages are recorded together with its
update marked done, or not at all. Times are the wall clock, as in SQLite.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from assistant.ledger import OwedMessage, PendingUpdate
from assistant.store.postgres.database import Database

REASON_LENGTH = 500  # a given-up message's reason is cut to this, for staff


class PostgresTelegramLedger:
    """Durable inbox and outbox of the Telegram channel, in the store's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- updates ----------------------------------------------------------------------------

    async def take(self, update_id: int, chat_id: int, payload: str) -> bool:
        """Write an update down; False when it was written before (a redelivery)."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                "INSERT INTO telegram_updates (update_id, chat_id, payload, status, received) "
                "VALUES (%s, %s, %s, 'new', %s) ON CONFLICT (update_id) DO NOTHING",
                (update_id, chat_id, payload, time.time()),
            )
        return cursor.rowcount == 1

    async def begin(self, update_id: int, revision: int) -> None:
        """Handling starts: remember the session's revision, to tell later whether it ran."""
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE telegram_updates SET status = 'handling', revision = %s "
                "WHERE update_id = %s AND status <> 'done'",
                (revision, update_id),
            )

    async def finish(
        self, update_id: int | None, messages: Sequence[OwedMessage]
    ) -> list[OwedMessage]:
        """Record ``messages`` and mark the update done, in one transaction; ids filled in."""
        now = time.time()
        stored = []
        async with self.db.transaction() as conn:
            for message in messages:
                cursor = await conn.execute(
                    "INSERT INTO telegram_messages (chat_id, update_id, method, params, status, "
                    "created) VALUES (%s, %s, %s, %s, 'pending', %s) RETURNING id",
                    (message.chat_id, update_id, message.method, Jsonb(message.params), now),
                )
                row = await cursor.fetchone()
                assert row is not None
                stored.append(OwedMessage(message.chat_id, message.method, message.params, row[0]))
            if update_id is not None:
                await conn.execute(
                    "UPDATE telegram_updates SET status = 'done', finished = %s "
                    "WHERE update_id = %s",
                    (now, update_id),
                )
        return stored

    async def unfinished(self) -> list[PendingUpdate]:
        """Updates taken in but not done, oldest first."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                "SELECT update_id, chat_id, payload, revision FROM telegram_updates "
                "WHERE status <> 'done' ORDER BY update_id"
            )
            rows = await cursor.fetchall()
        return [PendingUpdate(*row) for row in rows]

    # -- messages ---------------------------------------------------------------------------

    async def sent(self, row: int, message_id: int | None) -> None:
        """Telegram confirmed the message: it is never sent again."""
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE telegram_messages SET status = 'sent', sent = %s, message_id = %s "
                "WHERE id = %s",
                (time.time(), message_id, row),
            )

    async def given_up(self, row: int, reason: str) -> None:
        """The message will not be sent; the reason stays for staff."""
        async with self.db.connection() as conn:
            await conn.execute(
                "UPDATE telegram_messages SET status = 'given_up', sent = %s, reason = %s "
                "WHERE id = %s",
                (time.time(), reason[:REASON_LENGTH], row),
            )

    async def unsent(self) -> list[OwedMessage]:
        """Messages recorded but not confirmed sent, in the order they were recorded."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, chat_id, method, params FROM telegram_messages "
                "WHERE status = 'pending' ORDER BY id"
            )
            rows = await cursor.fetchall()
        return [OwedMessage(row[1], row[2], row[3], row[0]) for row in rows]

    async def progress_message(self, chat_id: int) -> int | None:
        """The id of the newest progress message sent to a chat (edits refer to it); a
        ``progress`` of true or 1, as SQLite's ``json_extract(...) = 1`` reads it."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                "SELECT message_id FROM telegram_messages WHERE chat_id = %s "
                "AND method = 'sendMessage' AND status = 'sent' "
                "AND params -> 'progress' IN ('true'::jsonb, '1'::jsonb) "
                "ORDER BY id DESC LIMIT 1",
                (chat_id,),
            )
            found = await cursor.fetchone()
        return found[0] if found else None

    async def recent_chats(self, since: float) -> list[int]:
        """Chats that sent an update after ``since`` (a time.time())."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                "SELECT DISTINCT chat_id FROM telegram_updates WHERE received >= %s", (since,)
            )
            rows = await cursor.fetchall()
        return [row[0] for row in rows]

    async def mentions(self, chat_id: int, needle: str) -> bool:
        """Whether any message recorded for the chat contains ``needle`` (a link's token)."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM telegram_messages WHERE chat_id = %s "
                "AND strpos(params::text, %s) > 0 LIMIT 1",
                (chat_id, needle),
            )
            return await cursor.fetchone() is not None

    async def given_up_messages(self) -> list[dict[str, Any]]:
        """Messages the bot gave up on, with the reason (for staff and tests); ``params`` is
        the JSON text, as SQLite gives it."""
        async with self.db.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(
                "SELECT id, chat_id, method, params, reason, created, sent "
                "FROM telegram_messages WHERE status = 'given_up' ORDER BY id"
            )
            rows = await cursor.fetchall()
        return [{**row, "params": json.dumps(row["params"], ensure_ascii=False)} for row in rows]

    async def last_message_ids(self) -> dict[int, int]:
        """The newest message id the bot knows in each chat (sent by it or by the user); read
        in one snapshot, so a message recorded meanwhile is in both reads or in neither."""
        known: dict[int, int] = {}
        async with self.db.transaction() as conn:
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor = await conn.execute(
                "SELECT chat_id, max(message_id) FROM telegram_messages "
                "WHERE message_id IS NOT NULL GROUP BY chat_id"
            )
            sent = await cursor.fetchall()
            cursor = await conn.execute(
                "SELECT DISTINCT ON (chat_id) chat_id, payload FROM telegram_updates "
                "ORDER BY chat_id, update_id DESC"
            )
            latest = await cursor.fetchall()
        for chat_id, message_id in sent:
            known[chat_id] = message_id
        for chat_id, payload in latest:
            message = json.loads(payload).get("message") or {}
            if isinstance(message.get("message_id"), int):
                known[chat_id] = max(known.get(chat_id, 0), message["message_id"])
        return known
