"""Recognition confidence per question (issue 16, part K2): a spoken turn stores the
recogniser's confidence with its history row (typed ones store none), and the figures give
each question its spoken answers, their mean confidence and the share read back (below the
dialog's threshold), checked against the stored history read turn by turn."""

from __future__ import annotations

from collections import defaultdict

from assistant.dialog.flow import LOW_CONFIDENCE
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.staff.metrics import QuestionStep, compute
from assistant.store import stats
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk


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
