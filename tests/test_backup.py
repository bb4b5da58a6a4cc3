"""``assistant backup`` and ``assistant restore`` (issue 17) on real files, through the command.

Sessions are written by the real service composition (dialog manager, generation queue, the
desk that publishes); the archive is made while that service is up and writing; the data
folder is destroyed; the restore must give back exactly what was there when the archive was
made: nothing lost, nothing extra. Then the service starts on it and serves the published
site. Bad archives and busy folders get one sentence and change nothing.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import sqlite3
import stat
import tarfile
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.cli.main import main
from assistant.config import load_settings
from assistant.events import Turn
from assistant.server import init_app
from assistant.staff.keys import KEY_FILE, session_key
from assistant.store.backup.manifest import MANIFEST_NAME
from assistant.store.sqlite import SQLiteStore
from testing.backup_data import (
    SETTINGS_TOML,
    database_picture,
    files_picture,
    publish,
    running_services,
    tree_state,
    write_sessions,
)


def _config(tmp_path: Path, data: Path) -> Path:
    config = tmp_path / "assistant.toml"
    config.write_text(SETTINGS_TOML + f'data_dir = "{data}"\n', encoding="utf-8")
    return config


def _knowledge_row(data: Path) -> sqlite3.Connection:
    """A SQLite file of the knowledge base's kind with a row still only in its WAL (the
    connection stays open, as chromadb's does): a plain file copy would miss the row."""
    (data / "knowledge").mkdir(mode=0o700)
    db = sqlite3.connect(data / "knowledge" / "chroma.sqlite3")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE passages (text TEXT)")
    db.execute("INSERT INTO passages VALUES ('opening hours are 9 to 5')")
    db.commit()
    return db


async def _cli(config: Path, *argv: str | Path) -> int:
    """``assistant --config CONFIG ARGV...``, off the event loop (it blocks)."""
    return await asyncio.to_thread(main, ["--config", str(config), *map(str, argv)])


async def _revision_minus_turns(path: Path, key: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        revision = db.execute("SELECT revision FROM sessions WHERE key=?", (key,)).fetchone()[0]
        turns = db.execute("SELECT count(*) FROM turns WHERE session_key=?", (key,)).fetchone()[0]
    return int(revision) - int(turns)


async def test_backup_while_serving_then_restore_into_a_destroyed_folder_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    config = _config(tmp_path, data)
    settings = load_settings(config)
    archive = tmp_path / "backups" / "facility.tar.gz"
    async with running_services(settings) as services:
        made = await write_sessions(services, "before", 3)
        slug = await publish(services, made[0])
        session_key("", data)  # the console's key, made in the data folder as at first sign-in
        knowledge = _knowledge_row(data)
        (data / "photos").mkdir(mode=0o700, exist_ok=True)
        (data / "photos" / "p1.jpg").write_bytes(b"\xff\xd8 a re-encoded photo")
        before_db = database_picture(settings.database_path)
        before_files = files_picture(data)
        assert await _cli(config, "backup", "--to", archive) == 0
        knowledge.close()
        await write_sessions(services, "after", 2)  # written after the archive: not restored
        await publish(services, made[1])
    printed = capsys.readouterr().out
    assert f"Backup written to {archive}" in printed and "3 sessions" in printed
    assert "keep it private" in printed
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600

    shutil.rmtree(data)
    assert await _cli(config, "restore", archive) == 0
    printed = capsys.readouterr().out
    assert f"into {data.absolute()}" in printed and "checked" in printed
    assert database_picture(settings.database_path) == before_db
    assert files_picture(data) == before_files
    assert (data / KEY_FILE).read_bytes() and stat.S_IMODE(data.stat().st_mode) == 0o700
    with closing(sqlite3.connect(data / "knowledge" / "chroma.sqlite3")) as restored:
        assert restored.execute("SELECT text FROM passages").fetchall() == [
            ("opening hours are 9 to 5",)
        ]

    # The service starts on the restored folder: a restored session goes on, the site is up.
    async with running_services(settings) as services:
        replies = await services.manager.handle(
            Turn(session_key="web:before1", text="make another", language="en", channel="web")
        )
        assert replies, "a restored session answers"
        app = init_app(services.store, services.jobs, site_dir=settings.site_path)
        async with TestClient(TestServer(app)) as client:
            page = await client.get(f"/site/{slug}/")
            assert page.status == 200 and "Before Café 0" in await page.text()
            artifact = made[2]
            download = await client.get(f"/a/{artifact.token}")
            assert download.status == 200


async def test_the_archive_lists_every_member_with_its_checksum_and_names_its_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    config = _config(tmp_path, data)
    settings = load_settings(config)
    async with running_services(settings) as services:
        made = await write_sessions(services, "shop", 1)
        slug = await publish(services, made[0])
        session_key("", data)
        (data / ".assistant.db-litestream").mkdir()  # Litestream's own state: not archived
        (data / ".assistant.db-litestream" / "pos").write_text("x")
        archive = tmp_path / "a.tar.gz"
        assert await _cli(config, "backup", "--to", archive, "--lang", "ja") == 0
    printed = capsys.readouterr().out
    assert "バックアップを" in printed and "保管してください" in printed
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile(MANIFEST_NAME).read())  # type: ignore[union-attr]
        members = {m["name"]: m for m in manifest["members"]}
        assert set(names) == set(members) | {MANIFEST_NAME}
        for name, member in members.items():
            if member["kind"] == "file":
                assert member["sha256"] and member["size"] == tar.getmember(name).size
        link = tar.getmember(f"data/site/{slug}")
        assert link.issym() and link.linkname == members[f"data/site/{slug}"]["target"]
    assert not any(n.endswith(("-wal", "-shm")) or "litestream" in n for n in names)
    assert manifest["format"] == "facility-assistant-backup"
    assert manifest["counts"]["sessions"] == 1 and manifest["counts"]["artifacts"] == 1
    assert sorted(manifest["secrets"]) == ["config/assistant.toml", f"data/{KEY_FILE}"]
    assert manifest["migrations"][0] == "m001_initial"
    assert set(manifest["versions"]) == {"assistant", "python", "sqlite"}


@pytest.fixture
async def made_archive(tmp_path: Path) -> tuple[Path, Path]:
    """An archive of a served folder with one built café page; the settings file."""
    data = tmp_path / "made"
    config = _config(tmp_path, data)
    async with running_services(load_settings(config)) as services:
        await write_sessions(services, "shop", 1)
    archive = tmp_path / "good.tar.gz"
    assert await _cli(config, "backup", "--to", archive) == 0
    return archive, config


def _rewritten(archive: Path, target: Path, change: str) -> None:
    """``archive`` copied member by member with one change: an artifact's page altered
    (its checksum no longer matches), or a link out of the data folder added."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source.getmembers():
            content = source.extractfile(member) if member.isfile() else None
            data = content.read() if content is not None else None
            if change == "checksum" and member.name.endswith("/index.html"):
                data = data.replace(b"Shop", b"Sh0p")  # type: ignore[union-attr]
            if data is not None:
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
        if change == "unsafe":
            link = tarfile.TarInfo("data/escape")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc"
            out.addfile(link)


def _bad_archive(kind: str, good: Path, tmp_path: Path) -> Path:
    bad = tmp_path / f"{kind}.tar.gz"
    if kind == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "zip":
        with zipfile.ZipFile(bad, "w") as other:
            other.writestr("notes.txt", "holiday photos")
    elif kind == "other_tar":
        with tarfile.open(bad, "w:gz") as other:
            info = tarfile.TarInfo("notes.txt")
            info.size = 5
            other.addfile(info, io.BytesIO(b"hello"))
    else:
        _rewritten(good, bad, kind)
    return bad


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("truncated", "is damaged or incomplete"),
        ("zip", "is not a facility-assistant backup"),
        ("other_tar", "is not a facility-assistant backup"),
        ("checksum", "does not match its checksum"),
        ("unsafe", "outside the data folder"),
    ],
)
async def test_a_bad_archive_gets_one_sentence_and_changes_nothing(
    kind: str, words: str, made_archive: tuple[Path, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    archive, config = made_archive
    bad = _bad_archive(kind, archive, tmp_path)
    target = tmp_path / "place" / "data"
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("what staff had here")
    before, siblings = tree_state(target), sorted(target.parent.iterdir())
    capsys.readouterr()
    code = await _cli(config, "restore", bad, "--data-dir", target, "--force")
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("error: ") and words in err and "nothing was changed" in err
    assert len(err.splitlines()) == 1
    assert tree_state(target) == before and sorted(target.parent.iterdir()) == siblings


async def test_a_folder_in_use_or_not_empty_is_refused_and_force_keeps_the_old_one(
    made_archive: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive, config = made_archive
    target = tmp_path / "live"
    store = SQLiteStore(target / "assistant.db")
    await store.open()  # a running service's database
    try:
        before = tree_state(target)
        code = await _cli(
            config, "restore", archive, "--data-dir", target, "--force", "--lang", "ja"
        )
        assert code == 1
        err = capsys.readouterr().err
        assert "使用中" in err and "何も変更していません" in err
        assert tree_state(target) == before
    finally:
        await store.close()
    code = await _cli(config, "restore", archive, "--data-dir", target)
    assert code == 1
    assert "is not empty: add --force" in capsys.readouterr().err
    old = files_picture(target), database_picture(target / "assistant.db")
    code = await _cli(config, "restore", archive, "--data-dir", target, "--force")
    assert code == 0
    printed = capsys.readouterr().out
    aside = next(target.parent.glob("live.replaced-*"))
    assert f"kept at {aside}" in printed
    assert (files_picture(aside), database_picture(aside / "assistant.db")) == old
    assert database_picture(target / "assistant.db")["sessions"].keys() == {"web:shop0"}


async def test_a_backup_taken_while_turns_are_written_is_one_consistent_moment(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    config = _config(tmp_path, data)
    settings = load_settings(config)
    archive = tmp_path / "busy.tar.gz"
    key = "web:busy"
    async with running_services(settings) as services:
        await write_sessions(services, "shop", 2)
        await services.manager.handle(Turn(key, "", language="en", channel="web"))
        backing_up = asyncio.create_task(_cli(config, "backup", "--to", archive))
        turns = 1
        while not backing_up.done() or turns < 20:  # turns before, during and after the copy
            await services.manager.handle(Turn(key, "help", language="en", channel="web"))
            turns += 1
        assert await backing_up == 0
        written = await _revision_minus_turns(settings.database_path, key)
    restored = tmp_path / "restored"
    assert await _cli(config, "restore", archive, "--data-dir", restored) == 0
    with closing(sqlite3.connect(restored / "assistant.db")) as db:
        kept = db.execute("SELECT count(*) FROM turns WHERE session_key=?", (key,)).fetchone()[0]
    assert 0 < kept <= turns
    # The session's row and its turns come from the same moment: no half of a turn.
    assert await _revision_minus_turns(restored / "assistant.db", key) == written


async def test_a_site_kept_outside_the_data_folder_and_a_changed_settings_file_come_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, site = tmp_path / "data", tmp_path / "www" / "site"
    config = _config(tmp_path, data)
    config.write_text(config.read_text() + f'site_dir = "{site}"\n', encoding="utf-8")
    settings = load_settings(config)
    archive = tmp_path / "site.tar.gz"
    async with running_services(settings) as services:
        made = await write_sessions(services, "harbor", 1)
        slug = await publish(services, made[0])
        assert await _cli(config, "backup", "--to", archive) == 0
    published = files_picture(site)
    assert (site / slug).is_symlink() and published
    with tarfile.open(archive) as tar:
        assert tar.getmember(f"site/{slug}").issym()
    archived = config.read_text()
    config.write_text(archived + "port = 8181\n", encoding="utf-8")  # changed since
    shutil.rmtree(data)
    shutil.rmtree(site)
    assert await _cli(config, "restore", archive) == 0
    printed = capsys.readouterr().out
    assert files_picture(site) == published
    beside = config.with_name("assistant.toml.restored")
    assert beside.read_text() == archived and stat.S_IMODE(beside.stat().st_mode) == 0o600
    assert f"the archived one is at {beside}" in printed
    assert "port = 8181" in config.read_text(), "the settings in use are left as they are"


@pytest.mark.parametrize(
    ("argv", "en", "ja"),
    [
        (("restore",), "Name the archive to restore", "復元するバックアップ"),
        (("restore", "--at", "2026-12-07T14:30"), "litestream_replica_url is not set", "複製先"),
        (("litestream",), "litestream_replica_url is not set", "複製先"),
        (("restore", "missing.tar.gz"), "missing.tar.gz does not exist", "がありません"),
        (("backup",), "There is no database at", "データベースがありません"),
    ],
)
async def test_a_command_with_nothing_to_act_on_says_so_in_one_sentence(
    argv: tuple[str, ...], en: str, ja: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, tmp_path / "empty")
    for language, words in (("en", en), ("ja", ja)):
        assert await _cli(config, *argv, "--lang", language) == 1
        said = capfd.readouterr()
        assert said.err.startswith("error: ") and words in said.err and not said.out
        assert len(said.err.strip().splitlines()) == 1
    assert not (tmp_path / "empty").exists() and not list(tmp_path.glob("*.tar.gz"))
