"""Edits in words after delivery (issue 15): "make the title bigger", 「メニューに値段を足して」,
"undo". Each edit is a new version with the old one kept; "undo" builds the one before again.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from assistant.dialog.edit_reader import EditReader
from assistant.dialog.manager import DialogManager
from assistant.events import SessionState, Turn
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.llm.ollama import OllamaModel
from assistant.store.sqlite import SQLiteStore
from assistant.understanding.edits import AnswerEdit, LookEdit, UndoEdit, understand_edit
from generators.look import look_css, with_look
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing.cafe_walk import cafe_walk
from testing.ollama import FakeOllama, unused_url
from testing.walk import Walker, english_manager

TODAY = datetime.date(2026, 12, 7)

# (job, words, what they change): the issue's own examples first.
UNDERSTOOD: list[tuple[str, str, Any]] = [
    ("cafe_page", "make the title bigger", LookEdit("title", 1)),
    ("cafe_page", "change the colour to green", AnswerEdit("main_color", "#008000", True)),
    ("cafe_page", "add our phone number", AnswerEdit("phone")),
    ("cafe_page", "写真を大きく", LookEdit("photo", 1)),
    ("cafe_page", "メニューに値段を足して", AnswerEdit("menu_items")),
    ("cafe_page", "undo", UndoEdit()),
    ("cafe_page", "元に戻して", UndoEdit()),
    ("cafe_page", "Make the title a bit smaller please", LookEdit("title", -1)),
    ("cafe_page", "文字を大きくして", LookEdit("text", 1)),
    ("cafe_page", "タイトルを小さく", LookEdit("title", -1)),
    ("cafe_page", "色を緑にして", AnswerEdit("main_color", "#008000", True)),
    ("cafe_page", "make it green", AnswerEdit("main_color", "#008000", True)),
    ("cafe_page", "add our phone number 03-1234-5678", AnswerEdit("phone", "03-1234-5678", True)),
    ("cafe_page", "電話番号は03-1234-5678にして", AnswerEdit("phone", "03-1234-5678", True)),
    ("cafe_page", "電話番号を足して", AnswerEdit("phone")),
    ("cafe_page", "add prices to the menu", AnswerEdit("menu_items")),
    ("cafe_page", "use the magazine layout", AnswerEdit("layout", "magazine", True)),
    ("cafe_page", "マガジン風にして", AnswerEdit("layout", "magazine", True)),
    ("cafe_page", "make it pop", AnswerEdit("mood", "pop", True)),
    ("cafe_page", "Change the shop name to Blue Harbor Café", AnswerEdit("shop_name", "Blue Harbor Café", True)),
    ("cafe_page", "店名をヒダマリカフェに変えて", AnswerEdit("shop_name", "ヒダマリカフェ", True)),
    ("cafe_page", "住所を東京都港区1-2-3にして", AnswerEdit("address", "東京都港区1-2-3", True)),
    ("event_page", "change the start time to 2 pm", AnswerEdit("start_time", "14:00", True)),
    ("event_page", "始まる時間を14時にして", AnswerEdit("start_time", "14:00", True)),
    ("event_page", "料金は無料にして", AnswerEdit("cost", "無料", True)),
    ("event_page", "make it formal", AnswerEdit("layout", "formal", True)),
    ("event_page", "会場を市民ホールに変えて", AnswerEdit("place", "市民ホール", True)),
    # As Whisper base hears them on some machines: "title" as "tidal", "add" as "at".
    ("cafe_page", "Make the tidal bigger", LookEdit("title", 1)),
    ("cafe_page", "at our phone number", AnswerEdit("phone")),
]  # fmt: skip
# Words that change nothing: a remark, thanks, or the what-next choices themselves.
NOT_EDITS = ["the menu is nice", "thank you", "ありがとう", "finish", "make another", "いいね"]


def _language(text: str) -> str:
    return "ja" if re.search(r"[\u3040-\u9fff]", text) else "en"


@pytest.mark.parametrize(("job_id", "text", "expected"), UNDERSTOOD)
def test_the_words_name_the_edit(
    catalog: JobCatalog, job_id: str, text: str, expected: Any
) -> None:
    job = catalog.jobs[job_id]
    assert understand_edit(job, text, _language(text), TODAY, looks=True) == expected


@pytest.mark.parametrize("text", NOT_EDITS)
def test_remarks_and_choices_are_no_edit(catalog: JobCatalog, text: str) -> None:
    job = catalog.jobs["cafe_page"]
    assert understand_edit(job, text, _language(text), TODAY, looks=True) is None


def test_a_program_has_no_look_to_change(catalog: JobCatalog) -> None:
    job = catalog.jobs["quiz_game"]
    assert understand_edit(job, "make the title bigger", "en", TODAY, looks=False) is None


def test_the_look_is_screen_only_and_never_markup() -> None:
    css = look_css({"title": 2, "photo": -1, "text": 9, "script": 3})  # type: ignore[dict-item]
    assert "h1 { zoom: 1.5625; }" in css and ".hero-photo" in css and "zoom: 0.8;" in css
    assert "body { zoom: 1.4238; }" in css, "nine steps are held at three"
    assert css.startswith("@media screen {"), "a printed poster keeps its page"
    assert "script" not in css
    page = "<html><head><title>t</title></head><body><h1>t</h1></body></html>"
    assert with_look(page, {}) == page
    looked = with_look(page, {"title": 1})
    assert looked.index('<style id="look">') < looked.index("</head>")


def _artifact_page(folder: str) -> str:
    return (Path(folder) / "index.html").read_text(encoding="utf-8")


async def _delivered(walk: Walker, language: str = "en") -> None:
    for text in cafe_walk(language=language):
        await walk.say(text)
    await walk.generate()


def _texts(replies: list) -> list[str]:
    return [reply.text for reply in replies]


async def test_look_and_answer_edits_make_new_versions_and_undo_goes_back_one(
    manager: DialogManager, queue: GenerationQueue
) -> None:
    walk = Walker(manager, queue, "k", "en")
    await _delivered(walk)
    first = await walk.artifact()
    assert '<style id="look">' not in _artifact_page(first.folder)

    said = _texts(await walk.say("make the title bigger"))
    assert said[0] == "Making the title bigger."
    assert said[1].startswith("I am making version 2 of your Café web page now.")
    await walk.generate()
    second = await walk.artifact()
    assert second.version == 2 and second.manifest["look"] == {"title": 1}
    assert "h1 { zoom: 1.25; }" in _artifact_page(second.folder)

    said = _texts(await walk.say("change the colour to green"))
    assert said[0] == "Changing the main colour to: green."
    await walk.generate()
    third = await walk.artifact()
    assert third.manifest["answers"]["main_color"] == "#008000"
    assert third.manifest["look"] == {"title": 1}, "the look stays through an answer edit"

    assert _texts(await walk.say("undo"))[0] == "Going back to the version before."
    await walk.generate()
    fourth = await walk.artifact()
    assert fourth.version == 4, "undo is a new version: links given out stay valid"
    assert fourth.manifest["answers"]["main_color"] == first.manifest["answers"]["main_color"]
    assert fourth.manifest["look"] == {"title": 1}

    await walk.say("undo")
    await walk.generate()
    fifth = await walk.artifact()
    assert "look" not in fifth.manifest and '<style id="look">' not in _artifact_page(fifth.folder)

    said = _texts(await walk.say("undo"))
    assert said[0] == "There is nothing to undo yet."
    session = await manager.session("k")
    assert session is not None and session.state == SessionState.DELIVERED
    for artifact in (first, second, third, fourth, fifth):
        assert Path(artifact.folder, "index.html").is_file(), "every version is kept"


async def test_a_size_has_limits_that_are_said(
    manager: DialogManager, queue: GenerationQueue
) -> None:
    walk = Walker(manager, queue, "k", "en")
    await _delivered(walk)
    for _ in range(3):
        await walk.say("make the text smaller")
        await walk.generate()
    said = _texts(await walk.say("make the text smaller"))
    assert said[0] == "That is already as small as it can go."
    assert (await walk.artifact()).version == 4, "nothing was queued at the limit"


async def test_an_edit_without_a_value_asks_only_that_question(
    manager: DialogManager, queue: GenerationQueue
) -> None:
    walk = Walker(manager, queue, "k", "en")
    await _delivered(walk)  # made without the extra sections
    said = _texts(await walk.say("add our phone number"))
    assert said == ["Let's change the phone number. Now it is: none.", said[1]]
    assert "phone number" in said[1]
    said = _texts(await walk.say("03-1234-5678"))
    assert said[-1].startswith("Here are your answers."), "a change is read back, as always"
    assert "03-1234-5678" in said[-1]
    await walk.say("yes")
    await walk.generate()
    artifact = await walk.artifact()
    answers = artifact.manifest["answers"]
    assert answers["add_more"] is True and answers["phone"] == "03-1234-5678"
    assert answers["address"] is None and answers["layout"] is None, "only that was asked"
    assert 'href="tel:0312345678"' in _artifact_page(artifact.folder)


async def test_japanese_menu_gets_prices_by_words(
    manager: DialogManager, queue: GenerationQueue
) -> None:
    walk = Walker(manager, queue, "kj", "ja")
    await _delivered(walk, "ja")
    said = _texts(await walk.say("メニューに値段を足して"))
    assert said[0] == "売っているものを直しましょう。いまは「コーヒー」です。"
    await walk.say("コーヒー 400円、ケーキ 500円")
    await walk.say("はい")
    await walk.generate()
    artifact = await walk.artifact()
    assert artifact.version == 2
    page = _artifact_page(artifact.folder)
    assert "400円" in page and "500円" in page
    said = _texts(await walk.say("写真を大きく"))
    assert said[0] == "写真を大きくします。"
    assert said[1].startswith("カフェのホームページの3番目の版を作っています。")


async def test_an_edit_waiting_in_the_queue_survives_a_restart(
    manager: DialogManager, queue: GenerationQueue, catalog: JobCatalog, tmp_path: Path
) -> None:
    walk = Walker(manager, queue, "k", "en")
    await _delivered(walk)
    await walk.say("make the title bigger")
    # Another process on the same database file: the session and the queued task as stored.
    other = SQLiteStore(tmp_path / "assistant.db")
    await other.open()
    try:
        session = await other.load("k")
        assert session is not None and session.look == {"title": 1}
        assert session.undo and session.undo[-1]["look"] == {}
        restarted = GenerationQueue(
            store=other, jobs=catalog, generators=build_generators(TemplateRenderer(), None),
            artifacts_dir=tmp_path / "artifacts", on_delivered=manager.deliver,
            on_failed=manager.generation_failed,
        )  # fmt: skip
        assert await restarted.run_once()
    finally:
        await other.close()
    artifact = await walk.artifact()
    assert artifact.version == 2 and artifact.manifest["look"] == {"title": 1}


# -- words the tables do not know: the language model reads them (fake Ollama, real wire) -----

MODEL = "qwen2.5:3b"
UNKNOWN = "I'd like people to be able to ring us"


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(models=[MODEL]) as server:
        yield server


def _reading_manager(
    host: str, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> DialogManager:
    reader = EditReader(OllamaModel(host, MODEL, timeout=3.0), timeout=3.0)
    return english_manager(catalog, phrases, store, edit_reader=reader)


async def test_the_model_reads_an_edit_the_tables_do_not_know(
    ollama: FakeOllama,
    catalog: JobCatalog,
    phrases: Phrases,
    store: SQLiteStore,
    queue: GenerationQueue,
) -> None:
    manager = _reading_manager(ollama.url, catalog, phrases, store)
    walk = Walker(manager, queue, "k", "en")
    await _delivered(walk)
    assert understand_edit(catalog.jobs["cafe_page"], UNKNOWN, "en", TODAY, looks=True) is None
    reply = '{"kind": "answer", "part": null, "way": null, "question": "phone", "value": "03-1111-2222"}'
    ollama.script(MODEL, reply)
    said = _texts(await walk.say(UNKNOWN))
    assert said[0] == "Changing the phone number to: 03-1111-2222."
    sent = ollama.requests_to("/api/chat")[0]
    assert json.dumps(UNKNOWN) in sent["messages"][1]["content"], "the words go as data"
    questions = sent["format"]["properties"]["question"]["enum"]
    assert "phone" in questions and "add_more" not in questions and "photo" not in questions
    pushed = _texts(walk.pushed)
    assert pushed[0] == "One moment, I am working out what to change…"
    await walk.generate()
    assert (await walk.artifact()).manifest["answers"]["phone"] == "03-1111-2222"


async def test_words_the_tables_know_never_ask_the_model(
    ollama: FakeOllama,
    catalog: JobCatalog,
    phrases: Phrases,
    store: SQLiteStore,
    queue: GenerationQueue,
) -> None:
    manager = _reading_manager(ollama.url, catalog, phrases, store)
    walk = Walker(manager, queue, "k", "en")
    await _delivered(walk)
    for words in ("make the title bigger", "undo", "finish"):
        await walk.say(words)
        if words != "finish":
            await walk.generate()
    assert not ollama.requests_to("/api/chat")


@pytest.mark.parametrize("failure", ["down", "junk", "none", "not_a_question"])
async def test_when_the_model_cannot_read_it_the_choices_are_said_again(
    failure: str,
    ollama: FakeOllama,
    catalog: JobCatalog,
    phrases: Phrases,
    store: SQLiteStore,
    queue: GenerationQueue,
) -> None:
    host = unused_url() if failure == "down" else ollama.url
    manager = _reading_manager(host, catalog, phrases, store)
    walk = Walker(manager, queue, "k", "en")
    await _delivered(walk)
    reply = {
        "junk": "this is not json",
        "none": '{"kind": "none", "part": null, "way": null, "question": null, "value": null}',
        "not_a_question": '{"kind": "answer", "part": null, "way": null, "question": "rocket", "value": "x"}',
    }.get(failure)
    if reply is not None:
        ollama.script(MODEL, reply)
    said = _texts(await walk.say(UNKNOWN))
    assert said[0].startswith("Sorry, I did not catch what to change.")
    session = await manager.session("k")
    assert session is not None and session.state == SessionState.DELIVERED
    assert session.version == 1, "nothing was changed"


async def test_after_delivery_words_heard_freely_are_acted_on_when_they_read_clearly(
    manager: DialogManager, queue: GenerationQueue
) -> None:
    """After delivery the kiosk listens freely, and Whisper scores a right "Finish" at 0.45:
    a choice said exactly, or an edit the tables read, is taken; other unsure words are
    asked again."""
    walk = Walker(manager, queue, "k", "en")
    await _delivered(walk)

    async def heard(text: str) -> list[str]:
        turn = Turn(session_key="k", text=text, language="en", channel="kiosk", confidence=0.45)
        return _texts(await manager.handle(turn))

    assert (await heard("bluh blah"))[0] == "Sorry, I did not catch that."
    assert (await heard("Make the title bigger."))[0] == "Making the title bigger."
    await walk.generate()
    assert (await heard("Finish."))[-1].startswith("Thank you")
    session = await manager.session("k")
    assert session is not None and session.state == SessionState.ENDED
