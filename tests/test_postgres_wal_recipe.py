"""The README's recipe for a PostgreSQL restore to a moment ("PostgreSQL: WAL archiving and
restore to a time"), run step by step on a throw-away cluster of its own (its settings change
and it restarts, so not the shared test server): WAL archived by ``archive_command``, a base
backup by ``pg_basebackup``, sessions written before and after a moment, the data folder
lost, and recovery with ``restore_command`` and ``recovery_target_time`` giving back exactly
the sessions written before the moment. ``assistant restore --at`` refuses PostgreSQL and
names this recipe, so the recipe must work."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from assistant.ports import TurnEffects
from assistant.session import Session, TurnRecord
from assistant.store.postgres.store import PostgresStore
from testing.postgres import SUPERUSER, PostgresServer, server_binaries, temporary_base

pytestmark = pytest.mark.slow  # its own cluster, started twice


async def _sessions(url: str, prefix: str, count: int) -> None:
    store = PostgresStore(url, pool_size=1)
    await store.open()
    try:
        for n in range(count):
            session = Session(key=f"web:{prefix}{n}", language="en", channel="web")
            record = TurnRecord(session.key, 1.0, "web", prefix, "welcome", "welcome", [])
            await store.commit_turn(session, record, TurnEffects())
    finally:
        await store.close()


def _keys(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {str(key) for (key,) in conn.execute("SELECT key FROM sessions")}


def _as_owner(server: PostgresServer, *command: str) -> None:
    done = server.run_as_owner(*command)  # as the README's steps run them: as ``postgres``
    assert done.returncode == 0, done.stderr


def _archived(server: PostgresServer, url: str) -> None:
    """Close the current WAL segment and wait until archive_command has shipped it."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        segment = str(row[0]) if row else ""
        while True:
            row = conn.execute(
                "SELECT last_archived_wal, failed_count FROM pg_stat_archiver"
            ).fetchone()
            assert row is not None and not row[1], f"archive_command failed: {server.log}"
            if row[0] is not None and str(row[0]) >= segment:
                return
            conn.execute("SELECT pg_sleep(0.05)")  # the archiver runs in its own process


async def test_the_readmes_wal_archiving_recipe_restores_the_database_to_a_moment() -> None:
    folder = Path(tempfile.mkdtemp(prefix="assistant-pitr-", dir=temporary_base()))
    server = PostgresServer(folder, server_binaries())
    wal, base = folder / "pg-wal", folder / "pg-base"
    try:
        server.init()
        _as_owner(server, "mkdir", "-m", "0700", str(wal))
        with (server.data / "postgresql.conf").open("a") as conf:  # the README's step 1
            conf.write(
                "wal_level = replica\narchive_mode = on\n"
                f"archive_command = 'test ! -f {wal}/%f && cp %p {wal}/%f'\n"
                "archive_timeout = 60\n"
            )
        server.start()
        name = server.create_database()
        await _sessions(server.url(name), "before", 3)
        address = ("-h", "127.0.0.1", "-p", str(server.port), "-U", SUPERUSER)
        basebackup = str(server.binaries / "pg_basebackup")  # the README's step 2
        _as_owner(
            server, basebackup, "-D", str(base), "-Fp", "-X", "stream", "-c", "fast", *address
        )
        await _sessions(server.url(name), "wanted", 4)
        with psycopg.connect(server.url(name)) as conn:
            row = conn.execute("SELECT clock_timestamp()::text").fetchone()
            moment = str(row[0]) if row else ""
        await _sessions(server.url(name), "lost", 5)
        _archived(server, server.url(name))
        assert len(_keys(server.url(name))) == 12

        server.stop()  # step 3: the data folder aside, the base backup in its place
        _as_owner(server, "mv", str(server.data), f"{server.data}.lost")
        _as_owner(server, "cp", "-a", str(base), str(server.data))
        with (server.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"restore_command = 'cp {wal}/%f %p'\n"
                f"recovery_target_time = '{moment}'\nrecovery_target_action = 'promote'\n"
            )
        _as_owner(server, "touch", str(server.data / "recovery.signal"))
        server.start()
        with psycopg.connect(server.url(), autocommit=True) as conn:
            while conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
                conn.execute("SELECT pg_sleep(0.05)")  # promoted once the moment is reached
        keys = _keys(server.url(name))
        assert {key.split(":")[1].rstrip("0123456789") for key in keys} == {"before", "wanted"}
        assert len(keys) == 7
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
