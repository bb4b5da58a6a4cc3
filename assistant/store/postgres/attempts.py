"""Attempts per address (wrong codes, new sessions, failed staff sign-ins) in PostgreSQL.

One row per attempt, so two instances recording at once both count: nothing is read and
written back. Counting reads the index on (kind, address, at); the clean-up ages rows out.
"""

from __future__ import annotations

from assistant.store.postgres.database import Connection


async def record(conn: Connection, kind: str, address: str, code: str, at: float) -> None:
    """One attempt of ``kind`` from ``address`` (``code`` is what was tried, if anything)."""
    await conn.execute(
        "INSERT INTO attempts (kind, address, code, at) VALUES (%s, %s, %s, %s)",
        (kind, address, code, at),
    )


async def count(conn: Connection, kind: str, address: str, since: float, *, distinct: bool) -> int:
    """Attempts since ``since``; with ``distinct``, different codes only (a retyped code is one)."""
    what = "count(DISTINCT code)" if distinct else "count(*)"
    cursor = await conn.execute(
        f"SELECT {what} FROM attempts WHERE kind = %s AND address = %s AND at >= %s",
        (kind, address, since),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0
