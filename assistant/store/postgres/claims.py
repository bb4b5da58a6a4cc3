"""The generation queue as Celery workers work it, in PostgreSQL: a task claimed by its id.

The same rules as SQLite's ``generations.claim``/``unbuilt``/``unheard``, for workers on
several machines at once. A claim is one conditional ``UPDATE``: of two workers handed the
same message, the second waits for the first's row lock, then finds the row running with a
fresh claim and takes nothing. A claim older than the lease (its worker died, its message came
again) is taken over; a task that ended (done, failed, cancelled) is never taken again, so a
message delivered twice builds once. The claim also tags the row with the claiming store's
lease (``lease.py``), so an in-process queue starting on the same database never puts a live
worker's task back in line (``queue.requeue_interrupted``).

Times are the callers' seconds, as in SQLite: the instances and workers of a cluster are
expected to keep their clocks in step (NTP); a lease is tens of seconds past the build timeout.
"""

from __future__ import annotations

import time
from typing import Any

from assistant.ports import GenerationTask
from assistant.session import GenerationRequest
from assistant.store.postgres.database import Connection

_REQUEST = "id, session_key, job_id, language, answers, series, version, look"


async def claim(
    conn: Connection, task_id: int, lease_s: float, owner: int
) -> GenerationTask | None:
    """Mark ``task_id`` running for ``owner`` if it waits or its claim is older than
    ``lease_s``; the task with its attempts, or None (taken, ended, or no such task)."""
    now = time.time()
    cursor = await conn.execute(
        "UPDATE generations SET status = 'running', attempts = attempts + 1, started = %s, "
        "owner = %s WHERE id = %s AND (status = 'pending' OR (status = 'running' AND "
        f"started < %s)) RETURNING {_REQUEST}, attempts",
        (now, owner, task_id, now - lease_s),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return GenerationTask(request=_request(row), attempts=int(row[8]))


async def unbuilt(conn: Connection, stale_before: float) -> list[int]:
    """Tasks no worker is known to build: waiting, or running with a claim older than
    ``stale_before`` (a time); the Celery sweep sends them again."""
    cursor = await conn.execute(
        "SELECT id FROM generations WHERE status = 'pending' "
        "OR (status = 'running' AND started < %s) ORDER BY id",
        (stale_before,),
    )
    return [int(row[0]) for row in await cursor.fetchall()]


async def unheard(conn: Connection) -> list[tuple[GenerationRequest, str, str | None]]:
    """Builds that ended (``done`` or ``failed``, with the artifact's id) while their session
    still waits for them: the outcome's pub/sub message reached no instance that holds it."""
    cursor = await conn.execute(
        "SELECT g.id, g.session_key, g.job_id, g.language, g.answers, g.series, g.version, "
        "g.look, g.status, g.artifact_id FROM sessions s JOIN generations g "
        "ON g.id = s.generation_id WHERE s.state = 'generating' "
        "AND g.status IN ('done', 'failed') ORDER BY g.id"
    )
    return [(_request(row), str(row[8]), row[9]) for row in await cursor.fetchall()]


def _request(row: tuple[Any, ...]) -> GenerationRequest:
    """The request of a row whose first columns are ``_REQUEST``."""
    return GenerationRequest(
        id=int(row[0]), session_key=row[1], job_id=row[2], language=row[3], answers=row[4],
        series=row[5], version=int(row[6]), look=row[7] or {},
    )  # fmt: skip
