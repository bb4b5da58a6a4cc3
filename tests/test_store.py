"""The SQLite store on a real file: atomic turns, conflicts, the queue's life cycle."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from assistant.errors import StoreError
from assistant.events import SessionState
from assistant.ports import TurnEffects
from assistant.session import Artifact, GenerationRequest, Session, TurnRecord
from assistant.store.migrations import MIGRATIONS
from assistant.store.sqlite import SQLiteStore


def _record(session: Session, at: float = 1.0) -> TurnRecord:
    return TurnRecord(session.key, at, "console", "hi", "welcome", session.state.value, [])


def _request(key: str = "k") -> GenerationRequest:
    return GenerationRequest(key, "cafe_page", "ja", {"shop_name": "青い店"}, "s1", 1)


async def test_schema_wal_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "data" / "assistant.db"
    store = SQLiteStore(path)
    await store.open()
    session = Session(key="k", language="ja", channel="console", answers={"a": "青"})
    await store.commit_turn(session, _record(session), TurnEffects())
    await store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "turns", "generations", "artifacts", "_sqlite_migrations"} <= tables
    conn.close()
    again = SQLiteStore(path)
    await again.open()  # migrations already applied: nothing fails, nothing is lost
    loaded = await again.load("k")
    await again.close()
    assert loaded is not None and loaded.answers == {"a": "青"} and loaded.revision == 1


async def test_turn_and_history_are_one_transaction(store: SQLiteStore) -> None:
    session = Session(key="k", language="en", channel="console")
    saved = await store.commit_turn(session, _record(session), TurnEffects())
    saved.answers = {"x": 1}
    stale = Session(key="k", language="en", channel="console", revision=saved.revision)
    saved = await store.commit_turn(saved, _record(saved, 2.0), TurnEffects())
    with pytest.raises(StoreError) as caught:
        await store.commit_turn(stale, _record(stale, 3.0), TurnEffects())
    assert caught.value.code == "session_conflict"
    assert len(await store.history("k")) == 2, "the failed turn left no history row"
    assert (await store.load("k")).answers == {"x": 1}


async def test_codes_are_unique_and_found_case_insensitively(store: SQLiteStore) -> None:
    first = Session(key="a", language="en", channel="web", code="ABC234")
    second = Session(key="b", language="en", channel="web", code="ABC234")
    await store.commit_turn(first, _record(first), TurnEffects())
    saved = await store.commit_turn(second, _record(second), TurnEffects())
    assert saved.code != "ABC234", "a clash draws a new code"
    assert (await store.find_by_code("abc234")).key == "a"
    assert await store.find_by_code("ZZZZZZ") is None


async def test_queue_claim_requeue_finish_and_cancel(store: SQLiteStore, tmp_path: Path) -> None:
    session = Session(key="k", language="ja", channel="console", state=SessionState.GENERATING)
    saved = await store.commit_turn(session, _record(session), TurnEffects(enqueue=_request()))
    assert saved.generation_id is not None and await store.depth() == 1
    task = await store.claim_next()
    assert task is not None and task.request.answers == {"shop_name": "青い店"}
    assert await store.claim_next() is None, "a running task is not handed out twice"
    assert await store.requeue_interrupted() == 1, "a crash puts it back"
    task = await store.claim_next()
    assert task is not None and task.attempts == 2
    artifact = Artifact("s1v1", "s1", 1, "k", "cafe_page", str(tmp_path), ("index.html",), {}, 2.0)
    assert await store.finish(task.request.id, artifact) is True
    assert await store.depth() == 0
    assert (await store.artifact("s1v1")).files == ("index.html",)

    saved = await store.commit_turn(saved, _record(saved), TurnEffects(enqueue=_request()))
    task = await store.claim_next()
    await store.commit_turn(saved, _record(saved), TurnEffects(cancel_generation=task.request.id))
    later = Artifact("s1v2", "s1", 2, "k", "cafe_page", str(tmp_path), (), {}, 3.0)
    assert await store.finish(task.request.id, later) is False, "cancelled work is not kept"
    assert await store.artifact("s1v2") is None
    assert await store.generation_status(task.request.id) == "cancelled"


async def test_the_ledger_kept_by_an_older_bot_survives_the_migration(tmp_path: Path) -> None:
    """Before the ledger moved into the store, the Telegram channel created its own tables:
    a database from then opens, and what the bot still owed a chat is still owed."""
    path = tmp_path / "assistant.db"
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    MIGRATIONS.apply(db, stop_before="m006_telegram_ledger")
    conn.executescript(
        "CREATE TABLE telegram_updates (update_id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL,"
        " payload TEXT NOT NULL, status TEXT NOT NULL, revision INTEGER, received REAL NOT NULL,"
        " finished REAL);"
        "CREATE TABLE telegram_messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " chat_id INTEGER NOT NULL, update_id INTEGER, method TEXT NOT NULL, params TEXT NOT NULL,"
        " status TEXT NOT NULL, created REAL NOT NULL, sent REAL, message_id INTEGER, reason TEXT);"
        "INSERT INTO telegram_messages (chat_id, method, params, status, created)"
        " VALUES (7, 'sendMessage', '{\"text\": \"owed\"}', 'pending', 1.0);"
    )
    conn.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        owed = await store.telegram_ledger.unsent()
        assert [(m.chat_id, m.params) for m in owed] == [(7, {"text": "owed"})]
        assert await store.telegram_ledger.take(1, 7, "{}") is True
        assert await store.telegram_ledger.take(1, 7, "{}") is False  # a redelivery
    finally:
        await store.close()
