"""Artifacts and their download tokens in PostgreSQL (files and manifest as ``jsonb``)."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from assistant.session import Artifact
from assistant.store.postgres.database import Connection

COLUMNS = (
    "id, series, version, session_key, job_id, folder, files, manifest, created, token, expires"
)


async def insert(conn: Connection, artifact: Artifact) -> None:
    """Record a finished artifact, inside the caller's transaction."""
    await conn.execute(
        f"INSERT INTO artifacts ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            artifact.id, artifact.series, artifact.version, artifact.session_key,
            artifact.job_id, artifact.folder, Jsonb(list(artifact.files)),
            Jsonb(artifact.manifest), artifact.created, artifact.token, artifact.expires,
        ),
    )  # fmt: skip


async def by_id(conn: Connection, artifact_id: str) -> Artifact | None:
    """One stored artifact by its id."""
    cursor = await conn.execute(f"SELECT {COLUMNS} FROM artifacts WHERE id = %s", (artifact_id,))
    return from_row(await cursor.fetchone())


async def by_token(conn: Connection, token: str) -> Artifact | None:
    """The artifact a download or preview link names (expiry is the caller's to check)."""
    cursor = await conn.execute(f"SELECT {COLUMNS} FROM artifacts WHERE token = %s", (token,))
    return from_row(await cursor.fetchone())


def from_row(row: tuple[Any, ...] | None) -> Artifact | None:
    """The artifact of a row whose first columns are ``COLUMNS`` (None for no row)."""
    if row is None:
        return None
    return Artifact(
        id=row[0], series=row[1], version=row[2], session_key=row[3], job_id=row[4],
        folder=row[5], files=tuple(row[6]), manifest=row[7], created=row[8],
        token=row[9] or "", expires=row[10],
    )  # fmt: skip
