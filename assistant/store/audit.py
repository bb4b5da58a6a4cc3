"""The staff audit log in SQLite: blocking functions run on the store's thread.

Rows are only ever inserted: the table's triggers (migration ``m012_audit_log``) refuse
UPDATE and DELETE, so this module has no function that could change one. Values cross the
port as plain dicts, so the store knows nothing of the staff package's types.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlite_utils

from assistant.errors import StoreError
from assistant.store.rows import conditions
from assistant.store.transaction import writing

_COLUMNS = ("id", "at", "who", "role", "action", "address", "session_key", "artifact_id", "detail")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM audit_log"
# The columns a free-text search looks in (the detail as its stored JSON text).
_TEXT_COLUMNS = ("who", "action", "address", "session_key", "artifact_id", "detail")
_CHUNK = 500  # session keys per query, under SQLite's variable limit


def append(db: sqlite_utils.Database, row: Mapping[str, Any]) -> int:
    """Insert one entry in its own transaction; returns its id."""
    try:
        with writing(db):
            cursor = db.conn.execute(
                "INSERT INTO audit_log (at, who, role, action, address, session_key, "
                "artifact_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row["at"], row["who"], row["role"], row["action"], row.get("address") or "",
                    row.get("session_key"), row.get("artifact_id"),
                    json.dumps(row.get("detail") or {}, ensure_ascii=False, sort_keys=True),
                ),
            )  # fmt: skip
    except sqlite3.DatabaseError as err:
        raise StoreError(f"cannot write the audit log: {err}") from err
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally anywhere (``%`` and ``_`` too)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(
    db: sqlite_utils.Database, filters: Mapping[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Entries matching every filter given (``None`` filters nothing), newest first, at most
    ``limit`` of them (0: all).

    ``who``, ``action``, ``session_key`` and ``artifact_id`` match exactly; ``since`` and
    ``until`` bound ``at`` (from, inclusive; to, exclusive); ``text`` is found anywhere in the
    names, the address or the detail, case-insensitively for ASCII letters.
    """
    where, params = conditions(
        (
            (column, filters.get(column))
            for column in ("who", "action", "session_key", "artifact_id")
        ),
        ("at", filters.get("since"), filters.get("until")),
        "?",
    )
    if filters.get("text"):
        pattern = _like(str(filters["text"]))
        where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in _TEXT_COLUMNS) + ")")
        params.extend(pattern for _ in _TEXT_COLUMNS)
    sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "")
    # SQLite reads a negative LIMIT as none: ``limit`` 0 (or less) returns every match.
    rows = db.conn.execute(
        f"{sql} ORDER BY id DESC LIMIT ?", (*params, limit if limit > 0 else -1)
    ).fetchall()
    found = []
    for row in rows:
        values = dict(zip(_COLUMNS, row, strict=True))
        values["detail"] = json.loads(values["detail"] or "{}")
        found.append(values)
    return found


def latest_acts(
    db: sqlite_utils.Database, keys: Sequence[str], actions: Collection[str]
) -> dict[str, tuple[str, str]]:
    """Each session's newest entry among ``actions`` as (who, action), for those of ``keys``
    that have one: one query per chunk of keys, by the ``session_key`` index."""
    acts = sorted(actions)
    if not acts:
        return {}
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(keys), _CHUNK):
        part = list(keys[start : start + _CHUNK])
        rows = db.conn.execute(
            "SELECT session_key, who, action FROM audit_log WHERE id IN ("
            f"  SELECT MAX(id) FROM audit_log WHERE session_key IN ({','.join('?' * len(part))})"
            f"  AND action IN ({','.join('?' * len(acts))}) GROUP BY session_key)",
            (*part, *acts),
        )
        found.update({key: (who, action) for key, who, action in rows})
    return found
