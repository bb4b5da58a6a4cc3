"""The core the dialog and the generation queue need: sessions, turns, the generation queue,
artifacts, chat links and seats, with the columns the SQLite store has after its m018.

JSON is ``jsonb``; times stay seconds since the epoch (``double precision``), as the ports
speak them. A turn's ``question_answered``, ``question_asked`` and ``problem`` (SQLite's
m017, there filled by a trigger) are written with the row by ``turns.insert``. A queued
task's ``owner`` is the lease of the process running it (``lease.py``), so a starting instance
puts back only the tasks of processes that died.
"""

from __future__ import annotations

from assistant.store.postgres.database import Connection
from assistant.store.postgres.migrate import run_statements

STATEMENTS = (
    """CREATE TABLE sessions (
        key text PRIMARY KEY,
        code text NOT NULL CONSTRAINT sessions_code_key UNIQUE,
        language text NOT NULL,
        channel text NOT NULL,
        state text NOT NULL,
        job_id text,
        idx integer,
        answers jsonb,
        edit_id text,
        paused boolean NOT NULL DEFAULT false,
        preferences jsonb,
        generation_id bigint,
        series text,
        version integer,
        artifact_id text,
        pending jsonb,
        ask_next jsonb,
        look jsonb,
        undo jsonb,
        job_digest text,
        revision integer NOT NULL,
        created double precision,
        updated double precision
    )""",
    "CREATE INDEX sessions_updated ON sessions (updated)",
    "CREATE INDEX sessions_created ON sessions (created)",
    """CREATE TABLE turns (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_key text NOT NULL,
        at double precision NOT NULL,
        channel text,
        text text,
        state_before text,
        state_after text,
        replies jsonb NOT NULL,
        confidence double precision,
        question_answered text,
        question_asked text,
        problem boolean NOT NULL DEFAULT false
    )""",
    "CREATE INDEX turns_session ON turns (session_key, id)",
    "CREATE INDEX turns_at ON turns (at)",
    """CREATE TABLE generations (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_key text NOT NULL,
        job_id text NOT NULL,
        language text NOT NULL,
        answers jsonb NOT NULL,
        series text NOT NULL,
        version integer NOT NULL,
        look jsonb,
        status text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        owner bigint,
        created double precision NOT NULL,
        started double precision,
        finished double precision,
        artifact_id text,
        error_code text,
        error_message text
    )""",
    # The claim's scan: only the waiting tasks, oldest first.
    "CREATE INDEX generations_waiting ON generations (id) WHERE status = 'pending'",
    "CREATE INDEX generations_status ON generations (status, id)",
    """CREATE TABLE artifacts (
        id text PRIMARY KEY,
        series text NOT NULL,
        version integer NOT NULL,
        session_key text,
        job_id text,
        folder text NOT NULL,
        files jsonb NOT NULL,
        manifest jsonb NOT NULL,
        created double precision NOT NULL,
        token text CONSTRAINT artifacts_token_key UNIQUE,
        expires double precision,
        CONSTRAINT artifacts_series_version_key UNIQUE (series, version)
    )""",
    "CREATE INDEX artifacts_created ON artifacts (created)",
    """CREATE TABLE channel_links (
        address text PRIMARY KEY,
        session_key text NOT NULL,
        updated double precision NOT NULL
    )""",
    "CREATE INDEX channel_links_session ON channel_links (session_key)",
    """CREATE TABLE seats (
        seat text PRIMARY KEY,
        session_key text NOT NULL,
        updated double precision NOT NULL
    )""",
)


async def apply(conn: Connection) -> None:
    """Create the core tables."""
    await run_statements(conn, STATEMENTS)
