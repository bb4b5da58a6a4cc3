"""The generation queue in PostgreSQL: a table several instances' workers take from at once.

A claim is one statement: the oldest waiting row is locked with ``FOR UPDATE SKIP LOCKED`` and
marked running, so two workers in two processes never get the same task and never wait on
each other (the second skips the row the first holds and takes the next). The claimer's lease
(``lease.py``) tags the row; ``requeue_interrupted`` puts back only the tasks whose owner's
lease is gone, never those a live instance is building.
"""

from __future__ import annotations

import time

from psycopg.types.json import Jsonb

from assistant.ports import GenerationTask
from assistant.session import Artifact, GenerationRequest
from assistant.store.postgres import artifacts
from assistant.store.postgres.database import Connection
from assistant.store.postgres.lease import HELD

_INSERT = (
    "INSERT INTO generations (session_key, job_id, language, answers, series, version, look, "
    "status, attempts, owner, created, started) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)


async def _insert(
    conn: Connection, request: GenerationRequest, now: float, owner: int | None
) -> int:
    running = owner is not None
    cursor = await conn.execute(
        _INSERT,
        (
            request.session_key, request.job_id, request.language, Jsonb(request.answers),
            request.series, request.version, Jsonb(request.look) if request.look else None,
            "running" if running else "pending", 1 if running else 0, owner, now,
            now if running else None,
        ),
    )  # fmt: skip
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def enqueue(conn: Connection, request: GenerationRequest, now: float) -> int:
    """A waiting task, inside the caller's transaction; returns its id."""
    return await _insert(conn, request, now, None)


async def enqueue_running(conn: Connection, request: GenerationRequest, owner: int) -> int:
    """A task the caller runs at once itself (``assistant generate``), already its own."""
    return await _insert(conn, request, time.time(), owner)


async def cancel(conn: Connection, task_id: int, now: float) -> None:
    """Cancel a task that waits or runs, inside the caller's transaction."""
    await conn.execute(
        "UPDATE generations SET status = 'cancelled', finished = %s "
        "WHERE id = %s AND status IN ('pending', 'running')",
        (now, task_id),
    )


async def requeue_interrupted(conn: Connection, owner: int) -> int:
    """Running tasks whose owner's lease is gone (a process that died) wait again."""
    cursor = await conn.execute(
        "UPDATE generations g SET status = 'pending', owner = NULL "
        "WHERE g.status = 'running' AND g.owner IS DISTINCT FROM %s AND (g.owner IS NULL OR "
        f"NOT {HELD.format(owner='g.owner')})",
        (owner,),
    )
    return cursor.rowcount


async def claim_next(conn: Connection, owner: int) -> GenerationTask | None:
    """Mark the oldest waiting task running for ``owner`` and return it, or None."""
    cursor = await conn.execute(
        "UPDATE generations SET status = 'running', attempts = attempts + 1, started = %s, "
        "owner = %s WHERE id = (SELECT id FROM generations WHERE status = 'pending' "
        "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, session_key, job_id, language, answers, series, version, attempts, look",
        (time.time(), owner),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    request = GenerationRequest(
        id=row[0], session_key=row[1], job_id=row[2], language=row[3], answers=row[4],
        series=row[5], version=row[6], look=row[8] or {},
    )  # fmt: skip
    return GenerationTask(request=request, attempts=row[7])


async def finish(conn: Connection, task_id: int, artifact: Artifact) -> bool:
    """Store the artifact and close the task, inside the caller's transaction; False if the
    task was cancelled meanwhile (the row lock orders this against a turn's cancel)."""
    cursor = await conn.execute(
        "SELECT status FROM generations WHERE id = %s FOR UPDATE", (task_id,)
    )
    row = await cursor.fetchone()
    if row is None or row[0] != "running":
        return False
    await artifacts.insert(conn, artifact)
    await conn.execute(
        "UPDATE generations SET status = 'done', finished = %s, artifact_id = %s WHERE id = %s",
        (time.time(), artifact.id, task_id),
    )
    return True


async def fail(conn: Connection, task_id: int, code: str, message: str) -> None:
    """Record a failed task with its reason for staff; it is not retried."""
    await conn.execute(
        "UPDATE generations SET status = 'failed', finished = %s, error_code = %s, "
        "error_message = %s WHERE id = %s AND status = 'running'",
        (time.time(), code, message, task_id),
    )


async def status(conn: Connection, task_id: int) -> str | None:
    """The status of one queued task."""
    cursor = await conn.execute("SELECT status FROM generations WHERE id = %s", (task_id,))
    row = await cursor.fetchone()
    return str(row[0]) if row else None


async def depth(conn: Connection) -> int:
    """Tasks waiting or running."""
    cursor = await conn.execute(
        "SELECT count(*) FROM generations WHERE status IN ('pending', 'running')"
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0
