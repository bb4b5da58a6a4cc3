"""A session's turns in PostgreSQL: the history row of each turn, and what the charts read.

SQLite fills ``question_asked``, ``problem`` and ``question_answered`` with a trigger
(migration m017); here they are computed as the row is written, from the same replies by the
same rules, so both stores hand the staff figures the same columns.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from assistant.session import TurnRecord
from assistant.store.postgres.database import Connection

# A turn that came while a question was asked (``ask``, or ``edit`` of one answer) answered
# the question asked last before it in its session; other turns answered none.
ANSWERING_STATES = ("ask", "edit")
_COLUMNS = (
    "id, session_key, at, channel, text, state_before, state_after, replies, confidence, "
    "question_answered, question_asked, problem"
)


def question_asked(replies: Any) -> str | None:
    """The question the first asking reply names (a turn asks at most one)."""
    for reply in replies if isinstance(replies, list) else ():
        if isinstance(reply, dict) and reply.get("kind") == "question":
            asked = reply.get("question_id")
            if asked is not None:
                return str(asked)
    return None


def told_a_problem(replies: Any) -> bool:
    """Whether any reply told of a problem."""
    return any(
        isinstance(reply, dict) and reply.get("kind") == "problem"
        for reply in (replies if isinstance(replies, list) else ())
    )


async def insert(conn: Connection, record: TurnRecord) -> None:
    """The turn's history row, inside the caller's transaction (which holds the session's row,
    so no other turn of the session comes between the look-back and the insert)."""
    await conn.execute(
        "INSERT INTO turns (session_key, at, channel, text, state_before, state_after, "
        "replies, confidence, question_asked, problem, question_answered) "
        "VALUES (%(key)s, %(at)s, %(channel)s, %(text)s, %(before)s, %(after)s, %(replies)s, "
        "%(confidence)s, %(asked)s, %(problem)s, CASE WHEN %(answering)s THEN "
        "(SELECT p.question_asked FROM turns p WHERE p.session_key = %(key)s "
        "AND p.question_asked IS NOT NULL ORDER BY p.id DESC LIMIT 1) END)",
        {
            "key": record.session_key, "at": record.at, "channel": record.channel,
            "text": record.text, "before": record.state_before, "after": record.state_after,
            "replies": Jsonb(record.replies), "confidence": record.confidence,
            "asked": question_asked(record.replies), "problem": told_a_problem(record.replies),
            "answering": record.state_before in ANSWERING_STATES,
        },
    )  # fmt: skip


async def history(conn: Connection, key: str) -> list[dict[str, Any]]:
    """Every stored turn of a session, oldest first, as the SQLite store gives them."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(
            f"SELECT {_COLUMNS} FROM turns WHERE session_key = %s ORDER BY id", (key,)
        )
        rows = await cursor.fetchall()
    return [{**row, "problem": int(row["problem"])} for row in rows]


async def last_replies(conn: Connection, key: str) -> list[dict[str, Any]]:
    """The replies of the session's latest turn that said something, as stored."""
    cursor = await conn.execute(
        "SELECT replies FROM turns WHERE session_key = %s AND replies <> '[]'::jsonb "
        "ORDER BY id DESC LIMIT 1",
        (key,),
    )
    row = await cursor.fetchone()
    return list(row[0]) if row else []
