"""Sessions and their turn history in SQLite: blocking functions run on the store's thread.

A session row carries a ``revision``; a write names the revision it read, so two processes
changing one session cannot both win: the second gets a ``session_conflict`` error instead of
silently undoing the first.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import Any

import sqlite_utils

from assistant.errors import StoreError
from assistant.events import SessionState
from assistant.ports import TurnEffects
from assistant.session import Session, TurnRecord, new_code
from assistant.store import generations
from assistant.store.session_rows import SESSION_COLUMNS, session_from_row, session_row
from assistant.store.transaction import writing

_SELECT_SESSION = f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions"
_INSERT_SESSION = (
    f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in SESSION_COLUMNS)})"
)
_UPDATE_SESSION = (
    "UPDATE sessions SET "
    + ", ".join(f"{c} = ?" for c in SESSION_COLUMNS[1:])
    + " WHERE key = ? AND revision = ?"
)


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _session_row(session: Session) -> tuple[Any, ...]:
    return session_row(session, _encode)


def _session_from_row(row: tuple[Any, ...]) -> Session:
    return session_from_row(row, json.loads)


def load(db: sqlite_utils.Database, key: str) -> Session | None:
    """The stored session for ``key``."""
    row = db.conn.execute(f"{_SELECT_SESSION} WHERE key = ?", (key,)).fetchone()
    return _session_from_row(row) if row else None


def find_by_code(
    db: sqlite_utils.Database, code: str, used_since: float | None = None
) -> Session | None:
    """The session a continuation code belongs to (codes are case-insensitive).

    A code dies with its session: an ended session, or one not used since ``used_since``,
    is no session at all to whoever holds its code (the same answer as a wrong code).
    """
    row = db.conn.execute(
        f"{_SELECT_SESSION} WHERE code = ? AND state != ? AND (? IS NULL OR updated >= ?)",
        (code.strip().upper(), SessionState.ENDED.value, used_since, used_since),
    ).fetchone()
    return _session_from_row(row) if row else None


def commit_turn(
    db: sqlite_utils.Database, session: Session, record: TurnRecord, effects: TurnEffects
) -> Session:
    """Write the session, its history row and its effects in one transaction."""
    now = record.at
    saved = replace(session)
    saved.updated = now
    if not saved.created:
        saved.created = now
    try:
        with writing(db):
            conn = db.conn
            if effects.cancel_generation is not None:
                generations.cancel(conn, effects.cancel_generation, now)
            if effects.enqueue is not None:
                saved.generation_id = generations.enqueue(conn, effects.enqueue, now)
            previous = saved.revision
            saved.revision = previous + 1
            if previous == 0:
                _insert_session(conn, saved)
            else:
                cursor = _update_session(conn, saved, previous)
                if cursor.rowcount != 1:
                    raise StoreError(
                        f"session {saved.key!r} was changed elsewhere; the turn was not saved",
                        code="session_conflict",
                    )
            # The question the turn answered and the one it asked are filled from its
            # replies by the ``turns_questions`` trigger (migration m017), for every writer.
            conn.execute(
                "INSERT INTO turns (session_key, at, channel, text, state_before, "
                "state_after, replies, confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.session_key, record.at, record.channel, record.text,
                    record.state_before, record.state_after,
                    json.dumps(record.replies, ensure_ascii=False), record.confidence,
                ),
            )  # fmt: skip
    except sqlite3.DatabaseError as err:
        raise StoreError(f"cannot save the turn of {session.key!r}: {err}") from err
    return saved


def _update_session(conn: sqlite3.Connection, session: Session, previous: int) -> sqlite3.Cursor:
    """The update; a code given anew (a session restarted after its end) that happens to be
    taken is drawn again, as on insert."""
    for _ in range(8):
        try:
            return conn.execute(
                _UPDATE_SESSION, (*_session_row(session)[1:], session.key, previous)
            )
        except sqlite3.IntegrityError as err:
            if "code" not in str(err):
                raise
            session.code = new_code()
    raise StoreError("could not find a free continuation code")


def _insert_session(conn: sqlite3.Connection, session: Session) -> None:
    for _ in range(8):
        try:
            conn.execute(_INSERT_SESSION, _session_row(session))
            return
        except sqlite3.IntegrityError as err:
            if "code" not in str(err):
                raise StoreError(
                    f"session {session.key!r} already exists; the turn was not saved",
                    code="session_conflict",
                ) from err
            session.code = new_code()
    raise StoreError("could not find a free continuation code")


def history(db: sqlite_utils.Database, key: str) -> list[dict[str, Any]]:
    """Every stored turn of a session, oldest first (for staff and tests)."""
    rows = db["turns"].rows_where("session_key = ?", [key], order_by="id")
    return [{**row, "replies": json.loads(row["replies"])} for row in rows]


def revisions(db: sqlite_utils.Database, keys: list[str]) -> dict[str, int]:
    """The stored revision of each of ``keys`` that exists, in one read (change polling)."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), 500):  # under SQLite's variable limit
        part = keys[start : start + 500]
        marks = ",".join("?" * len(part))
        rows = db.execute(
            f"SELECT key, revision FROM sessions WHERE key IN ({marks})", part
        ).fetchall()
        found.update({str(key): int(revision) for key, revision in rows})
    return found


def last_replies(db: sqlite_utils.Database, key: str) -> list[dict[str, Any]]:
    """The replies of the session's latest turn that said something, as stored."""
    row = db.execute(
        "SELECT replies FROM turns WHERE session_key = ? AND replies != '[]' "
        "ORDER BY id DESC LIMIT 1",
        [key],
    ).fetchone()
    return json.loads(row[0]) if row else []
