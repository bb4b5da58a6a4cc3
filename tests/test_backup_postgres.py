"""``assistant backup`` and ``assistant restore`` with a PostgreSQL ``database_url`` (issue 17),
on the real test server (``testing/postgres.py``): sessions written through ``PostgresStore``,
backed up with the command, more written, the database destroyed, restored, every session and
turn compared. The role has a password the server really asks for, so the tools must get it,
and the tests look for it in the archive, the messages, the logs and the tools' arguments."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import tarfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from assistant.cli.main import main
from assistant.events import SessionState
from assistant.ports import TurnEffects
from assistant.session import Artifact, GenerationRequest, Session, TurnRecord
from assistant.store.backup.archive import BackupSources, make_backup
from assistant.store.backup.manifest import MANIFEST_NAME, POSTGRES_DUMP
from assistant.store.postgres.store import PostgresStore
from testing.backup_data import SETTINGS_TOML
from testing.postgres import (
    PostgresServer,
    free_port,
)

pytestmark = pytest.mark.slow  # a subprocess server, pg_dump and pg_restore

PASSWORD = "Zq9-backup-secret-7Hk"  # noqa: S105 (the test role's, looked for everywhere)
ROLE = "backup_staff"
_HBA_LINE = f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"


@dataclass(frozen=True, slots=True)
class Place:
    """A database the service's role owns, its address with the password, and the files."""

    server: PostgresServer
    name: str
    url: str
    config: Path
    data: Path

    def recreate(self) -> None:
        """Destroy the database and make it again, empty (a lost server)."""
        with psycopg.connect(self.server.url(), autocommit=True) as conn:
            name = sql.Identifier(self.name)
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
            owner = sql.Identifier(ROLE)
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, owner))


def _password_role(server: PostgresServer) -> None:
    """A role that must give its password (scram), whatever the cluster trusts otherwise."""
    with psycopg.connect(server.url(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(ROLE), sql.Literal(PASSWORD)
                )
            )
        hba = server.data / "pg_hba.conf"
        text = hba.read_text()
        if _HBA_LINE not in text:
            hba.write_text(_HBA_LINE + text)  # first match wins: this role needs its password
            conn.execute("SELECT pg_reload_conf()")


@pytest.fixture
def place(
    postgres_server: PostgresServer,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Place:
    """The test's database owned by the password role; settings naming it through the
    environment, so the settings file itself holds no secret."""
    _password_role(postgres_server)
    name = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        owner = sql.Identifier(ROLE)
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(name), owner))
    url = f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{postgres_server.port}/{name}"
    data = tmp_path / "data"
    config = tmp_path / "assistant.toml"
    config.write_text(SETTINGS_TOML + f'data_dir = "{data}"\n', encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", url)
    monkeypatch.setenv("PGPASSWORD", "")  # nothing inherited may stand in for ours
    return Place(postgres_server, name, url, config, data)


async def _cli(config: Path, *argv: str | Path) -> int:
    """``assistant --config CONFIG ARGV...``, off the event loop (it blocks)."""
    return await asyncio.to_thread(main, ["--config", str(config), *map(str, argv)])


@contextlib.asynccontextmanager
async def _store(url: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(url, pool_size=2)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _write(url: str, prefix: str, count: int, data: Path) -> None:
    """``count`` sessions of three turns each; the first one's build finished, its artifact
    folder in ``data/artifacts``."""
    async with _store(url) as store:
        for n in range(count):
            key = f"web:{prefix}{n}"
            session = Session(key=key, language="ja" if n % 2 else "en", channel="web")
            for step, text in enumerate(("cafe", f"{prefix.title()} Café {n}", "yes")):
                session.state = SessionState.ASK if step < 2 else SessionState.GENERATING
                session.answers = {"shop_name": f"{prefix} {n}", "menu": ["パン", "tea"]}
                record = TurnRecord(key, 1000.0 + n + step, "web", text, "ask",
                                    session.state.value, [{"text": f"reply {step}"}], 0.5)  # fmt: skip
                enqueue = None
                if step == 2 and n == 0:
                    enqueue = GenerationRequest(key, "cafe_page", "en", session.answers,
                                                f"{prefix}s", 1)  # fmt: skip
                session = await store.commit_turn(session, record, TurnEffects(enqueue=enqueue))
        task = await store.claim_next()
        assert task is not None and task.request.id is not None
        folder = data / "artifacts" / f"{prefix}v1"
        folder.mkdir(parents=True)
        (folder / "index.html").write_text(f"<h1>{prefix}</h1>", encoding="utf-8")
        made = Artifact(f"{prefix}v1", f"{prefix}s", 1, f"web:{prefix}0", "cafe_page",
                        str(folder), ("index.html",), {"job": "cafe_page"}, 2000.0,
                        token=f"token-{prefix}")  # fmt: skip
        assert await store.finish(task.request.id, made)


def _picture(url: str) -> dict[str, Any]:
    """Every session, turn, generation and artifact row (artifact folders by name)."""
    with psycopg.connect(url) as conn:
        sessions = conn.execute("SELECT * FROM sessions ORDER BY key").fetchall()
        turns = conn.execute("SELECT * FROM turns ORDER BY session_key, id").fetchall()
        generations = conn.execute("SELECT * FROM generations ORDER BY id").fetchall()
        artifacts = [
            (row[0], Path(str(row[1])).name, row[2:])
            for row in conn.execute(
                "SELECT id, folder, series, version, session_key, files, manifest, token "
                "FROM artifacts ORDER BY id"
            )
        ]
    return {"sessions": sessions, "turns": turns, "generations": generations,
            "artifacts": artifacts}  # fmt: skip


class _ArgvWatch:
    """Every pg_dump and pg_restore command line seen in ``/proc`` while the block runs."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._done.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                with contextlib.suppress(OSError):
                    line = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
                    if b"pg_dump" in line or b"pg_restore" in line:
                        self.seen.append(line.decode(errors="replace"))

    @contextlib.contextmanager
    def running(self) -> Iterator[_ArgvWatch]:
        self._thread.start()
        try:
            yield self
        finally:
            self._done.set()
            self._thread.join()


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {
            member.name: extracted.read()
            for member in tar.getmembers()
            if (extracted := tar.extractfile(member)) is not None
        }


async def test_backup_more_writes_destroy_restore_gives_back_every_session_and_turn(
    place: Place,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await _write(place.url, "early", 12, place.data)
    before = _picture(place.url)
    assert len(before["sessions"]) == 12 and len(before["turns"]) == 36
    archive = tmp_path / "backup.tar.gz"

    with _ArgvWatch().running() as watch:
        assert await _cli(place.config, "backup", "--to", archive) == 0
    said = capfd.readouterr()
    assert "12 sessions" in said.out and "pg_dump (version" in said.out

    await _write(place.url, "late", 5, place.data)
    assert len(_picture(place.url)["sessions"]) == 17

    # Over a database with newer sessions: refused without --force (into an empty folder, so
    # only the database objects), and replaced with it (the old folder is moved aside).
    empty = tmp_path / "elsewhere"
    assert await _cli(place.config, "restore", archive, "--data-dir", empty) == 1
    refused = capfd.readouterr()
    assert refused.err.startswith("error: ") and len(refused.err.strip().splitlines()) == 1
    assert "already holds 17 sessions: add --force" in refused.err
    assert len(_picture(place.url)["sessions"]) == 17 and not empty.exists()
    with _ArgvWatch().running() as restore_watch:
        assert await _cli(place.config, "restore", archive, "--force") == 0
    assert _picture(place.url) == before

    place.recreate()  # the server lost it all, and the files too
    for path in place.data.parent.glob("data*"):
        shutil.rmtree(path)
    assert await _cli(place.config, "restore", archive) == 0
    restored = capfd.readouterr()
    assert "holds the archive's database again" in restored.out
    assert _picture(place.url) == before
    with psycopg.connect(place.url) as conn:
        (folder,) = conn.execute("SELECT folder FROM artifacts").fetchone() or ("",)
    assert Path(folder) == place.data.absolute() / "artifacts" / "earlyv1"
    assert (Path(folder) / "index.html").read_text() == "<h1>early</h1>"
    async with _store(place.url) as store:  # the restored database serves on
        session = await store.load("web:early3")
        assert session is not None and session.revision == 3
        record = TurnRecord("web:early3", 3000.0, "web", "again", "ask", "ask", [])
        assert (await store.commit_turn(session, record, TurnEffects())).revision == 4

    members = _members(archive)
    assert POSTGRES_DUMP in members and "data/assistant.db" not in members
    manifest = members[MANIFEST_NAME].decode()
    assert '"store": "postgresql"' in manifest and '"sessions": 12' in manifest
    assert f"127.0.0.1:{place.server.port}/{place.name}" in manifest
    secret = PASSWORD.encode()
    assert not [name for name, data in members.items() if secret in data]
    everything = said.out + said.err + refused.out + refused.err + restored.out + restored.err
    assert PASSWORD not in everything + caplog.text
    assert any("pg_dump" in line for line in watch.seen), "the watch saw the tool run"
    assert any("pg_restore" in line for line in restore_watch.seen)
    assert not [line for line in watch.seen + restore_watch.seen if PASSWORD in line]


def test_the_role_really_must_give_its_password(place: Place) -> None:
    without = place.url.replace(f":{PASSWORD}@", "@")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(without, connect_timeout=10).close()


@pytest.fixture
async def pg_archive(place: Place, tmp_path: Path) -> Path:
    """An archive of the test's database with two sessions."""
    await _write(place.url, "made", 2, place.data)
    archive = tmp_path / "pg.tar.gz"
    assert await _cli(place.config, "backup", "--to", archive) == 0
    return archive


def _sqlite_archive(tmp_path: Path, config: Path) -> Path:
    """An archive of a SQLite service (its database empty but real)."""
    folder = tmp_path / "sqlite-data"
    folder.mkdir()
    sqlite3.connect(folder / "assistant.db").close()
    archive = tmp_path / "sqlite.tar.gz"
    make_backup(BackupSources(folder), archive)
    return archive


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_a_wrong_archive_or_server_or_moment_is_one_sentence_in_each_language(
    language: str,
    place: Place,
    pg_archive: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    capfd.readouterr()
    unreachable = f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{free_port()}/{place.name}"
    not_a_tar = tmp_path / "notes.tar.gz"
    not_a_tar.write_text("not an archive")
    sqlite_archive = _sqlite_archive(tmp_path, place.config)
    fresh = tmp_path / "fresh"
    cases: list[tuple[dict[str, str], tuple[str | Path, ...], str, str]] = [
        ({}, ("restore", sqlite_archive, "--data-dir", fresh), "holds a SQLite database",
         "SQLite のデータベース"),
        ({}, ("restore", not_a_tar, "--data-dir", fresh), "is not a facility-assistant backup",
         "バックアップではありません"),
        ({"ASSISTANT_DATABASE_URL": ""}, ("restore", pg_archive, "--data-dir", fresh),
         "holds a PostgreSQL database: set database_url", "database_url に設定"),
        ({"ASSISTANT_DATABASE_URL": unreachable}, ("backup", "--to", tmp_path / "x.tar.gz"),
         "cannot be reached", "接続できません"),
        ({"ASSISTANT_DATABASE_URL": unreachable}, ("restore", pg_archive, "--data-dir", fresh),
         "cannot be reached", "接続できません"),
        ({}, ("restore", "--at", "2026-12-07T14:30", "--force"),
         'README, "PostgreSQL: WAL archiving and restore to a time"', "WAL アーカイブ"),
    ]  # fmt: skip
    picture = _picture(place.url)
    for environment, argv, en, ja in cases:
        with monkeypatch.context() as patch:
            for key, value in environment.items():
                patch.setenv(key, value)
            assert await _cli(place.config, *argv, "--lang", language) == 1, argv
        said = capfd.readouterr()
        assert said.err.startswith("error: ") and not said.out, argv
        assert len(said.err.strip().splitlines()) == 1, said.err
        assert (en if language == "en" else ja) in said.err, said.err
        assert PASSWORD not in said.err
    assert _picture(place.url) == picture and not fresh.exists()
    assert not (tmp_path / "x.tar.gz").exists()


async def test_a_database_in_use_by_a_running_store_is_not_restored_over(
    place: Place, pg_archive: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    async with _store(place.url):
        assert await _cli(place.config, "restore", pg_archive, "--force") == 1
    said = capfd.readouterr().err
    assert "is in use" in said and "stop every assistant instance first" in said


def _with_broken_dump(archive: Path, target: Path) -> None:
    """``archive`` with its dump cut in half and the manifest saying so (as if pg_dump had
    been stopped midway): every checksum matches, only pg_restore can tell."""
    members = _members(archive)
    dump = members[POSTGRES_DUMP][: len(members[POSTGRES_DUMP]) // 2]
    manifest = json.loads(members[MANIFEST_NAME])
    for member in manifest["members"]:
        if member["name"] == POSTGRES_DUMP:
            member["size"], member["sha256"] = len(dump), hashlib.sha256(dump).hexdigest()
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source.getmembers():
            data = members.get(member.name)
            if member.name == POSTGRES_DUMP:
                data = dump
            elif member.name == MANIFEST_NAME:
                data = json.dumps(manifest).encode()
            if data is not None:
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)


async def test_a_dump_pg_restore_cannot_read_is_refused_before_the_database_changes(
    place: Place, pg_archive: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.tar.gz"
    _with_broken_dump(pg_archive, broken)
    await _write(place.url, "newer", 1, tmp_path / "other")
    picture = _picture(place.url)
    capfd.readouterr()
    assert await _cli(place.config, "restore", broken, "--force") == 1
    said = capfd.readouterr().err
    assert "is damaged or incomplete (pg_restore:" in said and "nothing was changed" in said
    assert len(said.strip().splitlines()) == 1
    assert _picture(place.url) == picture
