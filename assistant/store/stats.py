"""The raw numbers behind the staff charts, aggregated by SQL over the stored history.

Every figure is counted inside SQLite (``GROUP BY``), so 100,000 turns cross into Python as a
few hundred rows. The window is the sessions started since ``since``; their turns are read by
session from the ``turns_charts`` index (it holds every column the figures use, so the rows
with their replies stay on disk), generations and artifacts through their own timestamps. The staff package (``assistant/staff/metrics.py``)
shapes these rows into its dataclasses.

What the history holds: each turn stores the question its replies asked (``question_asked``),
whether they told of a ``problem``, and the question its words answered
(``question_answered``: the one asked last before it, for a turn in the ``ask`` or ``edit``
state), written as it is inserted (migration m017, which filled the older rows from their
replies). A question counts as reached when a turn asked it, as re-asked when a problem came
with it in one turn, and as where a session stopped when it was the last one asked before the
session went quiet short of the read-back. A spoken turn stores the recogniser's confidence
(NULL when typed).

The joins are ``CROSS JOIN`` so SQLite keeps their order (the window's sessions first, then
their turns): without statistics it may otherwise scan every turn of every session ever.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

# The sessions of the window.
_WINDOW = "WITH started AS (SELECT key, job_id, channel, created FROM sessions WHERE created >= ?)"
# Per session of the window, once (``MATERIALIZED``: inlined, it would be evaluated again for
# every turn): whether it reached the read-back, and its last turn that asked a question.
_ENDS = (
    ", ends AS MATERIALIZED (SELECT w.key, w.job_id, EXISTS (SELECT 1 FROM turns t "
    "WHERE t.session_key = w.key AND t.state_after = 'confirm') AS confirmed, "
    "(SELECT max(t.id) FROM turns t WHERE t.session_key = w.key "
    "AND t.question_asked IS NOT NULL) AS last_asked FROM started w)"
)

# Below this confidence an answer is read back before it is kept: the dialog's
# ``LOW_CONFIDENCE`` (``assistant/dialog/flow.py``; a test holds the two equal, and the store
# may not import the dialog).
LOW_CONFIDENCE = 0.6

QUERIES: dict[str, str] = {
    # job, sessions started, reached the read-back, delivered
    "jobs": _WINDOW + " SELECT coalesce(w.job_id, ''), count(*), "
    "sum(EXISTS (SELECT 1 FROM turns t WHERE t.session_key = w.key AND t.state_after = 'confirm')), "
    "sum(EXISTS (SELECT 1 FROM turns t WHERE t.session_key = w.key "
    "AND t.state_after = 'delivered')) "
    "FROM started w GROUP BY 1 ORDER BY 2 DESC, 1",
    # job, question, sessions that reached it, re-asks, first turn that asked it, sessions
    # whose last question it was and that never reached the read-back (they stopped there)
    "questions": _WINDOW + _ENDS + " SELECT coalesce(s.job_id, ''), t.question_asked, "
    "count(DISTINCT t.session_key), sum(t.problem), min(t.id), "
    "count(CASE WHEN t.id = s.last_asked AND NOT s.confirmed THEN 1 END) "
    "FROM ends s CROSS JOIN turns t ON t.session_key = s.key "
    "WHERE t.question_asked IS NOT NULL GROUP BY 1, 2",
    # job, question, spoken answers to it, their mean confidence, how many were below
    # LOW_CONFIDENCE (read back): the turns in the ``ask`` state that came with a confidence
    "confidence": _WINDOW + " SELECT coalesce(w.job_id, ''), t.question_answered, count(*), "
    f"avg(t.confidence), sum(t.confidence < {LOW_CONFIDENCE}) "
    "FROM started w CROSS JOIN turns t ON t.session_key = w.key "
    "WHERE t.confidence IS NOT NULL AND t.state_before = 'ask' "
    "AND t.question_answered IS NOT NULL GROUP BY 1, 2",
    # day (local), channel, sessions started, of them delivered
    "days": _WINDOW + " SELECT date(w.created, 'unixepoch', 'localtime'), w.channel, count(*), "
    "sum(EXISTS (SELECT 1 FROM turns t WHERE t.session_key = w.key "
    "AND t.state_after = 'delivered')) FROM started w GROUP BY 1, 2 ORDER BY 1, 2",
    # seconds from a session's first turn to its first delivery, one row per delivered session
    "to_delivery": _WINDOW + " SELECT (SELECT min(at) FROM turns t WHERE t.session_key = w.key "
    "AND t.state_after = 'delivered') - (SELECT min(at) FROM turns t "
    "WHERE t.session_key = w.key) AS seconds FROM started w WHERE seconds IS NOT NULL",
    # job, seconds a finished generation took, one row per generation
    "generation": "SELECT job_id, finished - started FROM generations "
    "WHERE status = 'done' AND created >= ? AND started IS NOT NULL AND finished IS NOT NULL",
    # model ('' when the template alone made it), outcome, artifacts, mean model seconds
    "models": "SELECT coalesce(json_extract(manifest, '$.llm.model'), ''), "
    "coalesce(json_extract(manifest, '$.llm.outcome'), ''), count(*), "
    "avg(json_extract(manifest, '$.llm.seconds')) FROM artifacts WHERE created >= ? "
    "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
    # error code, failed generations
    "failures": "SELECT coalesce(error_code, ''), count(*) FROM generations "
    "WHERE status = 'failed' AND created >= ? GROUP BY 1 ORDER BY 2 DESC, 1",
}


def figures(db: sqlite_utils.Database, since: float) -> dict[str, list[tuple[Any, ...]]]:
    """Every query of ``QUERIES`` over the window starting at ``since``, by name.

    The queries run in one read transaction, so the figures agree with one another even while
    turns are being written."""
    conn = db.conn
    found: dict[str, list[tuple[Any, ...]]] = {}
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        for name, sql in QUERIES.items():
            found[name] = [tuple(row) for row in conn.execute(sql, (since,)).fetchall()]
    finally:
        if own:
            conn.execute("COMMIT")
    return found
