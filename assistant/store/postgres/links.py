"""Chat links (which session a chat continues after ``/resume CODE``) and seats (which session
is the current one at a kiosk or console) in PostgreSQL: one row per address or seat."""

from __future__ import annotations

from assistant.store.postgres.database import Connection


async def link(conn: Connection, address: str, session_key: str, now: float) -> None:
    """From now on ``address`` (a chat) talks to ``session_key``."""
    await conn.execute(
        "INSERT INTO channel_links (address, session_key, updated) VALUES (%s, %s, %s) "
        "ON CONFLICT (address) DO UPDATE SET session_key = EXCLUDED.session_key, "
        "updated = EXCLUDED.updated",
        (address, session_key, now),
    )


async def linked(conn: Connection, address: str) -> str | None:
    """The session a chat continues, if it continued another one."""
    cursor = await conn.execute(
        "SELECT session_key FROM channel_links WHERE address = %s", (address,)
    )
    row = await cursor.fetchone()
    return str(row[0]) if row else None


async def addresses(conn: Connection, session_key: str, prefix: str) -> list[str]:
    """The chats whose address starts with ``prefix`` that continue ``session_key`` (a plain
    prefix: ``starts_with``, so ``_`` and ``%`` in it are characters, not LIKE's wildcards)."""
    cursor = await conn.execute(
        "SELECT address FROM channel_links WHERE session_key = %s AND starts_with(address, %s)",
        (session_key, prefix),
    )
    return [str(row[0]) for row in await cursor.fetchall()]


async def seat_session(conn: Connection, seat: str) -> str | None:
    """The key of the seat's current session, if the seat was ever taken."""
    cursor = await conn.execute("SELECT session_key FROM seats WHERE seat = %s", (seat,))
    row = await cursor.fetchone()
    return str(row[0]) if row else None


async def take_seat(conn: Connection, seat: str, session_key: str, now: float) -> None:
    """From now on ``session_key`` is the seat's current session."""
    await conn.execute(
        "INSERT INTO seats (seat, session_key, updated) VALUES (%s, %s, %s) "
        "ON CONFLICT (seat) DO UPDATE SET session_key = EXCLUDED.session_key, "
        "updated = EXCLUDED.updated",
        (seat, session_key, now),
    )
