"""Sessions in PostgreSQL, and the one transaction that stores a turn.

As in SQLite, a session row carries a ``revision`` and a write names the revision it read:
``UPDATE ... WHERE key = %s AND revision = %s`` waits for a concurrent writer's row lock and
then finds the revision moved, so of two instances changing one session the second gets a
``session_conflict`` instead of silently undoing the first. The turn's history row and its
queue effects (enqueue, cancel) commit in the same transaction, or none of them does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from assistant.errors import StoreError
from assistant.events import SessionState
from assistant.ports import TurnEffects
from assistant.session import Session, TurnRecord, new_code
from assistant.store.postgres import queue, turns
from assistant.store.postgres.database import Connection
from assistant.store.session_rows import SESSION_COLUMNS, session_from_row, session_row

_CODE_CONSTRAINT = "sessions_code_key"
_SELECT = f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions"
_INSERT = f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) VALUES ({', '.join('%s' for _ in SESSION_COLUMNS)})"
_UPDATE = (
    "UPDATE sessions SET "
    + ", ".join(f"{column} = %s" for column in SESSION_COLUMNS[1:])
    + " WHERE key = %s AND revision = %s"
)


def _row(session: Session) -> tuple[Any, ...]:
    return session_row(session, Jsonb)


def _from_row(row: tuple[Any, ...]) -> Session:
    return session_from_row(row, lambda value: value)  # psycopg reads jsonb as Python


async def load(conn: Connection, key: str) -> Session | None:
    """The stored session for ``key``."""
    cursor = await conn.execute(f"{_SELECT} WHERE key = %s", (key,))
    row = await cursor.fetchone()
    return _from_row(row) if row else None


async def find_by_code(conn: Connection, code: str, used_since: float | None) -> Session | None:
    """The session a live continuation code belongs to (codes are case-insensitive): an ended
    session, or one not used since ``used_since``, is no session to whoever holds its code."""
    cursor = await conn.execute(
        f"{_SELECT} WHERE code = %s AND state <> %s "
        "AND (%s::double precision IS NULL OR updated >= %s)",
        (code.strip().upper(), SessionState.ENDED.value, used_since, used_since),
    )
    row = await cursor.fetchone()
    return _from_row(row) if row else None


async def revisions(conn: Connection, keys: list[str]) -> dict[str, int]:
    """The stored revision of each of ``keys`` that exists, in one read."""
    cursor = await conn.execute(
        "SELECT key, revision FROM sessions WHERE key = ANY(%s)", (list(keys),)
    )
    return {str(key): int(revision) for key, revision in await cursor.fetchall()}


async def commit_turn(
    conn: Connection, session: Session, record: TurnRecord, effects: TurnEffects
) -> Session:
    """Write the session, its history row and its effects; the caller's transaction makes
    them one. Raises ``StoreError`` (``session_conflict``) when the session moved on."""
    now = record.at
    saved = replace(session)
    saved.updated = now
    if not saved.created:
        saved.created = now
    if effects.cancel_generation is not None:
        await queue.cancel(conn, effects.cancel_generation, now)
    if effects.enqueue is not None:
        saved.generation_id = await queue.enqueue(conn, effects.enqueue, now)
    previous = saved.revision
    saved.revision = previous + 1
    if previous == 0:
        await _insert(conn, saved)
    elif not await _update(conn, saved, previous):
        raise StoreError(
            f"session {saved.key!r} was changed elsewhere; the turn was not saved",
            code="session_conflict",
        )
    await turns.insert(conn, record)
    return saved


async def _insert(conn: Connection, session: Session) -> None:
    """The insert; a continuation code that happens to be taken is drawn again. Each try is a
    savepoint, so a clash undoes only that try, not the turn's transaction."""
    for _ in range(8):
        try:
            async with conn.transaction():
                await conn.execute(_INSERT, _row(session))
            return
        except psycopg.errors.UniqueViolation as err:
            if err.diag.constraint_name != _CODE_CONSTRAINT:
                raise StoreError(
                    f"session {session.key!r} already exists; the turn was not saved",
                    code="session_conflict",
                ) from err
            session.code = new_code()
    raise StoreError("could not find a free continuation code")


async def _update(conn: Connection, session: Session, previous: int) -> bool:
    """The update if the row still has revision ``previous``; a code given anew (a session
    restarted after its end) that happens to be taken is drawn again, as on insert."""
    for _ in range(8):
        try:
            async with conn.transaction():
                cursor = await conn.execute(_UPDATE, (*_row(session)[1:], session.key, previous))
            return cursor.rowcount == 1
        except psycopg.errors.UniqueViolation as err:
            if err.diag.constraint_name != _CODE_CONSTRAINT:
                raise
            session.code = new_code()
    raise StoreError("could not find a free continuation code")
