"""Attempts per address (wrong codes, new sessions): blocking functions, store's thread.

One row per attempt with its time; counting reads an index on (kind, address, at), and the
daily clean-up removes rows older than the longest window anyone counts over.
"""

from __future__ import annotations

import sqlite_utils

from assistant.store.transaction import writing


def record(db: sqlite_utils.Database, kind: str, address: str, code: str, at: float) -> None:
    """One attempt of ``kind`` from ``address`` (``code`` is what was tried, if anything)."""
    with writing(db):
        db.conn.execute(
            "INSERT INTO attempts (kind, address, code, at) VALUES (?, ?, ?, ?)",
            (kind, address, code, at),
        )


def count(
    db: sqlite_utils.Database, kind: str, address: str, since: float, *, distinct: bool
) -> int:
    """Attempts since ``since``; with ``distinct``, different codes only (a retyped code is one)."""
    what = "count(DISTINCT code)" if distinct else "count(*)"
    row = db.conn.execute(
        f"SELECT {what} FROM attempts WHERE kind = ? AND address = ? AND at >= ?",
        (kind, address, since),
    ).fetchone()
    return int(row[0])
