"""Artifacts and their download tokens in SQLite: blocking functions run on the store's thread."""

from __future__ import annotations

import json
import sqlite3

from assistant.session import Artifact

_COLUMNS = (
    "id, series, version, session_key, job_id, folder, files, manifest, created, token, expires"
)


def insert(conn: sqlite3.Connection, artifact: Artifact) -> None:
    """Record a finished artifact, inside the caller's transaction."""
    conn.execute(
        f"INSERT INTO artifacts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            artifact.id, artifact.series, artifact.version, artifact.session_key,
            artifact.job_id, artifact.folder, json.dumps(list(artifact.files)),
            json.dumps(artifact.manifest, ensure_ascii=False), artifact.created,
            artifact.token, artifact.expires,
        ),
    )  # fmt: skip


def by_id(conn: sqlite3.Connection, artifact_id: str) -> Artifact | None:
    """One stored artifact by its id."""
    return _where(conn, "id", artifact_id)


def by_token(conn: sqlite3.Connection, token: str) -> Artifact | None:
    """The artifact a download or preview link names (expiry is the caller's to check)."""
    return _where(conn, "token", token)


def _where(conn: sqlite3.Connection, column: str, value: str) -> Artifact | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM artifacts WHERE {column} = ?", (value,)).fetchone()
    if row is None:
        return None
    return Artifact(
        id=row[0], series=row[1], version=row[2], session_key=row[3], job_id=row[4],
        folder=row[5], files=tuple(json.loads(row[6])), manifest=json.loads(row[7]),
        created=row[8], token=row[9] or "", expires=row[10],
    )  # fmt: skip
