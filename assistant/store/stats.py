"""The raw numbers behind the staff charts, aggregated by SQL over the stored history.

Every figure is counted inside SQLite (``GROUP BY``, ``json_each`` over a turn's stored
replies), so 100,000 turns cross into Python as a few hundred rows, not as 100,000 rows of
JSON. The window is the sessions started since ``since``: their turns are reached through the
``(session_key, id)`` index, and generations and artifacts through their own timestamps.
The staff package (``assistant/staff/metrics.py``) shapes these rows into its dataclasses.

What the history holds: a turn's replies name the question they ask (``question_id``), so a
question counts as reached when a reply asked it, as re-asked when a ``problem`` reply came
with it in one turn, and as where a session stopped when it was the last one asked before the
session went quiet short of the read-back. A spoken turn stores the recogniser's confidence
(NULL when typed); a spoken turn in the ``ask`` state answers the last question asked before it.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

# The sessions of the window, and the question replies of their turns.
_WINDOW = "WITH started AS (SELECT key, job_id, channel, created FROM sessions WHERE created >= ?)"
# One row per question asked: its turn, session and job, whether a problem reply came with it
# (a re-ask), and whether it was the last question the session was asked. The ``instr``
# guards skip parsing a turn's JSON when the word cannot be in it.
_ASKED = (
    _WINDOW + ", asked AS ("
    "SELECT t.id, t.session_key, w.job_id, json_extract(r.value, '$.question_id') AS question, "
    "instr(t.replies, '\"problem\"') > 0 AND EXISTS (SELECT 1 FROM json_each(t.replies) p "
    "WHERE json_extract(p.value, '$.kind') = 'problem') AS after_problem, "
    "row_number() OVER (PARTITION BY t.session_key ORDER BY t.id DESC) AS from_last "
    "FROM started w JOIN turns t ON t.session_key = w.key, json_each(t.replies) r "
    "WHERE instr(t.replies, '\"question_id\"') > 0 "
    "AND json_extract(r.value, '$.kind') = 'question' "
    "AND json_extract(r.value, '$.question_id') IS NOT NULL)"
)
# Sessions of the window that reached the read-back of their answers.
_CONFIRMED = (
    "(SELECT DISTINCT t.session_key FROM started w JOIN turns t ON t.session_key = w.key "
    "WHERE t.state_after = 'confirm')"
)

# Below this confidence an answer is read back before it is kept: the dialog's
# ``LOW_CONFIDENCE`` (``assistant/dialog/flow.py``; a test holds the two equal, and the store
# may not import the dialog).
LOW_CONFIDENCE = 0.6
# The question a turn answered: the one asked in the latest earlier turn of its session that
# asked one (a turn asks at most one). Ordered by the turn alone, the (session_key, id) index
# gives the latest first and the search stops there: ordering by the reply too would sort.
_ANSWERED = (
    "(SELECT json_extract(r.value, '$.question_id') FROM turns p, json_each(p.replies) r "
    "WHERE p.session_key = t.session_key AND p.id < t.id "
    "AND instr(p.replies, '\"question_id\"') > 0 "
    "AND json_extract(r.value, '$.kind') = 'question' "
    "AND json_extract(r.value, '$.question_id') IS NOT NULL ORDER BY p.id DESC LIMIT 1)"
)

QUERIES: dict[str, str] = {
    # job, sessions started, reached the read-back, delivered
    "jobs": _WINDOW + " SELECT coalesce(w.job_id, ''), count(*), "
    "sum(EXISTS (SELECT 1 FROM turns t WHERE t.session_key = w.key AND t.state_after = 'confirm')), "
    "sum(EXISTS (SELECT 1 FROM turns t WHERE t.session_key = w.key "
    "AND t.state_after = 'delivered')) "
    "FROM started w GROUP BY 1 ORDER BY 2 DESC, 1",
    # job, question, sessions that reached it, re-asks, first turn that asked it, sessions
    # whose last question it was and that never reached the read-back (they stopped there)
    "questions": _ASKED + " SELECT coalesce(job_id, ''), question, count(DISTINCT session_key), "
    "sum(after_problem), min(id), count(DISTINCT CASE WHEN from_last = 1 "
    f"AND session_key NOT IN {_CONFIRMED} THEN session_key END) FROM asked GROUP BY 1, 2",
    # job, question, spoken answers to it, their mean confidence, how many were below
    # LOW_CONFIDENCE (read back): the turns in the ``ask`` state that came with a confidence
    "confidence": _WINDOW + f" SELECT coalesce(w.job_id, ''), {_ANSWERED} AS question, count(*), "
    f"avg(t.confidence), sum(t.confidence < {LOW_CONFIDENCE}) "
    "FROM started w JOIN turns t ON t.session_key = w.key "
    "WHERE t.confidence IS NOT NULL AND t.state_before = 'ask' "
    "GROUP BY 1, 2 HAVING question IS NOT NULL",
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
