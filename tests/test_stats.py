"""The numbers behind the staff charts (issue 16, part C), from a history made by the real
dialog manager walking the café job, where every number is known, and from a bulk history
of 10,000 sessions and 100,000 turns."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from assistant.cli.main import main
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.generation.queue import GenerationQueue
from assistant.staff.metrics import DAY, Figures, JobFunnel, QuestionStep, compute, percentile
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk
from testing.walk import FIXED_NOW, Walker
from tests.store_backends import Backend, Store, sqlite_only


async def _type(manager: DialogManager, key: str, channel: str, texts: list[str]) -> None:
    for text in texts:
        await manager.handle(Turn(key, text=text, language="en", channel=channel))


@pytest.fixture
async def store(backend: Backend) -> Store:
    """This file's tests on both stores (issue 17): the conftest's ``store`` is SQLite alone."""
    return await backend.open()


async def _four_users(manager: DialogManager, queue: GenerationQueue, store: Store) -> None:
    """Ann gets her page; Bo stops at the read-back; Cy is refused once at the second
    question (too long) and gives up there, on the web; Di confirms, but the build fails; Eve
    is greeted at a kiosk and walks away before choosing anything."""
    ann = Walker(manager, queue, "ann", "en")
    for text in cafe_walk():
        await ann.say(text)
    await ann.generate()
    await _type(manager, "bo", "test", cafe_walk(confirm=False))
    await _type(manager, "cy", "web", [*cafe_walk(until="menu_items"), "x" * 2000])
    await _type(manager, "di", "test", cafe_walk())
    task = await store.claim_next()
    assert task is not None and task.request.session_key == "di"
    await store.fail(task.request.id or 0, "check_failed", "the page did not pass its checks")
    await _type(manager, "eve", "kiosk", [""])


async def test_figures_of_a_walked_history(
    manager: DialogManager, queue: GenerationQueue, store: Store
) -> None:
    await _four_users(manager, queue, store)
    figures = await compute(store)

    funnel, no_job = figures.funnels
    assert (funnel.job_id, funnel.started, funnel.confirmed, funnel.delivered) == (
        "cafe_page", 4, 3, 1,
    )  # fmt: skip
    assert no_job == JobFunnel(job_id="", started=1, confirmed=0, delivered=0, questions=())
    steps = {step.question_id: step for step in funnel.questions}
    assert [step.question_id for step in funnel.questions][:3] == [
        "shop_name", "menu_items", "opening_hours",
    ]  # fmt: skip
    assert steps["shop_name"] == QuestionStep("shop_name", reached=4, stopped=0, reasks=0)
    assert steps["menu_items"] == QuestionStep("menu_items", reached=4, stopped=1, reasks=1)
    assert steps["opening_hours"] == QuestionStep("opening_hours", reached=3, stopped=0, reasks=0)
    assert sum(step.stopped for step in funnel.questions) == 1
    assert sum(step.reasks for step in funnel.questions) == 1

    day = time.strftime("%Y-%m-%d", time.localtime(FIXED_NOW))
    assert [(d.day, d.channel, d.sessions, d.completions) for d in figures.days] == [
        (day, "kiosk", 1, 0), (day, "test", 3, 1), (day, "web", 1, 0),
    ]  # fmt: skip
    assert (figures.sessions, figures.completions) == (5, 1)
    # The walk's clock stands still, so Ann's page came zero seconds after her first word.
    assert (figures.to_delivery.count, figures.to_delivery.p50) == (1, 0.0)
    assert figures.generation.count == 1 and figures.generation.p50 is not None
    assert figures.generation.p50 > 0 and set(figures.generation_by_job) == {"cafe_page"}
    # No model is configured in tests: the one artifact is the template's alone.
    assert [(m.model, m.outcome, m.artifacts) for m in figures.models] == [("", "", 1)]
    assert [(f.code, f.count) for f in figures.failures] == [("check_failed", 1)]

    # A window that starts after these sessions holds none of them.
    later = await compute(store, days=1, clock=lambda: FIXED_NOW + 3 * DAY)
    assert later.funnels == () and later.days == () and later.to_delivery.count == 0
    week = await compute(store, days=7, clock=lambda: FIXED_NOW + 3 * DAY)
    assert week.funnels == figures.funnels


@sqlite_only  # `assistant stats` reads the data folder's SQLite file
async def test_assistant_stats_prints_tables_and_json(
    manager: DialogManager, queue: GenerationQueue, store: SQLiteStore, tmp_path: Path
) -> None:
    await _four_users(manager, queue, store)
    config = tmp_path / "assistant.toml"
    config.write_text(f'data_dir = "{store.path.parent}"\n', encoding="utf-8")

    def run(*argv: str) -> tuple[int, str]:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["--config", str(config), "stats", "--lang", "en", *argv])
        return code, out.getvalue()

    code, text = await asyncio.to_thread(run)
    assert code == 0
    assert text.startswith("5 sessions, 1 delivered\n")
    assert "  cafe_page        4        3          1\n" in text
    assert "  (no job chosen)  1        0          0\n" in text
    # Everyone typed: no answer was spoken, so no confidence is shown (issue 16, part K2).
    assert (
        "  menu_items     4        1             1            0               -                -\n"
        in text
    )
    assert "  check_failed  1\n" in text
    assert "From the first word to the delivery: 1 cases, median 0.0s" in text

    code, text = await asyncio.to_thread(run, "--lang", "ja")
    assert text.startswith("セッション 5 件、お渡し 1 件\n")
    assert "  （ジョブ未選択）  1     0             0\n" in text
    assert "  menu_items     4     1           1         0           -           -\n" in text

    code, text = await asyncio.to_thread(run, "--json")
    data = json.loads(text)
    assert (data["sessions"], data["completions"]) == (5, 1)
    menu = next(q for q in data["funnels"][0]["questions"] if q["question_id"] == "menu_items")
    assert menu == {
        "question_id": "menu_items", "reached": 4, "stopped": 1, "reasks": 1,
        "spoken": 0, "mean_confidence": None, "low_share": None,
    }  # fmt: skip


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.9) == 3.0
    values = [float(n) for n in range(1, 11)]
    assert (percentile(values, 0.5), percentile(values, 0.9)) == (5.0, 9.0)


def _reply(kind: str, question: str | None = None) -> dict[str, object]:
    wire: dict[str, object] = {"kind": kind, "text": "…", "speech": "…", "language": "en"}
    if question:
        wire["question_id"] = question
    return wire


def _bulk_history(store: SQLiteStore, sessions: int) -> None:
    """``sessions`` sessions of ten turns each, written with bulk inserts.

    Every fifth session gives up at q3 after being refused there six times; the others are
    asked q1 to q7, reach the read-back, and the odd ones get a delivery a minute or more
    after their first turn."""
    session_rows, turn_rows = [], []
    channels = ("web", "kiosk", "telegram")
    for n in range(sessions):
        key, start = f"s{n}", FIXED_NOW - (n % 10) * DAY
        gives_up = n % 5 == 0
        state = "ask" if gives_up else ("delivered" if n % 2 else "generating")
        session_rows.append((key, f"C{n:07d}", "en", channels[n % 3], state, "cafe_page", 1, start))
        turns = [("welcome", "choose_job", [_reply("welcome"), _reply("menu")])]
        if gives_up:
            turns += [("ask", "ask", [_reply("question", q)]) for q in ("q1", "q2", "q3")]
            turns += [("ask", "ask", [_reply("problem"), _reply("question", "q3")])] * 6
        else:
            turns += [("ask", "ask", [_reply("question", f"q{q}")]) for q in range(1, 8)]
            turns += [("ask", "confirm", [_reply("confirm")])]
            turns += [("generating", state, [_reply("delivery" if n % 2 else "progress")])]
        for index, (before, after, replies) in enumerate(turns):
            at = start + index * (6 + n % 100 / 10)
            turn_rows.append((key, at, channels[n % 3], "…", before, after, json.dumps(replies)))

    def write() -> None:
        with store.db.conn:
            store.db.conn.executemany(
                "INSERT INTO sessions (key, code, language, channel, state, job_id, revision, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                session_rows,
            )
            store.db.conn.executemany(
                "INSERT INTO turns (session_key, at, channel, text, state_before, state_after, "
                "replies) VALUES (?, ?, ?, ?, ?, ?, ?)",
                turn_rows,
            )

    return write()


@sqlite_only  # writes the bulk history with SQLite's own connection
async def test_figures_of_ten_thousand_sessions_and_a_hundred_thousand_turns(
    store: SQLiteStore,
) -> None:
    await store.run(_bulk_history, store, 10_000)
    assert (await store.count("sessions"), await store.count("turns")) == (10_000, 100_000)

    started = time.perf_counter()
    figures: Figures = await compute(store)
    seconds = time.perf_counter() - started
    print(f"\nfigures of 10,000 sessions and 100,000 turns in {seconds:.2f} s")

    (funnel,) = figures.funnels
    assert funnel == JobFunnel(
        job_id="cafe_page", started=10_000, confirmed=8_000, delivered=4_000,
        questions=(
            QuestionStep("q1", 10_000, 0, 0), QuestionStep("q2", 10_000, 0, 0),
            QuestionStep("q3", 10_000, 2_000, 12_000),
            *(QuestionStep(f"q{q}", 8_000, 0, 0) for q in range(4, 8)),
        ),
    )  # fmt: skip
    assert sum(day.sessions for day in figures.days) == 10_000
    assert sum(day.completions for day in figures.days) == 4_000
    assert {day.channel for day in figures.days} == {"web", "kiosk", "telegram"}
    assert figures.to_delivery.count == 4_000
    # Nine turn gaps of 6 to 15.9 seconds: every delivery came 54 to 143.1 s after the start.
    assert figures.to_delivery.p50 is not None and figures.to_delivery.p90 is not None
    assert 54 <= figures.to_delivery.p50 <= figures.to_delivery.p90 <= 143.1
