"""The live sessions' activity for the staff console in PostgreSQL: the values
``assistant/store/live.py`` reads from SQLite, in four queries whatever their number.

The latest turns of each session come from a ``LATERAL`` look-up per session down the
``(session_key, id)`` index, and each session's latest build by ``DISTINCT ON`` down the
generations' index of m003, so neither reads a session's whole history. The four queries
share one read-only snapshot: a turn committed by another instance meanwhile is in all of
them or in none.
"""

from __future__ import annotations

from assistant.staff.live import HELP_ACTS, SessionActivity
from assistant.store.postgres.audit import latest_acts
from assistant.store.postgres.database import Connection
from assistant.store.rows import live_sessions


async def activity(conn: Connection, since: float, limit: int, turns: int) -> list[SessionActivity]:
    """Sessions not ended that were used since ``since``, newest first, at most ``limit``,
    each with its latest ``turns`` turns (the caller's connection is in a transaction)."""
    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    cursor = await conn.execute(
        "SELECT key, channel, language, state, job_id, paused, updated FROM sessions "
        "WHERE state <> 'ended' AND updated >= %s ORDER BY updated DESC LIMIT %s",
        (since, limit if limit >= 0 else None),  # SQLite reads a negative LIMIT as none
    )
    rows = await cursor.fetchall()
    keys = [str(row[0]) for row in rows]
    recent: dict[str, list[dict[str, object]]] = {key: [] for key in keys}
    built: dict[str, str] = {}
    if keys:
        cursor = await conn.execute(
            "SELECT k.key, t.at, t.text, t.state_after, t.replies FROM unnest(%s::text[]) "
            "AS k(key) CROSS JOIN LATERAL (SELECT id, at, text, state_after, replies "
            "FROM turns WHERE session_key = k.key ORDER BY id DESC LIMIT %s) t "
            "ORDER BY k.key, t.id",
            (keys, max(turns, 0)),
        )
        for key, at, text, state_after, replies in await cursor.fetchall():
            recent[key].append(
                {"at": at, "text": text, "state_after": state_after, "replies": replies or []}
            )
        cursor = await conn.execute(
            "SELECT DISTINCT ON (session_key) session_key, status FROM generations "
            "WHERE session_key = ANY(%s) ORDER BY session_key, id DESC",
            (keys,),
        )
        built = {key: status for key, status in await cursor.fetchall()}
    acts = await latest_acts(conn, keys, HELP_ACTS)
    return live_sessions(rows, recent, built, acts)
