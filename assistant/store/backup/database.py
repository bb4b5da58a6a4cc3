"""The SQLite side of a backup: copies made with the online backup API, and their checks.

A database the service is writing cannot be copied as a file: the copy could hold half of a
transaction, and the newest ones live in the WAL beside it. SQLite's backup API copies one
consistent snapshot while writers go on (in WAL mode a reader never blocks them). The same
copy serves every SQLite file in the data folder (the knowledge base's ``chroma.sqlite3``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import sqlite_utils

from assistant.store.backup.manifest import BackupError
from assistant.store.migrations import MIGRATIONS

SQLITE_HEADER = b"SQLite format 3\x00"
SIDECARS = ("-wal", "-shm", "-journal")
_BUSY_TIMEOUT_S = 30.0


def is_sqlite(path: Path) -> bool:
    """Whether ``path`` is a SQLite database file (by its header)."""
    try:
        with path.open("rb") as stream:
            return stream.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def copy_database(source: Path, copy: Path) -> None:
    """One consistent snapshot of ``source`` (open or not, written or not) into ``copy``."""
    if not source.is_file():  # connecting would create an empty database
        raise BackupError("no_database", path=source)
    src = sqlite3.connect(source, timeout=_BUSY_TIMEOUT_S)
    try:
        dest = sqlite3.connect(copy)
        try:
            src.backup(dest)  # every page in one step: one snapshot, writers not blocked
        finally:
            dest.close()
    except sqlite3.DatabaseError as err:
        raise BackupError("database_unreadable", path=source, detail=str(err)) from err
    finally:
        src.close()


def known_migrations() -> tuple[str, ...]:
    """The schema migrations this version of the assistant knows, in order."""
    return tuple(m.name for m in MIGRATIONS.pending(sqlite_utils.Database(memory=True)))


def describe(path: Path) -> tuple[tuple[str, ...], dict[str, int]]:
    """The migrations a database copy has applied, and how many sessions, turns and
    artifacts it holds (for the manifest and the command's report)."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        applied: tuple[str, ...] = ()
        if "_sqlite_migrations" in tables:
            applied = tuple(
                row[0]
                for row in db.execute(
                    "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
                    (MIGRATIONS.name,),
                )
            )
        counts = {
            table: int(db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])
            for table in ("sessions", "turns", "artifacts")
            if table in tables
        }
    return applied, counts


def check_restored(path: Path, archive: Path) -> None:
    """A restored database must be whole, and not newer than this version understands."""
    try:
        with contextlib.closing(sqlite3.connect(path)) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as err:
        raise BackupError("damaged", file=archive, detail=f"{path.name}: {err}") from err
    if verdict != "ok":
        raise BackupError("damaged", file=archive, detail=f"{path.name}: {verdict}")
    applied, _ = describe(path)
    unknown = [name for name in applied if name not in known_migrations()]
    if unknown:
        raise BackupError("newer_schema", file=archive, migrations=", ".join(unknown))


def in_use(path: Path) -> bool:
    """Whether another process has the database open (a running service, a command, or
    Litestream): an exclusive lock cannot be had while any connection holds it. Asked
    without waiting and without writing."""
    if not path.is_file():
        return False
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("PRAGMA locking_mode=EXCLUSIVE")
        probe.execute("BEGIN EXCLUSIVE")
        probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        probe.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()
    return False


def relocate_artifacts(path: Path, staged_artifacts: Path, artifacts_dir: Path) -> int:
    """Point the restored database's artifact rows at the restored folders.

    A row keeps its artifact's folder as the path it was made at (``<data_dir>/artifacts/<id>``);
    restored into another data folder, or on another machine, that path names nothing. A row
    whose folder is restored (in ``staged_artifacts`` now, ``artifacts_dir`` once in place) is
    pointed there; others are left as they were. Returns how many rows changed."""
    changed = 0
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if "artifacts" not in tables:
            return 0
        for artifact_id, folder in db.execute("SELECT id, folder FROM artifacts").fetchall():
            name = Path(folder or "").name
            wanted = str(artifacts_dir / name)
            if name and folder != wanted and (staged_artifacts / name).is_dir():
                db.execute("UPDATE artifacts SET folder = ? WHERE id = ?", (wanted, artifact_id))
                changed += 1
    return changed
