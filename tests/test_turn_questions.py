"""The question each turn answered and asked, stored with the turn (migration m017, issue 16):
the columns written as a turn is committed equal what its replies say, a database made before
m017 gets the same columns from its replies when it migrates, and both chart the numbers the
history gives read turn by turn."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from assistant.dialog.flow import LOW_CONFIDENCE
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.staff.metrics import Figures, compute
from assistant.store.migrations import MIGRATIONS
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk
from tests.test_stats import _bulk_history

COLUMNS = ("question_asked", "question_answered", "problem")


async def _say(
    manager: DialogManager,
    key: str,
    texts: list[str],
    *,
    confidence: dict[int, float] | None = None,
) -> None:
    """``texts`` typed on the web, or said at a kiosk when ``confidence`` is given (turn ``n``
    heard with ``confidence[n]``, 0.9 otherwise)."""
    for n, text in enumerate(texts):
        if confidence is None:
            await manager.handle(Turn(key, text=text, language="en", channel="web"))
        else:
            heard = confidence.get(n, 0.9)
            turn = Turn(key, text=text, language="en", channel="kiosk", confidence=heard)
            await manager.handle(turn)


async def _histories(manager: DialogManager, store: SQLiteStore) -> None:
    """Kai speaks the café page, heard badly at the shop's name; Lu types, is refused at the
    menu (too long) and gives up there; Mo reaches the read-back, changes the shop's name and
    confirms; Eve is greeted and leaves; and 200 bulk sessions, a fifth of them refused six
    times at q3, are heard at 0.5 to 0.99."""
    walk = cafe_walk()
    await _say(manager, "kai", walk, confidence={walk.index("Blue Bakery"): 0.4})
    await _say(manager, "lu", [*cafe_walk(until="menu_items"), "x" * 2000])
    await _say(manager, "mo", [*cafe_walk(confirm=False), "1", "Green Bakery", "yes"])
    await _say(manager, "eve", [""])
    await store.run(_bulk_history, store, 200)

    def hear() -> None:
        with store.db.conn:
            store.db.conn.execute(
                "UPDATE turns SET confidence = 0.5 + (id % 50) / 100.0 "
                "WHERE state_before = 'ask' AND session_key LIKE 's%'"
            )

    await store.run(hear)


def _rows(path: Path) -> list[dict[str, Any]]:
    """Every turn of the database at ``path``, oldest first, its replies parsed."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        rows = [dict(row) for row in conn.execute("SELECT * FROM turns ORDER BY id")]
    finally:
        conn.close()
    return [{**row, "replies": json.loads(row["replies"])} for row in rows]


@dataclass
class _Question:
    """One question's numbers as the history gives them."""

    sessions: set[str] = field(default_factory=set)
    reasks: int = 0
    stopped: int = 0
    heard: list[float] = field(default_factory=list)


def _read(rows: list[dict[str, Any]]) -> tuple[dict[str, _Question], list[dict[str, Any]]]:
    """The numbers per question, and each turn's expected columns, read turn by turn from the
    replies: a turn asked the question its question reply names, told of a problem when a
    problem reply came with it, and, in the ``ask`` or ``edit`` state, answered the question
    asked last before it; a session that never reached the read-back stopped at its last."""
    questions: dict[str, _Question] = defaultdict(_Question)
    expected: list[dict[str, Any]] = []
    last: dict[str, str] = {}
    confirmed: set[str] = set()
    for row in rows:
        key, kinds = row["session_key"], [reply["kind"] for reply in row["replies"]]
        answered = last.get(key) if row["state_before"] in ("ask", "edit") else None
        asked = next((r["question_id"] for r in row["replies"] if r["kind"] == "question"
                      and r.get("question_id")), None)  # fmt: skip
        expected.append({"question_asked": asked, "question_answered": answered,
                         "problem": int("problem" in kinds)})  # fmt: skip
        if row["confidence"] is not None and row["state_before"] == "ask" and answered:
            questions[answered].heard.append(row["confidence"])
        if asked:
            questions[asked].sessions.add(key)
            questions[asked].reasks += "problem" in kinds
            last[key] = asked
        if row["state_after"] == "confirm":
            confirmed.add(key)
    for key, question in last.items():
        questions[question].stopped += key not in confirmed
    return questions, expected


def _assert_charts_the_history(figures: Figures, questions: dict[str, _Question]) -> None:
    steps = {step.question_id: step for f in figures.funnels for step in f.questions}
    assert set(steps) == set(questions)
    for name, step in steps.items():
        heard, read = questions[name].heard, questions[name]
        low = sum(value < LOW_CONFIDENCE for value in heard)
        assert (step.reached, step.reasks, step.stopped, step.spoken) == (
            len(read.sessions), read.reasks, read.stopped, len(heard),
        ), name  # fmt: skip
        assert step.mean_confidence == (round(sum(heard) / len(heard), 3) if heard else None)
        assert step.low_share == (round(low / len(heard), 3) if heard else None), name


def _before_m017(source: Path, target: Path) -> None:
    """A database at ``target`` migrated up to m016, holding the rows of ``source`` in the
    columns it had then, as a service not yet updated would have left it."""
    conn = sqlite3.connect(target)
    try:
        MIGRATIONS.apply(sqlite_utils.Database(conn), stop_before="m017_turn_questions")
        conn.execute("ATTACH DATABASE ? AS made", (str(source),))
        for table in ("sessions", "turns", "generations", "artifacts"):
            names = [row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")]
            columns = ", ".join(names)
            conn.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM made.{table}")
        conn.commit()
        assert not set(COLUMNS) & set(names), "the turns of before m017 had no such columns"
    finally:
        conn.close()


async def test_a_committed_turn_stores_what_its_replies_say(
    manager: DialogManager, store: SQLiteStore
) -> None:
    await _histories(manager, store)
    rows = _rows(store.path)
    questions, expected = _read(rows)
    assert [{name: row[name] for name in COLUMNS} for row in rows] == expected
    # The walks hold every case: answers to a question and to an edit of one, a refusal, and
    # turns that answered nothing (the greeting, the menu, the read-back's yes).
    assert any(row["state_before"] == "edit" and row["question_answered"] for row in rows)
    assert any(row["problem"] for row in rows if row["session_key"] == "lu")
    assert any(row["question_answered"] is None for row in rows if row["state_before"] != "ask")
    mo = [row for row in rows if row["session_key"] == "mo" and row["state_before"] == "edit"]
    assert [row["question_answered"] for row in mo] == ["shop_name"]
    _assert_charts_the_history(await compute(store), questions)


async def test_a_database_from_before_m017_charts_the_same_after_migrating(
    manager: DialogManager, store: SQLiteStore, tmp_path: Path
) -> None:
    await _histories(manager, store)
    figures = await compute(store)
    old = tmp_path / "before" / "assistant.db"
    old.parent.mkdir()
    _before_m017(store.path, old)

    migrated = SQLiteStore(old)
    await migrated.open()
    try:
        after = await compute(migrated)
    finally:
        await migrated.close()
    rows = _rows(old)
    questions, expected = _read(rows)
    assert [{name: row[name] for name in COLUMNS} for row in rows] == expected
    assert rows == _rows(store.path)  # every column, as the commits wrote them
    assert after == figures
    _assert_charts_the_history(after, questions)
    steps = {step.question_id: step for f in after.funnels for step in f.questions}
    assert (steps["q3"].reasks, steps["menu_items"].reasks, steps["menu_items"].stopped) == (
        40 * 6, 1, 1,
    )  # fmt: skip
    assert steps["shop_name"].spoken == 2  # Kai's answer, and his yes to its read-back
