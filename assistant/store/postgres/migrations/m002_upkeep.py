"""Upkeep: attempts per address, the clean-up's runs and the Telegram ledger (SQLite's m006 and
m008), for ``attempts.py``, ``retention.py`` and ``ledger.py`` of this package.

Telegram's ids (updates, chats, messages) pass 2**31, hence ``bigint``. An update's payload
is ``text``, not ``jsonb``: it is handed back exactly as written for the bot to parse again,
and jsonb would refuse a ``\\u0000`` a user typed. A message's params are ``jsonb`` (the
progress message is found by a key of them).
"""

from __future__ import annotations

from assistant.store.postgres.database import Connection
from assistant.store.postgres.migrate import run_statements

STATEMENTS = (
    """CREATE TABLE attempts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL,
        address text NOT NULL,
        code text,
        at double precision NOT NULL
    )""",
    "CREATE INDEX attempts_kind_address_at ON attempts (kind, address, at)",
    "CREATE INDEX attempts_at ON attempts (at)",
    """CREATE TABLE cleanup_runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at double precision NOT NULL,
        dry_run boolean NOT NULL,
        removed jsonb NOT NULL
    )""",
    """CREATE TABLE telegram_updates (
        update_id bigint PRIMARY KEY,
        chat_id bigint NOT NULL,
        payload text NOT NULL,
        status text NOT NULL,
        revision integer,
        received double precision NOT NULL,
        finished double precision
    )""",
    "CREATE INDEX telegram_updates_status ON telegram_updates (status, update_id)",
    "CREATE INDEX telegram_updates_chat ON telegram_updates (chat_id, update_id)",
    """CREATE TABLE telegram_messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        chat_id bigint NOT NULL,
        update_id bigint,
        method text NOT NULL,
        params jsonb NOT NULL,
        status text NOT NULL,
        created double precision NOT NULL,
        sent double precision,
        message_id bigint,
        reason text
    )""",
    "CREATE INDEX telegram_messages_status ON telegram_messages (status, id)",
    "CREATE INDEX telegram_messages_chat ON telegram_messages (chat_id, id)",
)


async def apply(conn: Connection) -> None:
    """Create the upkeep tables."""
    await run_statements(conn, STATEMENTS)
