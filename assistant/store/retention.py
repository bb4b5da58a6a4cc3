"""Removing what is past retention: blocking functions run on the store's thread.

Everything is removed in one transaction, so a crash halfway leaves all of it. A dry run does
the very same deletes and rolls them back, so its counts are exactly what a real run would
remove. Never removed: a session in ``busy`` (in use right now), a session whose generation
still waits or runs, the latest turn that said something of a kept session (a page that
reconnects shows it), and an artifact a kept session points at.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

import sqlite_utils

from assistant.store.transaction import writing
from assistant.upkeep_ports import CleanupReport, RetentionPolicy

KEPT_RUNS = 100  # clean-up runs kept for staff
DAY = 86_400.0


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def clean_up(
    db: sqlite_utils.Database,
    policy: RetentionPolicy,
    now: float,
    busy: frozenset[str],
    *,
    dry_run: bool,
) -> CleanupReport:
    """Remove (or only count) everything past ``policy``; see the module's docstring."""
    removed: dict[str, int] = {}
    folders: list[str] = []
    try:
        with writing(db):
            conn = db.conn
            keys = _expired_sessions(conn, policy, now, busy)
            removed["sessions"] = len(keys)
            removed["turns"] = _delete_sessions(conn, keys)
            removed["turns"] += _old_turns(conn, policy, now, busy)
            removed["links"] = _links(conn, policy, now)  # those of removed sessions too
            folders = _artifacts(conn, policy, now)
            removed["artifacts"] = len(folders)
            removed["generations"] = _generations(conn, policy, now)
            removed["attempts"] = _before(conn, "attempts", "at", policy.attempts, now)
            removed["ledger"] = _ledger(conn, policy, now)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return CleanupReport(at=now, dry_run=dry_run, removed=removed, folders=tuple(folders))


def _expired_sessions(
    conn: sqlite3.Connection, policy: RetentionPolicy, now: float, busy: frozenset[str]
) -> list[str]:
    keys: list[str] = []
    waiting = (
        "NOT EXISTS (SELECT 1 FROM generations g WHERE g.session_key = sessions.key "
        "AND g.status IN ('pending', 'running'))"
    )
    for ended, seconds in ((True, policy.ended), (False, policy.idle)):
        if seconds <= 0:
            continue
        state = "state = 'ended'" if ended else "state != 'ended'"
        rows = conn.execute(
            f"SELECT key FROM sessions WHERE {state} AND updated < ? AND {waiting}",
            (now - seconds,),
        ).fetchall()
        keys.extend(row[0] for row in rows if row[0] not in busy)
    return keys


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):  # under SQLite's variable limit
        yield items[start : start + size]


def _delete_sessions(conn: sqlite3.Connection, keys: list[str]) -> int:
    """Remove the sessions and their turns (their chat links go in ``_links``); returns turns."""
    turns = 0
    for part in _chunks(keys):
        marks = ",".join("?" * len(part))
        turns += conn.execute(f"DELETE FROM turns WHERE session_key IN ({marks})", part).rowcount
        conn.execute(f"DELETE FROM sessions WHERE key IN ({marks})", part)
    return turns


def _old_turns(
    conn: sqlite3.Connection, policy: RetentionPolicy, now: float, busy: frozenset[str]
) -> int:
    if policy.turns <= 0:
        return 0
    # In-use sessions only lose old turns anyway (their latest stays): the first 500 suffice.
    busy_keys = sorted(busy)[:500]
    marks = ",".join("?" * len(busy_keys))
    spared = f"AND session_key NOT IN ({marks})" if busy_keys else ""
    return conn.execute(
        "DELETE FROM turns WHERE at < ? AND id NOT IN (SELECT max(id) FROM turns "
        f"WHERE replies != '[]' GROUP BY session_key) {spared}",
        (now - policy.turns, *busy_keys),
    ).rowcount


def _links(conn: sqlite3.Connection, policy: RetentionPolicy, now: float) -> int:
    """Links to sessions that are gone, and links unused past their retention."""
    count = conn.execute(
        "DELETE FROM channel_links WHERE session_key NOT IN (SELECT key FROM sessions)"
    ).rowcount
    return count + _before(conn, "channel_links", "updated", policy.links, now)


def _artifacts(conn: sqlite3.Connection, policy: RetentionPolicy, now: float) -> list[str]:
    """Remove old artifacts no kept session points at; returns their folders."""
    if policy.artifacts <= 0:
        return []
    rows = conn.execute(
        "SELECT id, folder FROM artifacts WHERE created < ? AND id NOT IN "
        "(SELECT artifact_id FROM sessions WHERE artifact_id IS NOT NULL)",
        (now - policy.artifacts,),
    ).fetchall()
    ids = [row[0] for row in rows]
    for part in _chunks(ids):
        marks = ",".join("?" * len(part))
        conn.execute(f"DELETE FROM artifacts WHERE id IN ({marks})", part)
    return [row[1] for row in rows]


def _generations(conn: sqlite3.Connection, policy: RetentionPolicy, now: float) -> int:
    """Finished queue rows as old as the turn history, that no kept session names."""
    if policy.turns <= 0:
        return 0
    return conn.execute(
        "DELETE FROM generations WHERE status NOT IN ('pending', 'running') AND created < ? "
        "AND id NOT IN (SELECT generation_id FROM sessions WHERE generation_id IS NOT NULL)",
        (now - policy.turns,),
    ).rowcount


def _ledger(conn: sqlite3.Connection, policy: RetentionPolicy, now: float) -> int:
    """Telegram updates handled and messages sent (or given up) as old as the turn history.

    Kept: anything unfinished (recovery needs it), and each chat's latest update and message
    (the bot's last message id per chat is read from them). Telegram never sends an update
    again after a day, so an old update's id is not needed to recognise a redelivery.
    """
    if policy.turns <= 0:
        return 0
    cutoff = now - max(policy.turns, DAY)
    updates = conn.execute(
        "DELETE FROM telegram_updates WHERE status = 'done' AND received < ? AND update_id "
        "NOT IN (SELECT max(update_id) FROM telegram_updates GROUP BY chat_id)",
        (cutoff,),
    ).rowcount
    messages = conn.execute(
        "DELETE FROM telegram_messages WHERE status IN ('sent', 'given_up') AND created < ? "
        "AND id NOT IN (SELECT max(id) FROM telegram_messages WHERE message_id IS NOT NULL "
        "GROUP BY chat_id)",
        (cutoff,),
    ).rowcount
    return updates + messages


def _before(conn: sqlite3.Connection, table: str, column: str, seconds: float, now: float) -> int:
    if seconds <= 0:
        return 0
    return conn.execute(f"DELETE FROM {table} WHERE {column} < ?", (now - seconds,)).rowcount


def record(db: sqlite_utils.Database, report: CleanupReport) -> None:
    """Keep one run for staff, and only the latest ``KEPT_RUNS`` of them."""
    with writing(db):
        db.conn.execute(
            "INSERT INTO cleanup_runs (at, dry_run, removed) VALUES (?, ?, ?)",
            (report.at, int(report.dry_run), json.dumps(report.removed)),
        )
        db.conn.execute(
            "DELETE FROM cleanup_runs WHERE id NOT IN "
            "(SELECT id FROM cleanup_runs ORDER BY id DESC LIMIT ?)",
            (KEPT_RUNS,),
        )


def last(db: sqlite_utils.Database) -> CleanupReport | None:
    """The latest run that removed things for real."""
    row = db.conn.execute(
        "SELECT at, removed FROM cleanup_runs WHERE dry_run = 0 ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return CleanupReport(at=row[0], dry_run=False, removed=json.loads(row[1]))


def strings_in_use(db: sqlite_utils.Database) -> frozenset[str]:
    """Every text value in the kept sessions' answers, pending answers and undo versions, and
    in the answers of tasks not yet built: what a stored photo's id must be among to stay."""
    found: set[str] = set()
    rows = db.conn.execute("SELECT answers, pending, undo FROM sessions").fetchall()
    rows += db.conn.execute(
        "SELECT answers, NULL, NULL FROM generations WHERE status IN ('pending', 'running')"
    ).fetchall()
    for row in rows:
        for column in row:
            if column:
                _collect(json.loads(column), found)
    return frozenset(found)


def _collect(value: object, found: set[str]) -> None:
    if isinstance(value, str):
        found.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)
