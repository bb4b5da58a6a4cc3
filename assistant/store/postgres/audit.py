"""The staff audit log in PostgreSQL, searched as the SQLite store searches it.

Rows are only ever inserted (the triggers of m003 refuse UPDATE, DELETE and TRUNCATE), so this
module has no function that could change one. The detail is ``jsonb``; a free-text search
looks in its text form, which PostgreSQL writes with the separators ``json.dumps`` uses. Case
is folded for ASCII letters only, as SQLite's LIKE folds it: ``lower`` under the "C"
collation touches nothing else, whatever the database's locale.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from assistant.store.audit import _TEXT_COLUMNS, _like
from assistant.store.postgres.database import Connection
from assistant.store.rows import conditions

_COLUMNS = ("id", "at", "who", "role", "action", "address", "session_key", "artifact_id", "detail")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM audit_log"


async def append(conn: Connection, row: Mapping[str, Any]) -> int:
    """Insert one entry (one statement, committed by itself); returns its id."""
    cursor = await conn.execute(
        "INSERT INTO audit_log (at, who, role, action, address, session_key, artifact_id, "
        "detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            row["at"], row["who"], row["role"], str(row["action"]), row.get("address") or "",
            row.get("session_key"), row.get("artifact_id"), Jsonb(row.get("detail") or {}),
        ),
    )  # fmt: skip
    found = await cursor.fetchone()
    assert found is not None
    return int(found[0])


def _searched(column: str) -> str:
    """``column`` as text with its ASCII letters in lower case."""
    text = f"{column}::text" if column == "detail" else column
    return f'lower({text} COLLATE "C")'


async def search(conn: Connection, filters: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """Entries matching every filter given (``None`` filters nothing), newest first, at most
    ``limit`` of them (0: all): the filters of ``assistant/store/audit.py``'s ``search``."""
    where, params = conditions(
        (
            (column, filters.get(column))
            for column in ("who", "action", "session_key", "artifact_id")
        ),
        ("at", filters.get("since"), filters.get("until")),
        "%s",
    )
    if filters.get("text"):
        pattern = _like(str(filters["text"]))
        where.append(
            "("
            + " OR ".join(
                f"{_searched(c)} LIKE lower(%s COLLATE \"C\") ESCAPE '\\'" for c in _TEXT_COLUMNS
            )
            + ")"
        )
        params.extend(pattern for _ in _TEXT_COLUMNS)
    sql = _SELECT + (f" WHERE {' AND '.join(where)}" if where else "")
    # LIMIT NULL is no limit: ``limit`` 0 (or less) returns every match, as in SQLite.
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(
            f"{sql} ORDER BY id DESC LIMIT %s", (*params, limit if limit > 0 else None)
        )
        rows = await cursor.fetchall()
    return [{**row, "detail": row["detail"] or {}} for row in rows]


async def latest_acts(
    conn: Connection, keys: Sequence[str], actions: Collection[str]
) -> dict[str, tuple[str, str]]:
    """Each session's newest entry among ``actions`` as (who, action), for those of ``keys``
    that have one, in one query (``DISTINCT ON`` over the ``(session_key, id)`` index)."""
    if not keys or not actions:
        return {}
    cursor = await conn.execute(
        "SELECT DISTINCT ON (session_key) session_key, who, action FROM audit_log "
        "WHERE session_key = ANY(%s) AND action = ANY(%s) ORDER BY session_key, id DESC",
        (list(keys), sorted(str(action) for action in actions)),
    )
    return {key: (who, action) for key, who, action in await cursor.fetchall()}
