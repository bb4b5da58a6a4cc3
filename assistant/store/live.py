"""The live sessions' activity for the staff console, read in four queries whatever their
number: the sessions, their latest turns (a window function per session), their latest
build's status and their latest staff act in the audit log. Blocking; ``SQLiteStore`` runs it
on the store's thread."""

from __future__ import annotations

import json

import sqlite_utils

from assistant.staff.live import HELP_ACTS, SessionActivity
from assistant.store.audit import latest_acts
from assistant.store.rows import live_sessions

_CHUNK = 500  # under SQLite's variable limit


def activity(
    db: sqlite_utils.Database, since: float, limit: int, turns: int
) -> list[SessionActivity]:
    """Sessions not ended that were used since ``since``, newest first, at most ``limit``,
    each with its latest ``turns`` turns."""
    rows = db.conn.execute(
        "SELECT key, channel, language, state, job_id, paused, updated FROM sessions "
        "WHERE state != 'ended' AND updated >= ? ORDER BY updated DESC LIMIT ?",
        (since, limit),
    ).fetchall()
    keys = [row[0] for row in rows]
    recent: dict[str, list[dict[str, object]]] = {key: [] for key in keys}
    built: dict[str, str] = {}
    for start in range(0, len(keys), _CHUNK):
        part = keys[start : start + _CHUNK]
        marks = ",".join("?" * len(part))
        for key, at, text, state_after, replies in db.conn.execute(
            "SELECT session_key, at, text, state_after, replies FROM ("
            "  SELECT *, ROW_NUMBER() OVER (PARTITION BY session_key ORDER BY id DESC) AS n"
            f"  FROM turns WHERE session_key IN ({marks})"
            ") WHERE n <= ? ORDER BY session_key, id",
            (*part, turns),
        ):
            recent[key].append(
                {"at": at, "text": text, "state_after": state_after,
                 "replies": json.loads(replies or "[]")}
            )  # fmt: skip
        for key, status in db.conn.execute(
            "SELECT session_key, status FROM generations WHERE id IN ("
            f"  SELECT MAX(id) FROM generations WHERE session_key IN ({marks})"
            "  GROUP BY session_key)",
            part,
        ):
            built[key] = status
    acts = latest_acts(db, keys, HELP_ACTS)
    return live_sessions(rows, recent, built, acts)
