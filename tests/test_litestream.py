"""Litestream (issue 17): the database replicated while the service writes, restored as it
was at a moment between two, from a folder replica and from a real S3 server (SeaweedFS);
``assistant serve`` running it as its child and stopping it, even when killed.

The replicator is the one ``assistant serve`` starts (``replication_for_serve``), beside the
real service composition; "replicated" is waited for by restoring the newest state until it
holds the sessions written, never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from assistant.cli.main import main
from assistant.config import Settings, load_settings
from assistant.errors import ConfigError
from assistant.store.backup.litestream import (
    Replica,
    Replicator,
    litestream_binary,
    replication_for_serve,
    restore_at,
)
from assistant.store.backup.manifest import BackupError
from assistant.store.checkpoint import Checkpointer
from testing.backup_data import SETTINGS_TOML, database_picture, running_services, write_sessions
from testing.s3_server import S3Server, seaweed_s3

REPLICATED_S = 90.0  # a sync a second, on a busy machine


# -- settings and the generated configuration (fast) ----------------------------------------


@pytest.mark.parametrize(
    "url", ["file:///srv/replica", "s3://bucket/facility/db", "s3://bucket", ""]
)
def test_a_replica_address_is_a_folder_or_a_bucket(url: str) -> None:
    assert load_settings(None, {}, litestream_replica_url=url).litestream_replica_url == url


@pytest.mark.parametrize(
    "url",
    ["/srv/replica", "file://relative/x", "http://example.com/db", "s3://key:secret@bucket/x",
     "s3:///path"],
)  # fmt: skip
def test_a_wrong_replica_address_stops_start_up_naming_the_key(url: str) -> None:
    with pytest.raises(ConfigError, match="litestream_replica_url"):
        load_settings(None, {}, litestream_replica_url=url)


def test_keys_reach_litestream_in_its_environment_never_in_its_file_or_a_repr() -> None:
    settings = load_settings(
        None, {"AWS_CA_BUNDLE": "/x"},
        litestream_replica_url="s3://backups/facility", litestream_s3_endpoint="http://127.0.0.1:9",
        litestream_s3_access_key_id="AKIAFACILITY", litestream_s3_secret_access_key="very-secret-1",
    )  # fmt: skip
    replica = Replica.from_settings(settings)
    assert replica is not None
    text = replica.config_text()
    assert "AKIAFACILITY" not in text and "very-secret-1" not in text
    assert "force-path-style: true" in text and "endpoint: http://127.0.0.1:9" in text
    assert "very-secret-1" not in repr(settings) and "AKIAFACILITY" not in repr(settings)
    env = replica.environment()
    assert env["LITESTREAM_SECRET_ACCESS_KEY"] == "very-secret-1"
    assert "AWS_CA_BUNDLE" not in env
    assert replication_for_serve(replace(settings, litestream_with_serve=False)) is None
    assert replication_for_serve(replace(settings, litestream_replica_url="")) is None


@pytest.mark.parametrize(("truncate", "wal_left"), [(True, False), (False, True)])
def test_under_litestream_the_service_s_checkpoints_never_truncate_the_log(
    tmp_path: Path, truncate: bool, wal_left: bool
) -> None:
    """Litestream holds a read transaction: a TRUNCATE would wait out its busy timeout with
    the writers held back, then fail. Replicated, the store only copies pages back."""
    path = tmp_path / "db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (x)")
    db.executemany("INSERT INTO t VALUES (?)", [("x" * 100,)] * 500)
    db.commit()
    checkpointer = Checkpointer(path, truncate=truncate)
    checkpointer.stop()  # its last checkpoint
    try:
        assert (Path(f"{path}-wal").stat().st_size > 0) is wal_left
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 500
    finally:
        db.close()


# -- replication and restore at a time (slow: Litestream, SeaweedFS) -------------------------


def _config(tmp_path: Path, data: Path, lines: str) -> Path:
    config = tmp_path / "assistant.toml"
    config.write_text(SETTINGS_TOML + f'data_dir = "{data}"\n' + lines, encoding="utf-8")
    return config


async def _cli(config: Path, *argv: str | Path) -> int:
    return await asyncio.to_thread(main, ["--config", str(config), *map(str, argv)])


async def _replicated(replica: Replica, keys: set[str], probe: Path) -> None:
    """Until the newest state in the replica holds the sessions ``keys``."""
    async with asyncio.timeout(REPLICATED_S):
        while True:
            with contextlib.suppress(BackupError):
                now = datetime.datetime.now(datetime.UTC)
                await asyncio.to_thread(restore_at, replica, now, probe)
                if keys <= set(database_picture(probe)["sessions"]):
                    return
            await asyncio.sleep(0.2)


async def _two_moments(
    settings: Settings, tmp_path: Path, *, archive: Path | None = None
) -> tuple[datetime.datetime, dict, set[str]]:
    """Sessions written in two moments while Litestream replicates; the moment between
    them, the database's picture at the first, and every key written. With ``archive``, an
    ``assistant backup`` is taken at the first moment too."""
    replica = Replica.from_settings(settings)
    replicator = replication_for_serve(settings)
    assert replica is not None and replicator is not None
    probe = tmp_path / "probe.db"
    try:
        async with running_services(settings) as services:
            replicator.start()  # as `assistant serve` does, once the database is open
            first = {a.session_key for a in await write_sessions(services, "first", 2)}
            await _replicated(replica, first, probe)
            picture = database_picture(settings.database_path)
            if archive is not None:
                assert await asyncio.to_thread(main, ["backup", "--to", str(archive)]) == 0
            between = datetime.datetime.now(datetime.UTC)
            await _past(between.timestamp() + 0.005)  # no write shares its millisecond
            second = {a.session_key for a in await write_sessions(services, "second", 2)}
            await _replicated(replica, first | second, probe)
    finally:
        await replicator.stop()  # after the database closed, as `assistant serve` does
    assert replicator.starts == 1, "Litestream ran once, without dying"
    return between, picture, first | second


async def _past(moment: float) -> None:
    """Until the clock reads past ``moment``."""
    while True:
        if time.time() > moment:
            return
        await asyncio.sleep(0.001)


def _same_moment(restored: Path, picture: dict) -> None:
    now = database_picture(restored)
    for part in ("sessions", "turns", "artifacts"):
        assert now[part] == picture[part], part


@pytest.mark.slow
async def test_a_folder_replica_restores_the_database_as_it_was_between_two_moments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    replica_dir = tmp_path / "replica"
    config = _config(tmp_path, data, f'litestream_replica_url = "file://{replica_dir}"\n')
    monkeypatch.setenv("ASSISTANT_CONFIG", str(config))
    settings = load_settings(config)
    archive = tmp_path / "first.tar.gz"
    between, first, keys = await _two_moments(settings, tmp_path, archive=archive)
    assert len(keys) == 4 and len(first["sessions"]) == 2
    assert any(replica_dir.rglob("*.ltx")), "Litestream wrote to the folder"

    shutil.rmtree(data)  # the machine's data folder is lost
    at = between.astimezone().isoformat()  # staff give local time; zones are understood
    assert await _cli(config, "restore", "--at", at) == 0
    _same_moment(data / "assistant.db", first)
    assert "as it was at" in capsys.readouterr().out

    # Newest state, only the database replaced: the old one is moved aside, not deleted.
    now = datetime.datetime.now().isoformat()
    assert await _cli(config, "restore", "--at", now) == 1
    assert "add --force" in capsys.readouterr().err
    assert await _cli(config, "restore", "--at", now, "--force") == 0
    assert set(database_picture(data / "assistant.db")["sessions"]) == keys
    assert any(data.glob("assistant.db.replaced-*")), "the replaced database is kept"

    # The files from the archive of the first moment, the database from Litestream.
    restored = tmp_path / "again"
    assert await _cli(config, "restore", archive, "--at", at, "--data-dir", restored) == 0
    _same_moment(restored / "assistant.db", first)
    folders = {row[1] for row in first["artifacts"].values()}
    assert folders and all((restored / "artifacts" / name).is_dir() for name in folders)


@pytest.mark.slow
async def test_an_s3_replica_on_seaweedfs_restores_at_a_time_and_keeps_its_keys_out_of_logs(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    async with seaweed_s3(tmp_path / "s3") as s3:
        data = tmp_path / "data"
        config = _config(tmp_path, data, _s3_lines(s3))
        settings = load_settings(config)
        between, first, keys = await _two_moments(settings, tmp_path)
        shutil.rmtree(data)
        assert await _cli(config, "restore", "--at", between.isoformat()) == 0
        _same_moment(data / "assistant.db", first)

        # The keys are what lets Litestream in: a wrong secret is refused by the store.
        wrong = Replica.from_settings(replace(settings, litestream_s3_secret_access_key="nope"))
        assert wrong is not None
        with pytest.raises(BackupError) as refused:
            await asyncio.to_thread(
                restore_at, wrong, datetime.datetime.now(datetime.UTC), tmp_path / "x.db"
            )
        assert refused.value.code == "litestream_failed"
    said = capfd.readouterr()
    assert s3.secret_key not in said.out + said.err
    assert "replicating to" in said.out  # Litestream's own log went through, keys left out


@pytest.mark.slow
async def test_a_litestream_that_dies_is_started_again(tmp_path: Path) -> None:
    settings = load_settings(
        None, {}, data_dir=str(tmp_path / "data"), litestream_replica_url=f"file://{tmp_path}/r"
    )
    replica = Replica.from_settings(settings)
    assert replica is not None
    replicator = Replicator(replica, quiet=True)
    async with running_services(replace(settings, language="en", llm_enabled=False)):
        replicator.start()
        try:
            first = await _started(replicator, 1)
            os.kill(first, signal.SIGKILL)
            second = await _started(replicator, 2)  # after its first pause (1 s)
            assert second != first
        finally:
            await replicator.stop()
    await _gone(second)


async def _started(replicator: Replicator, starts: int) -> int:
    """Until the replicator has started its child ``starts`` times; the child's pid."""
    async with asyncio.timeout(30):
        while True:
            if replicator.starts >= starts and replicator.pid is not None:
                return replicator.pid
            await asyncio.sleep(0.02)


def _s3_lines(s3: S3Server) -> str:
    return (
        f'litestream_replica_url = "s3://{s3.bucket}/facility/assistant.db"\n'
        f'litestream_s3_endpoint = "{s3.endpoint}"\n'
        f'litestream_s3_access_key_id = "{s3.access_key}"\n'
        f'litestream_s3_secret_access_key = "{s3.secret_key}"\n'
    )


# -- `assistant serve` runs it, and it never outlives the service -----------------------------


def _children(pid: int) -> list[tuple[int, str]]:
    """The processes whose parent is ``pid``: (pid, name)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                status = (entry / "status").read_text()
                fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
                if int(fields["PPid"].strip()) == pid:
                    found.append((int(entry.name), fields["Name"].strip()))
    return found


async def _gone(pid: int) -> None:
    """Until process ``pid`` has ended (gone, or a zombie waiting for its reaper)."""
    async with asyncio.timeout(30):
        while True:
            if not Path(f"/proc/{pid}").exists() or _state(pid) == "Z":
                return
            await asyncio.sleep(0.05)


def _state(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1]
    return "Z"


@contextlib.asynccontextmanager
async def _serving(config: Path, port: int, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_CHROMIUM=str(log.parent / "no-chromium"), ASSISTANT_WEB_VOICE="false")
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assistant", "--config", str(config), "serve", "--port",
            str(port), env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session, asyncio.timeout(120):
            while True:
                assert process.returncode is None, log.read_text()
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.2)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _litestream_child(process: asyncio.subprocess.Process) -> int:
    async with asyncio.timeout(30):
        while True:
            children = [pid for pid, name in _children(process.pid) if name == "litestream"]
            if children:
                return children[0]
            await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_serve_runs_litestream_as_its_child_and_it_never_outlives_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert litestream_binary().is_file()
    data = tmp_path / "data"
    config = _config(tmp_path, data, f'litestream_replica_url = "file://{tmp_path / "r"}"\n')
    port = _free_port()
    log = tmp_path / "serve.log"
    archive = tmp_path / "live.tar.gz"
    async with _serving(config, port, log) as process:
        child = await _litestream_child(process)
        assert await _cli(config, "backup", "--to", archive) == 0  # of a folder in use
        # (The live service and its Litestream add files of their own meanwhile: what must not
        # change is the folder's place, its database, and nothing staged or moved beside it.)
        around, rows = sorted(tmp_path.iterdir()), database_picture(data / "assistant.db")
        assert await _cli(config, "restore", archive, "--force") == 1
        assert "is in use" in capsys.readouterr().err
        assert sorted(tmp_path.iterdir()) == around
        assert database_picture(data / "assistant.db") == rows
        process.send_signal(signal.SIGKILL)  # the service dies without a word ...
        await process.wait()
        await _gone(child)  # ... and the kernel stops its Litestream (no orphan)
    assert await _cli(config, "restore", archive, "--force") == 0  # no longer in use
    async with _serving(config, port, log) as process:
        child = await _litestream_child(process)
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0
        await _gone(child)
    assert "litestream: replicating" in log.read_text()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
