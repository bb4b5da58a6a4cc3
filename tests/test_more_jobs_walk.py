"""The seven jobs of issue 15 part J, walked through the dialog with answers typed as a user
types them, in both languages, and made into an artifact: the menu finds each job by its
name, every answer is kept as meant ("apple = pomme" stays one card; 「月曜 朝＝体操」 one
activity, its full-width ＝ read as =), and the delivered file carries them. No model, no browser (tests/test_more_jobs.py
opens the results in Chromium)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.dialog.manager import DialogManager
from assistant.events import ReplyKind
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from testing.walk import HEX, Walker

ANY_COLOR = object()  # a colour the words name: any #rrggbb

# job -> language -> [(typed answer, stored value)] in question order.
TYPED: dict[str, dict[str, list[tuple[str, Any]]]] = {
    "flashcards": {
        "en": [
            ("French words", "French words"),
            ("apple = pomme, cat = chat", ["apple = pomme", "cat = chat"]),
            ("orange", ANY_COLOR),
            ("no", False),
        ],
        "ja": [
            ("フランス語のたんご", "フランス語のたんご"),
            ("りんご＝pomme、ねこ＝chat", ["りんご=pomme", "ねこ=chat"]),
            ("オレンジ", ANY_COLOR),
            ("いいえ", False),
        ],
    },
    "bingo_card": {
        "en": [
            ("Summer Fair Bingo", "Summer Fair Bingo"),
            ("dog, cat, rabbit", ["dog", "cat", "rabbit"]),
            ("yes", True),
            ("skip", "#6a1b9a"),
        ],
        "ja": [
            ("なつまつりビンゴ", "なつまつりビンゴ"),
            ("いぬ、ねこ、うさぎ", ["いぬ", "ねこ", "うさぎ"]),
            ("はい", True),
            ("スキップ", "#6a1b9a"),
        ],
    },
    "timer": {
        "en": [("Tea break", "Tea break"), ("5", 5), ("blue", ANY_COLOR)],
        "ja": [("お茶の時間", "お茶の時間"), ("5分", 5), ("青", ANY_COLOR)],
    },
    "savings_tracker": {
        "en": [
            ("A new bike", "A new bike"),
            ("300", 300),
            ("pounds", "pound"),
            ("skip", "#ef6c00"),
        ],
        "ja": [
            ("新しい自転車", "新しい自転車"),
            ("30000", 30000),
            ("円", "yen"),
            ("スキップ", "#ef6c00"),
        ],
    },
    "weekly_timetable": {
        "en": [
            ("Sunflower group's week", "Sunflower group's week"),
            ("Monday to Friday", "weekdays"),
            ("morning, lunch, afternoon", ["morning", "lunch", "afternoon"]),
            (
                "Monday morning = exercise, Wednesday 3 = swimming",
                ["Monday morning = exercise", "Wednesday 3 = swimming"],
            ),
            ("skip", "#283593"),
        ],
        "ja": [
            ("ひまわり組の一週間", "ひまわり組の一週間"),
            ("月曜から金曜", "weekdays"),
            ("朝、昼、午後", ["朝", "昼", "午後"]),
            ("月曜 朝＝体操、水曜 3＝プール", ["月曜 朝=体操", "水曜 3=プール"]),
            ("スキップ", "#283593"),
        ],
    },
    "recipe_card": {
        "en": [
            ("Pumpkin soup", "Pumpkin soup"),
            ("4", 4),
            ("1 pumpkin, 1 onion, 2 cups of milk", ["1 pumpkin", "1 onion", "2 cups of milk"]),
            ("chop the onion, fry it, add the milk", ["chop the onion", "fry it", "add the milk"]),
            ("skip", None),
            ("skip", "#bf360c"),
        ],
        "ja": [
            ("かぼちゃの煮物", "かぼちゃの煮物"),
            ("4", 4),
            ("かぼちゃ 4分の1こ、しょうゆ 大さじ1", ["かぼちゃ 4分の1こ", "しょうゆ 大さじ1"]),
            (
                "かぼちゃを切る、だしで煮る、しょうゆを入れる",
                ["かぼちゃを切る", "だしで煮る", "しょうゆを入れる"],
            ),
            ("前の日に作ると、もっとおいしい", "前の日に作ると、もっとおいしい"),
            ("スキップ", "#bf360c"),
        ],
    },
    "business_card": {
        "en": [
            ("Hana Yamada", "Hana Yamada"),
            ("Baker", "Baker"),
            ("Sunny Workshop", "Sunny Workshop"),
            ("020 7946 0000", "020 7946 0000"),
            ("hana@example.com", "hana@example.com"),
            ("skip", "#37474f"),
        ],
        "ja": [
            ("山田 花子", "山田 花子"),
            ("パン職人", "パン職人"),
            ("ひだまり工房", "ひだまり工房"),
            ("03-1234-5678", "03-1234-5678"),
            ("hana@example.jp", "hana@example.jp"),
            ("スキップ", "#37474f"),
        ],
    },
}

# What the delivered file must show, from the answers (a card's front, a placed activity...).
SHOWN: dict[str, dict[str, list[str]]] = {
    "flashcards": {"en": ["French words", '"pomme"'], "ja": ["フランス語のたんご", '"pomme"']},
    "bingo_card": {"en": ["Summer Fair Bingo", '"rabbit"'], "ja": ["なつまつりビンゴ", '"うさぎ"']},
    "timer": {"en": ["Tea break", "05:00"], "ja": ["お茶の時間", "05:00"]},
    "savings_tracker": {"en": ["A new bike", '"GBP"'], "ja": ["新しい自転車", '"JPY"']},
    "weekly_timetable": {
        "en": ["<td><p>exercise</p></td>", "<td><p>swimming</p></td>", "Monday to Friday"],
        "ja": ["<td><p>体操</p></td>", "<td><p>プール</p></td>", "月曜から金曜"],
    },
    "recipe_card": {
        "en": ["<li>2 cups of milk</li>", "<li>add the milk</li>", "Serves 4"],
        "ja": ["<li>しょうゆ 大さじ1</li>", "<li>しょうゆを入れる</li>", "4人分"],
    },
    "business_card": {
        "en": ['href="tel:02079460000"', 'href="mailto:hana%40example.com"', "<svg"],
        "ja": ['href="tel:0312345678"', 'href="mailto:hana%40example.jp"', "<svg"],
    },
}


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("job_id", sorted(TYPED))
async def test_a_new_job_is_walked_with_typed_answers_and_delivered(
    job_id: str, language: str, catalog: JobCatalog,
    manager: DialogManager, queue: GenerationQueue,
) -> None:  # fmt: skip
    job = catalog.jobs[job_id]
    walk = Walker(manager, queue, f"typed-{job_id}-{language}", language)
    await walk.say(None)
    replies = await walk.say(job.title.get(language))
    assert replies[-1].question_id == job.questions[0].id, [r.text for r in replies]

    typed = TYPED[job_id][language]
    assert len(typed) == len(job.questions)
    for question, (utterance, _value) in zip(job.questions, typed, strict=True):
        replies = await walk.say(utterance)
        assert replies[0].kind == ReplyKind.INFO, (question.id, utterance, replies[0].text)
    assert replies[-1].kind == ReplyKind.CONFIRM

    session = await manager.session(walk.key)
    for question, (utterance, value) in zip(job.questions, typed, strict=True):
        stored = session.answers[question.id]
        if value is ANY_COLOR:
            assert isinstance(stored, str) and HEX.fullmatch(stored), (utterance, stored)
        else:
            assert stored == value, (question.id, utterance)

    await walk.say("はい" if language == "ja" else "yes")
    delivered = await walk.generate()
    assert delivered[0].kind == ReplyKind.DELIVERY, [r.text for r in delivered]
    folder = Path((await walk.artifact()).folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["checks_passed"], manifest["checks"]
    assert all(check["passed"] for check in manifest["checks"]), manifest["checks"]
    page = (folder / "index.html").read_text(encoding="utf-8")
    for shown in SHOWN[job_id][language]:
        assert shown in page, shown
