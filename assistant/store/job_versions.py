"""Versions of job files (issue 16, part J) in the store's SQLite file: the
``JobVersionStore`` port of ``assistant/staff/job_editing.py``.

A job file's text is kept whole at every save from the staff console, with who saved it,
when and a note, so history, diff and rollback need nothing but this table. Reads and writes
run on the store's own connection and thread, like the staff accounts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlite_utils

from assistant.events import SessionState
from assistant.staff.job_editing import JobVersion
from assistant.store.transaction import writing

if TYPE_CHECKING:
    from assistant.store.sqlite import SQLiteStore

# Sessions in these states are not in a job (or are done with it).
_NOT_IN_JOB = (SessionState.WELCOME.value, SessionState.CHOOSE_JOB.value, SessionState.ENDED.value)


def add(db: sqlite_utils.Database, job_id: str, text: str, who: str, at: float, note: str) -> int:
    """Store the next version (blocking, one transaction); returns its number."""
    with writing(db):
        row = db.conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM job_versions WHERE job_id = ?", (job_id,)
        ).fetchone()
        version = int(row[0]) + 1
        db.conn.execute(
            "INSERT INTO job_versions (job_id, version, text, who, at, note) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (job_id, version, text, who, at, note),
        )
    return version


def versions(db: sqlite_utils.Database, job_id: str) -> list[JobVersion]:
    """Every version of one job, oldest first (blocking)."""
    rows = db.conn.execute(
        "SELECT job_id, version, text, who, at, note FROM job_versions WHERE job_id = ? "
        "ORDER BY version",
        (job_id,),
    ).fetchall()
    return [JobVersion(r[0], r[1], r[2], r[3], r[4], r[5] or "") for r in rows]


def sessions_in(db: sqlite_utils.Database, job_id: str) -> list[str]:
    """Keys of the sessions in the job and not done with it (blocking)."""
    marks = ", ".join("?" for _ in _NOT_IN_JOB)
    rows = db.conn.execute(
        f"SELECT key FROM sessions WHERE job_id = ? AND state NOT IN ({marks})",
        (job_id, *_NOT_IN_JOB),
    ).fetchall()
    return [row[0] for row in rows]


def started(db: sqlite_utils.Database) -> list[tuple[str, str, str]]:
    """(key, job id, job digest) of every session in a job and not done with it, whose
    started version is known (blocking)."""
    marks = ", ".join("?" for _ in _NOT_IN_JOB)
    rows = db.conn.execute(
        "SELECT key, job_id, job_digest FROM sessions WHERE job_id IS NOT NULL "
        f"AND job_digest IS NOT NULL AND state NOT IN ({marks}) ORDER BY key",
        _NOT_IN_JOB,
    ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


class SQLiteJobVersions:
    """The ``JobVersionStore`` port over the store's database."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def add(self, job_id: str, text: str, who: str, at: float, note: str) -> JobVersion:
        """Keep ``text`` as the job's next version."""
        number = await self._store.run(lambda: add(self._store.db, job_id, text, who, at, note))
        return JobVersion(job_id, number, text, who, at, note)

    async def versions(self, job_id: str) -> list[JobVersion]:
        """Every version of the job, oldest first."""
        return await self._store.run(lambda: versions(self._store.db, job_id))

    async def sessions_in(self, job_id: str) -> list[str]:
        """Keys of the sessions now in the job."""
        return await self._store.run(lambda: sessions_in(self._store.db, job_id))

    async def started(self) -> list[tuple[str, str, str]]:
        """(key, job id, job digest) of the sessions in a job, with the version they started."""
        return await self._store.run(lambda: started(self._store.db))
