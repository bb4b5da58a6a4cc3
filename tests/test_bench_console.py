"""Issue 16's bench (``scripts/bench --issue16``) at a tiny size, so it cannot rot: the filled
database holds exactly the sessions and turns asked, in the store's schema, most of them days
old and a few in the live list; the measuring run takes every figure with its samples."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from assistant.store.sqlite import SQLiteStore
from scripts.bench_console import PAGES, measure, table
from scripts.bench_console_fill import fill

pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")


async def test_the_fill_holds_the_sessions_and_turns_asked_mostly_old(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await fill(data, sessions=200, turns=2003)
    with sqlite3.connect(data / "assistant.db") as db:
        assert db.execute("SELECT COUNT(*) FROM sessions").fetchone() == (200,)
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone() == (2003,)
        keys = {row[0] for row in db.execute("SELECT DISTINCT session_key FROM turns")}
        assert len(keys) == 200 and all(key.startswith("web:bench") for key in keys)
        builds = dict(db.execute("SELECT status, COUNT(*) FROM generations GROUP BY 1"))
        assert builds == {"done": 36, "failed": 4}  # every fifth session, a tenth failed
        assert db.execute("SELECT COUNT(*) FROM artifacts").fetchone() == (36,)
        assert db.execute("SELECT COUNT(*) FROM audit_log").fetchone() == (100,)
    store = SQLiteStore(data / "assistant.db")  # the store reads the copies as its own
    await store.open()
    try:
        live = await store.live_activity(time.time() - 3600)
        assert 0 < len(live) < 20  # a few within the hour, the rest days old
        assert all(len(activity.turns) == 8 for activity in live)
        history = await store.history(live[0].key)
        assert len(history) in (10, 11) and history[0]["replies"]
    finally:
        await store.close()


async def test_a_tiny_run_takes_every_figure(tmp_path: Path) -> None:
    figures = await measure(tmp_path / "data", sessions=30, turns=300, loads=2, samples=2)
    names = [figure.name for figure in figures]
    assert names[1 : 1 + len(PAGES)] == [f"page {page}" for page in PAGES]
    assert names[-2:] == [
        "help said twice -> needs help in the list",
        "staff message -> web user's socket",
    ]
    assert all(len(figure.samples) == 2 for figure in figures[1:])
    assert all(0 < s < 30 for figure in figures for s in figure.samples)
    printed = table(figures)
    assert "page /staff/charts?days=30" in printed and "p50 ms" in printed
