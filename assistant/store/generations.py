"""The generation queue's rows in SQLite: blocking functions run on the store's thread.

The queue lives in the database, not in memory, so a task interrupted by a crash runs again
after restart; claiming is a conditional update, so two processes never take the same task.
"""

from __future__ import annotations

import json
import sqlite3
import time

import sqlite_utils

from assistant.ports import GenerationTask
from assistant.session import Artifact, GenerationRequest
from assistant.store import artifacts
from assistant.store.transaction import writing


def enqueue(conn: sqlite3.Connection, request: GenerationRequest, now: float) -> int:
    """A pending task, inside the caller's transaction; returns its id."""
    cursor = conn.execute(
        "INSERT INTO generations (session_key, job_id, language, answers, series, version, "
        "look, status, attempts, created) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
        (
            request.session_key, request.job_id, request.language,
            json.dumps(request.answers, ensure_ascii=False), request.series,
            request.version, json.dumps(request.look) if request.look else None, now,
        ),
    )  # fmt: skip
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def cancel(conn: sqlite3.Connection, task_id: int, now: float) -> None:
    """Cancel a task that waits or runs, inside the caller's transaction."""
    conn.execute(
        "UPDATE generations SET status = 'cancelled', finished = ? "
        "WHERE id = ? AND status IN ('pending', 'running')",
        (now, task_id),
    )


def enqueue_running(db: sqlite_utils.Database, request: GenerationRequest) -> int:
    """A task that the caller runs at once itself (``assistant generate``)."""
    with writing(db):
        task_id = enqueue(db.conn, request, time.time())
        db.conn.execute(
            "UPDATE generations SET status = 'running', attempts = 1, started = ? WHERE id = ?",
            (time.time(), task_id),
        )
    return task_id


def requeue_interrupted(db: sqlite_utils.Database) -> int:
    """Tasks left ``running`` by a crash go back to ``pending``."""
    with writing(db):
        cursor = db.conn.execute(
            "UPDATE generations SET status = 'pending' WHERE status = 'running'"
        )
    return cursor.rowcount


def claim_next(db: sqlite_utils.Database) -> GenerationTask | None:
    """Mark the oldest pending task running and return it."""
    with writing(db):
        row = db.conn.execute(
            "SELECT id, session_key, job_id, language, answers, series, version, "
            "attempts, look FROM generations WHERE status = 'pending' ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        cursor = db.conn.execute(
            "UPDATE generations SET status = 'running', attempts = attempts + 1, "
            "started = ? WHERE id = ? AND status = 'pending'",
            (time.time(), row[0]),
        )
        if cursor.rowcount != 1:  # another process took it first
            return None
    request = GenerationRequest(
        id=row[0], session_key=row[1], job_id=row[2], language=row[3],
        answers=json.loads(row[4]), series=row[5], version=row[6],
        look=json.loads(row[8]) if row[8] else {},
    )  # fmt: skip
    return GenerationTask(request=request, attempts=row[7] + 1)


def claim(db: sqlite_utils.Database, task_id: int, lease_s: float) -> GenerationTask | None:
    """Mark one task running for a Celery worker and return it: a pending task, or a running
    one whose claim is older than ``lease_s`` (its worker died; its message came again).
    None for a task that is done, cancelled, failed or being built: a message sent twice
    builds once."""
    now = time.time()
    with writing(db):
        cursor = db.conn.execute(
            "UPDATE generations SET status = 'running', attempts = attempts + 1, started = ? "
            "WHERE id = ? AND (status = 'pending' OR (status = 'running' AND started < ?))",
            (now, task_id, now - lease_s),
        )
        if cursor.rowcount != 1:
            return None
        row = db.conn.execute(
            "SELECT id, session_key, job_id, language, answers, series, version, "
            "attempts, look FROM generations WHERE id = ?",
            (task_id,),
        ).fetchone()
    request = GenerationRequest(
        id=row[0], session_key=row[1], job_id=row[2], language=row[3],
        answers=json.loads(row[4]), series=row[5], version=row[6],
        look=json.loads(row[8]) if row[8] else {},
    )  # fmt: skip
    return GenerationTask(request=request, attempts=row[7])


def unbuilt(db: sqlite_utils.Database, stale_before: float) -> list[int]:
    """Tasks no worker is known to build: pending, or running with a claim older than
    ``stale_before`` (a time); the Celery sweep sends them again."""
    rows = db.conn.execute(
        "SELECT id FROM generations WHERE status = 'pending' "
        "OR (status = 'running' AND started < ?) ORDER BY id",
        (stale_before,),
    ).fetchall()
    return [int(row[0]) for row in rows]


def unheard(db: sqlite_utils.Database) -> list[tuple[GenerationRequest, str, str | None]]:
    """Builds that ended (``done`` or ``failed``, with the artifact's id) while their session
    still waits for them: the outcome's pub/sub message reached no instance that holds it."""
    rows = db.conn.execute(
        "SELECT g.id, g.session_key, g.job_id, g.language, g.answers, g.series, g.version, "
        "g.status, g.look, g.artifact_id FROM sessions s JOIN generations g "
        "ON g.id = s.generation_id WHERE s.state = 'generating' "
        "AND g.status IN ('done', 'failed')"
    ).fetchall()
    return [
        (
            GenerationRequest(
                id=row[0],
                session_key=row[1],
                job_id=row[2],
                language=row[3],
                answers=json.loads(row[4]),
                series=row[5],
                version=row[6],
                look=json.loads(row[8]) if row[8] else {},
            ),
            str(row[7]),
            row[9],
        )  # fmt: skip
        for row in rows
    ]


def finish(db: sqlite_utils.Database, task_id: int, artifact: Artifact) -> bool:
    """Store the artifact and close the task; False if it was cancelled meanwhile."""
    with writing(db):
        conn = db.conn
        row = conn.execute("SELECT status FROM generations WHERE id = ?", (task_id,)).fetchone()
        if row is None or row[0] != "running":
            return False
        artifacts.insert(conn, artifact)
        conn.execute(
            "UPDATE generations SET status = 'done', finished = ?, artifact_id = ? WHERE id = ?",
            (time.time(), artifact.id, task_id),
        )
    return True


def fail(db: sqlite_utils.Database, task_id: int, code: str, message: str) -> None:
    """Record a failed task with its reason for staff."""
    with writing(db):
        db.conn.execute(
            "UPDATE generations SET status = 'failed', finished = ?, error_code = ?, "
            "error_message = ? WHERE id = ? AND status = 'running'",
            (time.time(), code, message, task_id),
        )


def status(db: sqlite_utils.Database, task_id: int) -> str | None:
    """The status of one queued task."""
    row = db.conn.execute("SELECT status FROM generations WHERE id = ?", (task_id,)).fetchone()
    return row[0] if row else None


def depth(db: sqlite_utils.Database) -> int:
    """Tasks pending or running."""
    row = db.conn.execute(
        "SELECT count(*) FROM generations WHERE status IN ('pending', 'running')"
    ).fetchone()
    return int(row[0])
