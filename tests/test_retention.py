"""The retention clean-up on a real SQLite file and a real artifacts folder.

Before it, nothing was ever deleted: every session, turn, artifact and link stayed forever.
What staff would notice: old things are gone (rows and folders), what is in use or still
pointed at stays, a dry run changes nothing, and the last run shows in ``/healthz`` and in
``assistant cleanup``.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from assistant.cli.main import main
from assistant.events import SessionState
from assistant.jobs.catalog import JobCatalog
from assistant.photos import PhotoStore
from assistant.ports import TurnEffects
from assistant.retention import DAY, Janitor
from assistant.server import init_app
from assistant.session import Artifact, GenerationRequest, Session, TurnRecord
from assistant.store.sqlite import SQLiteStore
from assistant.upkeep_ports import RetentionPolicy

NOW = float(int(time.time()))  # chat links are stamped with the real time
POLICY = RetentionPolicy(
    ended=7 * DAY, idle=30 * DAY, turns=30 * DAY, artifacts=30 * DAY, links=30 * DAY
)


async def _session(
    store: SQLiteStore,
    key: str,
    *days_ago: float,
    state: SessionState = SessionState.ASK,
    artifact_id: str | None = None,
) -> None:
    """A session with one turn per age in ``days_ago`` (oldest first)."""
    session = Session(key=key, language="en", channel="web", state=state, artifact_id=artifact_id)
    for n, days in enumerate(days_ago):
        at = NOW - days * DAY + n
        replies = [{"kind": "text", "text": f"turn {n}"}]
        record = TurnRecord(key, at, "web", "hi", "ask", state.value, replies)
        session = await store.commit_turn(session, record, TurnEffects())


async def _artifact(store: SQLiteStore, folder: Path, name: str, days_ago: float) -> Artifact:
    request = GenerationRequest("cli:generate", "cafe_page", "en", {}, name, 1)
    task_id = await store.enqueue_running(request)
    (folder / name).mkdir(parents=True)
    (folder / name / "index.html").write_text("<p>hi</p>", encoding="utf-8")
    artifact = Artifact(
        id=name, series=name, version=1, session_key="cli:generate", job_id="cafe_page",
        folder=str(folder / name), files=("index.html",), manifest={},
        created=NOW - days_ago * DAY, token=f"token-{name}-" + "x" * 20,
    )  # fmt: skip
    assert await store.finish(task_id, artifact)
    return artifact


@pytest.fixture
async def filled(store: SQLiteStore, tmp_path: Path) -> Path:
    """Sessions and artifacts of every age; returns the artifacts folder."""
    folder = tmp_path / "artifacts"
    await _artifact(store, folder, "old-unused", 40)
    await _artifact(store, folder, "old-but-shown", 40)
    await _artifact(store, folder, "new", 1)
    await _session(store, "web:ended-long-ago", 8, state=SessionState.ENDED)
    await _session(store, "web:ended-yesterday", 1, state=SessionState.ENDED)
    await _session(store, "web:idle-long", 31)
    await _session(store, "web:idle-long-but-open", 31)
    await _session(store, "web:active", 0, 0, 0, artifact_id="old-but-shown")
    await _session(store, "web:long-history", 40, 40, 0)  # long ago, and still used today
    await store.link("telegram:7", "web:idle-long")
    await store.link("telegram:8", "web:active")
    return folder


def _janitor(store: SQLiteStore, folder: Path) -> Janitor:
    async def open_pages() -> frozenset[str]:
        return frozenset({"web:idle-long-but-open"})

    return Janitor(store, folder, POLICY, busy=open_pages, clock=lambda: NOW)


async def _keys(store: SQLiteStore) -> set[str]:
    return {row[0] for row in await store.run(lambda: store.db.execute("SELECT key FROM sessions"))}


async def test_the_clean_up_removes_what_is_past_retention_and_keeps_what_is_used(
    store: SQLiteStore, filled: Path
) -> None:
    report = await _janitor(store, filled).run()
    assert await _keys(store) == {
        "web:ended-yesterday", "web:idle-long-but-open", "web:active", "web:long-history",
    }  # fmt: skip
    assert await store.history("web:idle-long") == []
    assert await store.linked("telegram:7") is None  # its session is gone
    assert await store.linked("telegram:8") == "web:active"
    assert await store.artifact("old-unused") is None and not (filled / "old-unused").exists()
    assert (filled / "old-but-shown" / "index.html").is_file()  # a kept session shows it
    assert await store.artifact("old-but-shown") is not None and (filled / "new").is_dir()
    # A kept session loses turns past retention, never its latest words.
    history = await store.history("web:long-history")
    assert [turn["replies"][0]["text"] for turn in history] == ["turn 2"]
    assert await store.last_replies("web:long-history") == [{"kind": "text", "text": "turn 2"}]
    assert report.removed["sessions"] == 2 and report.removed["artifacts"] == 1
    assert report.removed["links"] == 1  # telegram:7, with its session
    again = await _janitor(store, filled).run()  # idempotent: nothing is removed twice
    assert set(again.removed.values()) == {0}


async def test_a_dry_run_counts_the_same_and_removes_nothing(
    store: SQLiteStore, filled: Path
) -> None:
    dry = await _janitor(store, filled).run(dry_run=True)
    assert len(await _keys(store)) == 6 and (filled / "old-unused").is_dir()
    assert await store.last_cleanup() is None  # a dry run is not a run
    real = await _janitor(store, filled).run()
    assert dry.removed == real.removed and dry.dry_run and not real.dry_run


async def test_the_last_run_shows_in_healthz_and_a_second_server_waits_for_the_next_day(
    store: SQLiteStore, filled: Path, catalog: JobCatalog
) -> None:
    await _janitor(store, filled).run()
    async with TestClient(TestServer(init_app(store, catalog))) as client:
        body = await (await client.get("/healthz")).json()
    assert body["last_cleanup"]["at"] == NOW
    assert body["last_cleanup"]["removed"]["sessions"] == 2
    later = Janitor(store, filled, POLICY, clock=lambda: NOW + 3600)
    assert await later.due_in() == pytest.approx(DAY - 3600)


async def test_an_artifact_folder_outside_the_artifacts_is_never_deleted(
    store: SQLiteStore, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    await _artifact(store, outside, "stray", 40)
    await Janitor(store, tmp_path / "artifacts", POLICY, clock=lambda: NOW).run()
    assert (outside / "stray" / "index.html").is_file()
    assert await store.artifact("stray") is None


def test_assistant_cleanup_prints_what_it_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_RETENTION_IDLE_DAYS", "0")
    assert main(["cleanup", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "last run: never" in out and "would remove 0 sessions" in out
    assert main(["cleanup"]) == 0
    assert "removed 0 sessions, 0 turns" in capsys.readouterr().out
    assert main(["cleanup"]) == 0
    assert "last run: 20" in capsys.readouterr().out  # the time of the run before


async def test_the_service_cleans_up_at_start_when_due_and_not_again_before_its_time(
    store: SQLiteStore, filled: Path
) -> None:
    janitor = _janitor(store, filled)
    janitor.start()
    try:
        async with asyncio.timeout(30):
            while await store.last_cleanup() is None:  # noqa: ASYNC110 - the state is stored
                await asyncio.sleep(0.02)
    finally:
        await janitor.stop()
    await _session(store, "web:ended-long-ago", 8, state=SessionState.ENDED)
    second = _janitor(store, filled)  # another server on the same database, an hour later
    second.clock = lambda: NOW + 3600
    assert await second.due_in() == pytest.approx(DAY - 3600)
    with pytest.raises(TimeoutError):  # it waits for its time instead of cleaning up now
        await asyncio.wait_for(second._serve(), 0.5)
    assert "web:ended-long-ago" in await _keys(store)


async def test_the_telegram_ledger_keeps_only_recent_rows_and_each_chats_latest(
    store: SQLiteStore, tmp_path: Path
) -> None:
    def fill() -> None:
        old, new = NOW - 40 * DAY, NOW - DAY
        with store.db.conn as conn:
            for update_id, chat, at, status in (
                (1, 5, old, "done"), (2, 5, old, "done"), (3, 5, new, "done"),
                (4, 6, old, "done"),  # chat 6's latest: kept, the bot knows its last message
                (5, 7, old, "handling"),  # unfinished: recovery needs it
            ):  # fmt: skip
                conn.execute(
                    "INSERT INTO telegram_updates (update_id, chat_id, payload, status, "
                    "received) VALUES (?, ?, '{}', ?, ?)",
                    (update_id, chat, status, at),
                )
            for chat, at, status, message_id in (
                (5, old, "sent", 10), (5, new, "sent", 11), (6, old, "sent", 20),
                (6, old, "pending", None),  # still owed: never removed
            ):  # fmt: skip
                conn.execute(
                    "INSERT INTO telegram_messages (chat_id, method, params, status, created, "
                    "message_id) VALUES (?, 'sendMessage', '{}', ?, ?, ?)",
                    (chat, status, at, message_id),
                )

    await store.run(fill)
    report = await Janitor(store, tmp_path, POLICY, clock=lambda: NOW).run()

    def rows(sql: str) -> list[tuple[object, ...]]:
        return store.db.conn.execute(sql).fetchall()

    updates = await store.run(lambda: rows("SELECT update_id FROM telegram_updates ORDER BY 1"))
    assert [row[0] for row in updates] == [3, 4, 5]
    messages = await store.run(
        lambda: rows("SELECT chat_id, status, message_id FROM telegram_messages ORDER BY id")
    )
    assert messages == [(5, "sent", 11), (6, "sent", 20), (6, "pending", None)]
    assert report.removed["ledger"] == 3


def _picture() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "#336699").save(out, format="JPEG")
    return out.getvalue()


def _aged(path: Path, days: float) -> None:
    at = NOW - days * DAY
    os.utime(path, (at, at))


async def test_pictures_nobody_uses_any_more_are_removed_and_used_ones_kept(
    store: SQLiteStore, tmp_path: Path
) -> None:
    photos = PhotoStore(tmp_path / "photos")
    kept, in_undo, queued, orphan, fresh = (photos.accept(_picture()) for _ in range(5))
    for photo in (kept, in_undo, queued, orphan):
        _aged(photo.path, 40)
    crashed = tmp_path / "photos" / ".incoming-abc123"
    crashed.write_bytes(b"half a picture")
    _aged(crashed, 2)
    session = Session(key="web:a", language="en", channel="web", answers={"logo": kept.id})
    session.undo = [{"answers": {"photo": in_undo.id}, "look": {}}]
    record = TurnRecord("web:a", NOW, "web", "hi", "ask", "ask", [])
    await store.commit_turn(session, record, TurnEffects())
    request = GenerationRequest("web:b", "cafe_page", "en", {"photo": queued.id}, "s", 1)
    await store.commit_turn(
        Session(key="web:b", language="en", channel="web"),
        TurnRecord("web:b", NOW, "web", "yes", "confirm", "generating", []),
        TurnEffects(enqueue=request),
    )
    janitor = Janitor(store, tmp_path / "artifacts", POLICY, clock=lambda: NOW, photos=photos)
    dry = await janitor.run(dry_run=True)
    assert dry.removed["photos"] == 2 and orphan.path.is_file() and crashed.exists()
    report = await janitor.run()
    assert report.removed["photos"] == 2
    assert not orphan.path.exists() and not crashed.exists(), "unused and half-written go"
    for photo in (kept, in_undo, queued, fresh):  # answered, in an undo version, queued, new
        assert photos.find(photo.id) is not None
    assert (await store.last_cleanup()).removed["photos"] == 2  # type: ignore[union-attr]
