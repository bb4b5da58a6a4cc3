"""Issue 17's PostgreSQL backup figures, beside SQLite's in ``scripts/bench_backup.py``.

The same history the SQLite part measured (its sessions, turns and artifacts, read from the
filled ``assistant.db``) is copied into a throw-away cluster (``testing/postgres.py``) with
``COPY``, into the schema ``PostgresStore`` migrates; then ``make_backup`` with that
``database_url`` (``pg_dump`` plus the same artifact folders) and ``restore_archive`` into an
empty database of the same cluster (``pg_restore`` in one transaction, plus the files).
The cluster runs with ``fsync=off`` (it is thrown away): a server that syncs restores slower.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from assistant.store.backup.archive import BackupSources, make_backup
from assistant.store.backup.restore import RestoreTarget, restore_archive
from assistant.store.postgres.store import PostgresStore
from testing.postgres import running_postgres

TABLES = ("sessions", "turns", "artifacts")
RENAMED = {"index": "idx"}  # SQLite's column name -> PostgreSQL's
GENERATED = {"id"}  # turns' identity column: PostgreSQL numbers the rows itself


async def _schema(url: str) -> None:
    store = PostgresStore(url, pool_size=1)
    await store.open()  # applies the migrations
    await store.close()


def _columns(conn: psycopg.Connection[Any], table: str) -> set[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
    )
    return {str(name) for (name,) in rows}


def _copy_history(sqlite_path: Path, url: str) -> dict[str, int]:
    """Every row of ``TABLES`` from the SQLite database into PostgreSQL; rows per table."""
    copied = {}
    with closing(sqlite3.connect(sqlite_path)) as source, psycopg.connect(url) as conn:
        for table in TABLES:
            wanted = _columns(conn, table)
            cursor = source.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed names)
            names = [column[0] for column in cursor.description]
            keep = [
                (n, RENAMED.get(name, name))
                for n, name in enumerate(names)
                if RENAMED.get(name, name) in wanted
                and not (table == "turns" and name in GENERATED)
            ]
            target = sql.SQL(", ").join(sql.Identifier(name) for _, name in keep)
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), target)
            count = 0
            with conn.cursor().copy(statement) as copy:
                for row in cursor:
                    copy.write_row([_value(row[n]) for n, _ in keep])
                    count += 1
            copied[table] = count
    return copied


def _value(value: Any) -> Any:
    """SQLite's 0/1 flags as PostgreSQL reads booleans from COPY; JSON text stays text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def bench_postgres(data_dir: Path, work: Path) -> None:
    """Print PostgreSQL's backup and restore times for the history in ``data_dir``."""
    with running_postgres() as server:
        source, empty = server.create_database(), server.create_database()
        url, target_url = server.url(source), server.url(empty)
        asyncio.run(_schema(url))
        started = time.perf_counter()
        copied = _copy_history(data_dir / "assistant.db", url)
        print(f"postgres_fill_by_copy: {time.perf_counter() - started:.1f} s ({copied})")
        report = make_backup(BackupSources(data_dir, database_url=url), work / "pg.tar.gz")
        sessions = report.manifest.counts["sessions"]
        print(f"postgres_backup_time_{sessions}_sessions: {report.seconds:.2f} s "
              f"(pg_dump {report.manifest.versions['pg_dump']}, "
              f"server {report.manifest.versions['postgresql']}, fsync off)")  # fmt: skip
        print(f"postgres_backup_archive_size: {report.size / 1e6:.1f} MB "
              f"({len(report.manifest.members)} members)")  # fmt: skip
        target = RestoreTarget(work / "restored-pg", database_url=target_url)
        restored = restore_archive(report.path, target)
        with psycopg.connect(target_url) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM turns)"
            ).fetchone()
        back = f"{row[0]} sessions and {row[1]} turns back" if row else "nothing back"
        print(f"postgres_restore_time_{sessions}_sessions: {restored.seconds:.2f} s "
              f"(into an empty database; {back})")  # fmt: skip
