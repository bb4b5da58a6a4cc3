"""Issue 17's backup figures: backup and restore time for 10,000 sessions.

The data folder is filled as ``scripts/bench_console_fill.py`` fills it for issue 16 (a few
conversations walked through the real dialog manager, copied to 10,000 sessions and 100,000
turns, every fifth session with a build), and every artifact row gets a folder of its own
with a page and its manifest, as the generation queue leaves them. Then, with one line each:

- ``assistant backup`` (``make_backup``): the database through SQLite's backup API, every
  artifact folder, the staff key; and the archive's size;
- ``assistant restore`` (``restore_archive``) into an empty folder, every member checked;
- Litestream: the first sync of that database to a folder replica, and ``restore --at``
  (``litestream restore -timestamp``) of it;
- PostgreSQL (``scripts/bench_backup_postgres.py``, unless ``--no-postgres``): the same rows
  in a throw-away cluster, ``assistant backup`` through ``pg_dump`` and ``assistant restore``
  through ``pg_restore`` into an empty database.

Run as ``scripts/bench --issue17-backup`` (``--sessions``, ``--turns`` follow it).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

from assistant.config import Settings
from assistant.staff.keys import session_key
from assistant.store.backup.archive import BackupSources, make_backup
from assistant.store.backup.litestream import Replica, Replicator, restore_at
from assistant.store.backup.manifest import BackupError
from assistant.store.backup.restore import RestoreTarget, restore_archive
from scripts.bench_console_fill import fill

PAGE = "<!doctype html><html lang=en><title>{id}</title><h1>Blue Bakery</h1>" + "<p>menu</p>" * 200


def _artifact_folders(settings: Settings) -> int:
    """A folder with a page and a manifest for every artifact row; rows point at them."""
    folders = 0
    with closing(sqlite3.connect(settings.database_path)) as db, db:
        for (artifact_id,) in db.execute("SELECT id FROM artifacts").fetchall():
            folder = settings.artifacts_dir / artifact_id
            folder.mkdir(parents=True, mode=0o700)
            (folder / "index.html").write_text(PAGE.format(id=artifact_id), encoding="utf-8")
            (folder / "manifest.json").write_text('{"job": "cafe_page"}', encoding="utf-8")
            db.execute("UPDATE artifacts SET folder=? WHERE id=?", (str(folder), artifact_id))
            folders += 1
    return folders


async def _replicated(replica: Replica, probe: Path, sessions: int) -> None:
    """Until the replica's newest state holds every session."""
    while True:
        try:
            await asyncio.to_thread(restore_at, replica, datetime.datetime.now(datetime.UTC), probe)
            with closing(sqlite3.connect(probe)) as db:
                if db.execute("SELECT count(*) FROM sessions").fetchone()[0] >= sessions:
                    return
        except BackupError:
            pass
        await asyncio.sleep(0.2)


async def _litestream(settings: Settings, work: Path, sessions: int) -> None:
    replica = Replica(settings.database_path.absolute(), f"file://{work / 'replica'}")
    replicator = Replicator(replica, quiet=True)
    started = time.perf_counter()
    replicator.start()
    try:
        await _replicated(replica, work / "probe.db", sessions)
    finally:
        await replicator.stop()
    print(f"litestream_first_sync_{sessions}_sessions: {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    await asyncio.to_thread(
        restore_at, replica, datetime.datetime.now(datetime.UTC), work / "at.db"
    )
    print(f"restore_at_time_{sessions}_sessions: {time.perf_counter() - started:.2f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite's figures only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        settings = Settings(data_dir=work / "data")
        started = time.perf_counter()
        asyncio.run(fill(settings.data_dir, args.sessions, args.turns))
        folders = _artifact_folders(settings)
        session_key("", settings.data_dir)
        print(f"fill_{args.sessions}_sessions_{args.turns}_turns: "
              f"{time.perf_counter() - started:.1f} s ({folders} artifact folders)")  # fmt: skip
        database = settings.database_path.stat().st_size
        print(f"database_size: {database / 1e6:.1f} MB")
        report = make_backup(BackupSources(settings.data_dir), work / "backup.tar.gz")
        sessions = report.manifest.counts["sessions"]
        print(f"backup_time_{sessions}_sessions: {report.seconds:.2f} s")
        print(f"backup_archive_size: {report.size / 1e6:.1f} MB "
              f"({len(report.manifest.members)} members)")  # fmt: skip
        restored = restore_archive(report.path, RestoreTarget(work / "restored"))
        print(f"restore_time_{sessions}_sessions: {restored.seconds:.2f} s")
        asyncio.run(_litestream(settings, work, sessions))
        if not args.no_postgres:
            from scripts.bench_backup_postgres import bench_postgres  # noqa: PLC0415 (psycopg)

            bench_postgres(settings.data_dir, work)


if __name__ == "__main__":
    main()
