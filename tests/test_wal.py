"""The WAL stays bounded: after a burst of writes the ``-wal`` file shrinks back under a bound
instead of keeping its high-water size until a clean shutdown (75 MB beside a 12 MB database)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from assistant.ports import TurnEffects
from assistant.session import Session, TurnRecord
from assistant.store.sqlite import SQLiteStore

WAL_BOUND = 4 * 1024 * 1024


async def _burst(store: SQLiteStore, sessions: int) -> None:
    replies = [{"kind": "text", "text": "x" * 8000}]
    for n in range(sessions):
        session = Session(key=f"web:{n:024d}", language="en", channel="web")
        record = TurnRecord(session.key, float(n), "web", "hi", "welcome", "welcome", replies)
        await store.commit_turn(session, record, TurnEffects())


async def test_the_wal_shrinks_back_under_its_bound_after_a_burst(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "assistant.db")
    await store.open()
    wal = tmp_path / "assistant.db-wal"
    try:
        await _burst(store, 1500)  # about 12 MB of pages through the WAL
        size = wal.stat().st_size
        for _ in range(300):  # the checkpointer's rounds are seconds apart: wait for one
            if size <= WAL_BOUND:
                break
            await asyncio.sleep(0.1)
            size = wal.stat().st_size
        assert size <= WAL_BOUND, f"the WAL kept {size / 1e6:.1f} MB after the burst"
        assert await store.count("sessions") == 1500
    finally:
        await store.close()


async def test_the_connection_limits_the_wal_it_leaves(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "assistant.db")
    await store.open()
    try:
        limit = await store.run(
            lambda: store.db.conn.execute("PRAGMA journal_size_limit").fetchone()[0]
        )
        assert 0 < limit <= WAL_BOUND
    finally:
        await store.close()
    assert sqlite3.connect(tmp_path / "assistant.db").execute("PRAGMA journal_mode").fetchone()
