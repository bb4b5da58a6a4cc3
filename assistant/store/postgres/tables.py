"""The store's tables by name, for ``count``: a fixed list, so a name from a caller is never
written into SQL unless it is one of them (and then quoted as an identifier)."""

from __future__ import annotations

from psycopg import sql

from assistant.errors import StoreError
from assistant.store.postgres.database import Connection

# Every table of the SQLite store's schema, under the same names: those a later migration of
# this store has not made yet are refused by the server ("does not exist"), not here.
TABLES = frozenset({
    "sessions", "turns", "generations", "artifacts", "channel_links", "seats",
    "attempts", "cleanup_runs", "telegram_updates", "telegram_messages",
    "audit_log", "staff_accounts", "job_versions", "sites", "site_versions", "artifact_sends",
})  # fmt: skip


async def count(conn: Connection, table: str) -> int:
    """Rows in one of the store's tables; any other name is a ``StoreError``."""
    if table not in TABLES:
        raise StoreError(f"the store has no table named {table!r}")
    cursor = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    row = await cursor.fetchone()
    return int(row[0]) if row else 0
