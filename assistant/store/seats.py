"""Seats: a kiosk or console, and the session of the person using it now (blocking SQL)."""

from __future__ import annotations

import sqlite_utils


def current(db: sqlite_utils.Database, seat: str) -> str | None:
    """The key of the seat's current session, if the seat was ever taken."""
    row = db.execute("SELECT session_key FROM seats WHERE seat = ?", [seat]).fetchone()
    return str(row[0]) if row else None


def take(db: sqlite_utils.Database, seat: str, session_key: str, now: float) -> None:
    """From now on ``session_key`` is the seat's current session."""
    db.table("seats").upsert({"seat": seat, "session_key": session_key, "updated": now}, pk="seat")
