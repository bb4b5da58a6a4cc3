"""The raw numbers behind the staff charts in PostgreSQL: the rows of ``assistant/store/stats.py``
for the same history, so the charts staff see do not change with the store.

Each query is SQLite's, said in PostgreSQL: a boolean counted with ``count(*) FILTER`` where
SQLite sums 0/1, text ordered under the "C" collation (SQLite's byte order, whatever the
database's locale), and rows without an order in SQLite given one here. The days need the
local calendar of the process, as SQLite's ``'localtime'`` reads it, which the server cannot
know; so the server counts per quarter hour (UTC) and Python names each quarter's local day:
every zone's offset and every clock change falls on a quarter hour, so all of one quarter is
on one local day. A window of 30 days is at most 2,880 quarters per channel.

The queries run in one read-only snapshot (REPEATABLE READ), so the figures agree with one
another even while other instances write turns.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from assistant.store.postgres.database import Connection
from assistant.store.stats import LOW_CONFIDENCE

QUARTER_S = 900
_WINDOW = "WITH started AS (SELECT key, job_id, channel, created FROM sessions WHERE created >= %s)"
_ENDS = (
    ", ends AS MATERIALIZED (SELECT w.key, w.job_id, EXISTS (SELECT 1 FROM turns t "
    "WHERE t.session_key = w.key AND t.state_after = 'confirm') AS confirmed, "
    "(SELECT max(t.id) FROM turns t WHERE t.session_key = w.key "
    "AND t.question_asked IS NOT NULL) AS last_asked FROM started w)"
)


def _reached(state: str, alias: str = "w") -> str:
    """Whether the session ``alias`` has a turn that ended in ``state``."""
    return (
        f"EXISTS (SELECT 1 FROM turns t WHERE t.session_key = {alias}.key "
        f"AND t.state_after = '{state}')"
    )


QUERIES: dict[str, str] = {
    "jobs": _WINDOW + " SELECT coalesce(w.job_id, '') COLLATE \"C\", count(*), "
    f"count(*) FILTER (WHERE {_reached('confirm')}), "
    f"count(*) FILTER (WHERE {_reached('delivered')}) "
    "FROM started w GROUP BY 1 ORDER BY 2 DESC, 1",
    "questions": _WINDOW + _ENDS + " SELECT coalesce(s.job_id, '') COLLATE \"C\", "
    't.question_asked COLLATE "C", '
    "count(DISTINCT t.session_key), count(*) FILTER (WHERE t.problem), min(t.id), "
    "count(*) FILTER (WHERE t.id = s.last_asked AND NOT s.confirmed) "
    "FROM ends s JOIN turns t ON t.session_key = s.key "
    "WHERE t.question_asked IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    "confidence": _WINDOW + " SELECT coalesce(w.job_id, '') COLLATE \"C\", "
    't.question_answered COLLATE "C", count(*), '
    f"avg(t.confidence), count(*) FILTER (WHERE t.confidence < {LOW_CONFIDENCE}) "
    "FROM started w JOIN turns t ON t.session_key = w.key "
    "WHERE t.confidence IS NOT NULL AND t.state_before = 'ask' "
    "AND t.question_answered IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    # quarter hour (UTC), channel, sessions started, of them delivered: named by day below
    "days": _WINDOW + f" SELECT floor(w.created / {QUARTER_S})::bigint, w.channel, count(*), "
    f"count(*) FILTER (WHERE {_reached('delivered')}) FROM started w GROUP BY 1, 2",
    # (``MATERIALIZED``: inlined, the look-ups would run again for the WHERE)
    "to_delivery": _WINDOW + ", delivered AS MATERIALIZED (SELECT w.key, (SELECT min(at) "
    "FROM turns t WHERE t.session_key = w.key AND t.state_after = 'delivered') AS at "
    "FROM started w) SELECT d.at - (SELECT min(at) FROM turns t WHERE t.session_key = d.key) "
    "FROM delivered d WHERE d.at IS NOT NULL ORDER BY 1",
    "generation": "SELECT job_id, finished - started FROM generations "
    "WHERE status = 'done' AND created >= %s AND started IS NOT NULL AND finished IS NOT NULL "
    "ORDER BY id",
    "models": "SELECT coalesce(manifest #>> '{llm,model}', '') COLLATE \"C\", "
    "coalesce(manifest #>> '{llm,outcome}', '') COLLATE \"C\", count(*), "
    "avg(CASE WHEN jsonb_typeof(manifest #> '{llm,seconds}') = 'number' "
    "THEN (manifest #>> '{llm,seconds}')::double precision END) "
    "FROM artifacts WHERE created >= %s GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
    "failures": "SELECT coalesce(error_code, '') COLLATE \"C\", count(*) FROM generations "
    "WHERE status = 'failed' AND created >= %s GROUP BY 1 ORDER BY 2 DESC, 1",
}


def local_days(quarters: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """(day, channel, sessions, delivered) from the rows per quarter hour, by local day."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for quarter, channel, started, delivered in quarters:
        day = time.strftime("%Y-%m-%d", time.localtime(quarter * QUARTER_S))
        counts[(day, channel)][0] += started
        counts[(day, channel)][1] += delivered
    return [(day, channel, *counts[(day, channel)]) for day, channel in sorted(counts)]


async def figures(conn: Connection, since: float) -> dict[str, list[tuple[Any, ...]]]:
    """Every query of ``QUERIES`` over the window starting at ``since``, by name, in one
    snapshot (the caller's connection is in a transaction)."""
    await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    # Compiling these short queries costs more than running them (a quarter of a second on
    # 100,000 turns): the planner's estimate of their nested look-ups is far too high.
    await conn.execute("SET LOCAL jit = off")
    found: dict[str, list[tuple[Any, ...]]] = {}
    for name, sql in QUERIES.items():
        cursor = await conn.execute(sql, (since,))
        found[name] = [tuple(row) for row in await cursor.fetchall()]
    found["days"] = local_days(found["days"])
    return found
