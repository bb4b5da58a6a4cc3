"""Recognition confidence per question (issue 16, part K2): a spoken turn stores the
recogniser's confidence with its history row (typed ones store none), and the figures give
each question its spoken answers, their mean confidence and the share read back (below the
dialog's threshold), checked against the stored history read turn by turn."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections import defaultdict
from pathlib import Path

from assistant.cli.main import main
from assistant.dialog.flow import LOW_CONFIDENCE
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.staff.metrics import QuestionStep, compute
from assistant.store import stats
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk
from tests.test_stats import _bulk_history


async def _speak(
    manager: DialogManager, key: str, texts: list[str], confidence: dict[int, float]
) -> None:
    """``texts`` said at a kiosk; turn ``n`` heard with ``confidence[n]`` (0.9 otherwise)."""
    for n, text in enumerate(texts):
        heard = confidence.get(n, 0.9)
        await manager.handle(Turn(key, text=text, language="en", channel="kiosk", confidence=heard))


async def _type(manager: DialogManager, key: str, texts: list[str]) -> None:
    for text in texts:
        await manager.handle(Turn(key, text=text, language="en", channel="web"))


def _reference(histories: list[list[dict]]) -> dict[str, list[float]]:
    """Spoken answers per question, read from the history rows one by one: a turn in the
    ``ask`` state that came with a confidence answers the last question asked before it."""
    heard: dict[str, list[float]] = defaultdict(list)
    for history in histories:
        asked = None
        for row in history:
            if row["confidence"] is not None and row["state_before"] == "ask" and asked:
                heard[asked].append(row["confidence"])
            for reply in row["replies"]:
                if reply.get("kind") == "question" and reply.get("question_id"):
                    asked = reply["question_id"]
    return heard


async def test_a_spoken_turn_stores_its_confidence_and_a_typed_one_none(
    manager: DialogManager, store: SQLiteStore
) -> None:
    await manager.handle(Turn("k", text="", language="en", channel="kiosk", confidence=0.83))
    await manager.handle(Turn("w", text="", language="en", channel="web"))
    (spoken,) = await store.history("k")
    (typed,) = await store.history("w")
    assert spoken["confidence"] == 0.83
    assert typed["confidence"] is None


async def test_confidence_per_question_equals_the_history(
    manager: DialogManager, store: SQLiteStore
) -> None:
    walk = cafe_walk()
    shop = walk.index("Blue Bakery")
    await _speak(manager, "kai", walk, {shop: 0.95})
    # Lu is heard badly at the shop's name, is read it back, and goes no further.
    await _speak(manager, "lu", cafe_walk(until="menu_items"), {shop: 0.4})
    await _type(manager, "bo", walk)
    figures = await compute(store)

    (funnel,) = figures.funnels
    steps = {step.question_id: step for step in funnel.questions}
    histories = [await store.history(key) for key in ("kai", "lu", "bo")]
    reference = _reference(histories)
    assert set(reference) <= set(steps) and "shop_name" in reference
    for question, step in steps.items():
        values = reference.get(question, [])
        low = sum(value < LOW_CONFIDENCE for value in values)
        assert step.spoken == len(values), question
        assert step.mean_confidence == (round(sum(values) / len(values), 3) if values else None), (
            question
        )
        assert step.low_share == (round(low / len(values), 3) if values else None), question

    # What staff see: the shop's name heard at 0.95 and 0.4 (mean 0.675), half of it read
    # back; the menu heard once, at 0.9, from Kai alone (Bo typed and counts for nothing).
    shop_step, menu_step = steps["shop_name"], steps["menu_items"]
    assert (shop_step.spoken, shop_step.mean_confidence, shop_step.low_share) == (2, 0.675, 0.5)
    assert (menu_step.spoken, menu_step.mean_confidence, menu_step.low_share) == (1, 0.9, 0.0)
    assert (shop_step.reached, shop_step.stopped) == (3, 1)


async def test_typed_answers_leave_confidence_empty(
    manager: DialogManager, store: SQLiteStore
) -> None:
    await _type(manager, "bo", cafe_walk())
    (funnel,) = (await compute(store)).funnels
    assert funnel.questions and all(
        (q.spoken, q.mean_confidence, q.low_share) == (0, None, None) for q in funnel.questions
    )
    assert funnel.questions[0] == QuestionStep(funnel.questions[0].question_id, 1, 0, 0)


def test_the_read_back_threshold_is_the_dialogs() -> None:
    # The store may not import the dialog: it keeps its own copy, held equal here.
    assert stats.LOW_CONFIDENCE == LOW_CONFIDENCE


async def test_confidence_of_a_bulk_history_with_re_asks_equals_the_history(
    store: SQLiteStore,
) -> None:
    # 1,000 sessions of ten turns (every fifth refused six times at q3), each answer heard
    # at 0.5 to 0.99: the figures equal the history read turn by turn.
    await store.run(_bulk_history, store, 1_000)

    def hear() -> list[dict]:
        with store.db.conn:
            store.db.conn.execute(
                "UPDATE turns SET confidence = 0.5 + (id % 50) / 100.0 WHERE state_before = 'ask'"
            )
        rows = store.db.execute(
            "SELECT session_key, state_before, confidence, replies FROM turns ORDER BY id"
        ).fetchall()
        by_session: dict[str, list[dict]] = defaultdict(list)
        for key, before, confidence, replies in rows:
            by_session[key].append(
                {"state_before": before, "confidence": confidence, "replies": json.loads(replies)}
            )
        return list(by_session.values())

    reference = _reference(await store.run(hear))
    (funnel,) = (await compute(store)).funnels
    for step in funnel.questions:
        values = reference[step.question_id]
        low = sum(value < LOW_CONFIDENCE for value in values)
        assert (step.spoken, step.mean_confidence, step.low_share) == (
            len(values), round(sum(values) / len(values), 3), round(low / len(values), 3),
        ), step.question_id  # fmt: skip
    q3 = next(step for step in funnel.questions if step.question_id == "q3")
    # q3 is answered once by 800 sessions, and six times (each answer refused, so asked
    # again) by the 200 that gave up there.
    assert (q3.spoken, q3.reasks) == (800 + 200 * 6, 200 * 6)


async def test_assistant_stats_prints_the_confidence_per_question(
    manager: DialogManager, store: SQLiteStore, tmp_path: Path
) -> None:
    walk = cafe_walk()
    await _speak(manager, "kai", walk, {walk.index("Blue Bakery"): 0.4})
    config = tmp_path / "assistant.toml"
    config.write_text(f'data_dir = "{store.path.parent}"\n', encoding="utf-8")

    def run() -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["--config", str(config), "stats", "--lang", "en"]) == 0
        return out.getvalue()

    text = await asyncio.to_thread(run)
    header, shop, menu = (line.split() for line in text.split("\n") if " reached " in line or
                          line.startswith(("  shop_name ", "  menu_items ")))  # fmt: skip
    assert header[-5:] == ["mean", "confidence", "read", "back", "(<0.6)"]
    # Kai was heard at 0.4 giving the shop's name, read it back, and said yes at 0.9.
    assert shop[-3:] == ["2", "65.0%", "50.0%"]
    assert menu[-3:] == ["1", "90.0%", "0.0%"]
