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
from assistant.session import Session, TurnRecord, new_code, pending_from_json, pending_to_json
from assistant.store.postgres import queue, turns
from assistant.store.postgres.database import Connection

_CODE_CONSTRAINT = "sessions_code_key"
_COLUMNS = (
    "key", "code", "language", "channel", "state", "job_id", "idx", "answers", "edit_id",
    "paused", "preferences", "generation_id", "series", "version", "artifact_id", "pending",
    "ask_next", "look", "undo", "job_digest", "revision", "created", "updated",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM sessions"
_INSERT = (
    f"INSERT INTO sessions ({', '.join(_COLUMNS)}) VALUES ({', '.join('%s' for _ in _COLUMNS)})"
)
_UPDATE = (
    "UPDATE sessions SET "
    + ", ".join(f"{column} = %s" for column in _COLUMNS[1:])
    + " WHERE key = %s AND revision = %s"
)


def _json(value: Any) -> Jsonb | None:
    """An empty value is stored as NULL, as the SQLite store does."""
    return Jsonb(value) if value else None


def _row(session: Session) -> tuple[Any, ...]:
    return (
        session.key, session.code, session.language, session.channel, session.state.value,
        session.job_id, session.index, Jsonb(session.answers), session.edit_id, session.paused,
        Jsonb(session.preferences), session.generation_id, session.series, session.version,
        session.artifact_id, _json(pending_to_json(session.pending)), _json(session.ask_next),
        _json(session.look), _json(session.undo), session.job_digest, session.revision,
        session.created, session.updated,
    )  # fmt: skip


def _from_row(row: tuple[Any, ...]) -> Session:
    values = dict(zip(_COLUMNS, row, strict=True))
    return Session(
        key=values["key"], code=values["code"], language=values["language"],
        channel=values["channel"], state=SessionState(values["state"]), job_id=values["job_id"],
        index=values["idx"] or 0, answers=values["answers"] or {}, edit_id=values["edit_id"],
        paused=bool(values["paused"]), preferences=values["preferences"] or {},
        generation_id=values["generation_id"], series=values["series"],
        version=values["version"] or 0, artifact_id=values["artifact_id"],
        pending=pending_from_json(values["pending"]) if values["pending"] else None,
        ask_next=values["ask_next"] or [], look=values["look"] or {},
        undo=values["undo"] or [], job_digest=values["job_digest"],
        revision=values["revision"], created=values["created"] or 0.0,
        updated=values["updated"] or 0.0,
    )  # fmt: skip


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
