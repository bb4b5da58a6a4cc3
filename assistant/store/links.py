"""Which session a chat continues (after ``/resume CODE``): blocking functions, store's thread."""

from __future__ import annotations

import time

import sqlite_utils


def link(db: sqlite_utils.Database, address: str, session_key: str) -> None:
    """From now on ``address`` (a chat) talks to ``session_key``."""
    row = {"address": address, "session_key": session_key, "updated": time.time()}
    db.table("channel_links").upsert(row, pk="address")


def linked(db: sqlite_utils.Database, address: str) -> str | None:
    """The session a chat continues, if it continued another one."""
    row = db.execute(
        "SELECT session_key FROM channel_links WHERE address = ?", [address]
    ).fetchone()
    return row[0] if row else None


def addresses(db: sqlite_utils.Database, session_key: str, prefix: str) -> list[str]:
    """The chats (addresses starting with ``prefix``) that continue ``session_key``."""
    rows = db.execute(
        "SELECT address FROM channel_links WHERE session_key = ? AND address LIKE ?",
        [session_key, prefix + "%"],
    ).fetchall()
    return [row[0] for row in rows]
