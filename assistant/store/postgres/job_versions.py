"""Versions of job files in PostgreSQL: the ``JobVersionStore`` port of
``assistant/staff/job_editing.py``, as ``assistant/store/job_versions.py`` serves it on SQLite.

Two instances may save the same job at once. The next number is read and written in one
transaction that first takes a transaction-level advisory lock on the job (the two-key form,
class ``JOB_VERSION_LOCK``: a key space apart from the one-key leases of ``lease.py``), so
the second save waits for the first to commit and then numbers after it: no two versions
share a number, none is refused, none is lost.
"""

from __future__ import annotations

from assistant.events import SessionState
from assistant.staff.job_editing import JobVersion
from assistant.store.postgres.database import Connection, Database

JOB_VERSION_LOCK = 0x4A6F_6256  # "JobV": the advisory lock class of job saves
# Sessions in these states are not in a job (or are done with it).
_NOT_IN_JOB = [SessionState.WELCOME.value, SessionState.CHOOSE_JOB.value, SessionState.ENDED.value]


async def add(conn: Connection, job_id: str, text: str, who: str, at: float, note: str) -> int:
    """Store the next version inside the caller's transaction; returns its number."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (JOB_VERSION_LOCK, job_id))
    cursor = await conn.execute(
        "INSERT INTO job_versions (job_id, version, text, who, at, note) "
        "SELECT %(job)s, coalesce(max(version), 0) + 1, %(text)s, %(who)s, %(at)s, %(note)s "
        "FROM job_versions WHERE job_id = %(job)s RETURNING version",
        {"job": job_id, "text": text, "who": who, "at": at, "note": note},
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def versions(conn: Connection, job_id: str) -> list[JobVersion]:
    """Every version of one job, oldest first."""
    cursor = await conn.execute(
        "SELECT job_id, version, text, who, at, note FROM job_versions WHERE job_id = %s "
        "ORDER BY version",
        (job_id,),
    )
    return [JobVersion(r[0], r[1], r[2], r[3], r[4], r[5] or "") for r in await cursor.fetchall()]


async def sessions_in(conn: Connection, job_id: str) -> list[str]:
    """Keys of the sessions in the job and not done with it."""
    cursor = await conn.execute(
        'SELECT key FROM sessions WHERE job_id = %s AND state <> ALL(%s) ORDER BY key COLLATE "C"',
        (job_id, _NOT_IN_JOB),
    )
    return [str(row[0]) for row in await cursor.fetchall()]


async def started(conn: Connection) -> list[tuple[str, str, str]]:
    """(key, job id, job digest) of every session in a job and not done with it, whose
    started version is known, by key (SQLite's byte order)."""
    cursor = await conn.execute(
        "SELECT key, job_id, job_digest FROM sessions WHERE job_id IS NOT NULL "
        'AND job_digest IS NOT NULL AND state <> ALL(%s) ORDER BY key COLLATE "C"',
        (_NOT_IN_JOB,),
    )
    return [(str(r[0]), str(r[1]), str(r[2])) for r in await cursor.fetchall()]


class PostgresJobVersions:
    """The ``JobVersionStore`` port over the store's pool."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, job_id: str, text: str, who: str, at: float, note: str) -> JobVersion:
        """Keep ``text`` as the job's next version."""
        async with self._db.transaction() as conn:
            number = await add(conn, job_id, text, who, at, note)
        return JobVersion(job_id, number, text, who, at, note)

    async def versions(self, job_id: str) -> list[JobVersion]:
        """Every version of the job, oldest first."""
        async with self._db.connection() as conn:
            return await versions(conn, job_id)

    async def sessions_in(self, job_id: str) -> list[str]:
        """Keys of the sessions now in the job."""
        async with self._db.connection() as conn:
            return await sessions_in(conn, job_id)

    async def started(self) -> list[tuple[str, str, str]]:
        """(key, job id, job digest) of the sessions in a job, with the version they started."""
        async with self._db.connection() as conn:
            return await started(conn)
