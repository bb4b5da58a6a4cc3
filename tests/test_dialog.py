"""The dialog as a user meets it: whole reply lists, word for word, and every command."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.dialog.manager import DialogManager
from assistant.events import SessionState
from assistant.generation.queue import GenerationQueue
from assistant.jobs.loader import load_jobs
from assistant.jobs.phrases import Phrases
from assistant.store.sqlite import SQLiteStore
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing.walk import Walker
from tests.conftest import FIXED_NOW

DATA = Path(__file__).parent / "data"


@pytest.fixture
async def walk(phrases: Phrases, store: SQLiteStore, tmp_path: Path) -> AsyncIterator[Walker]:
    catalog = load_jobs(DATA / "jobs")
    manager = DialogManager(jobs=catalog, phrases=phrases, store=store, clock=lambda: FIXED_NOW)
    generators = build_generators(TemplateRenderer(DATA / "templates"), None)
    queue = GenerationQueue(
        store=store, jobs=catalog, generators=generators,
        artifacts_dir=tmp_path / "artifacts", on_delivered=manager.deliver,
        on_failed=manager.generation_failed,
    )  # fmt: skip
    yield Walker(manager, queue, "user", "en")


def lines(replies: list) -> list[str]:
    """Replies as `kind/state: text [choices]`, which is what a person sees, in order."""
    out = []
    for reply in replies:
        choices = " | ".join(f"{c.number}={c.label}" for c in reply.choices)
        out.append(
            f"{reply.kind.value}/{reply.state.value}: {reply.text}"
            + (f" [{choices}]" if choices else "")
        )
    return out


async def test_whole_conversation_in_english(walk: Walker) -> None:
    assert lines(await walk.say(None)) == [
        "welcome/choose_job: Hello! I can make a web page or a small program for you. I will ask a few questions, and you answer them.",
        "menu/choose_job: What would you like to make? Say its number or its name, or tell me in your own words. [1=Tea page]",
    ]
    assert lines(await walk.say("tea")) == [
        "info/ask: Tea page. Let's begin. I will ask 4 questions.",
        "question/ask: Question 1 of 4. Name of the tea?",
    ]
    assert lines(await walk.say("Sencha")) == [
        "info/ask: Got it: Sencha.",
        "question/ask: Question 2 of 4. How strong? Say a number or a name. [1=light | 2=strong]",
    ]
    assert lines(await walk.say("strnog")) == [
        "info/ask: Got it: strong.",
        "question/ask: Question 3 of 4. How many cups?",
    ]
    assert lines(await walk.say("twelve")) == [
        "problem/ask: Please say a number no bigger than 10.",
        "question/ask: Question 3 of 4. How many cups?",
    ]
    assert lines(await walk.say("three")) == [
        "info/ask: Got it: 3.",
        "question/ask: Question 4 of 4. Sugar? Please say yes or no. You can say skip if you do not need this. If you skip, I will use no. [1=yes | 2=no]",
    ]
    assert lines(await walk.say("skip")) == [
        "info/confirm: Skipped.",
        "confirm/confirm: Here are your answers.\n1. Name of the tea? Sencha\n2. How strong? strong\n3. How many cups? 3\n4. Sugar? no\nIs everything right? Say yes to make it, or say the number of an answer to change. [0=Yes, make it | 1=Change answer 1 | 2=Change answer 2 | 3=Change answer 3 | 4=Change answer 4]",
    ]
    assert lines(await walk.say("yes")) == [
        "progress/generating: Thank you! I am making your Tea page now. It takes a moment. Say cancel to stop.",
    ]
    delivered = await walk.generate()
    assert lines(delivered)[1:] == [
        "question/delivered: What next? Tell me what to change, or say change something, make another, or finish. [1=Change something | 2=Make another | 3=Finish]",
    ]
    token = (await walk.artifact()).token
    assert len(token) >= 32, "at least 128 random bits"
    assert lines(delivered)[0] == "delivery/delivered: Your Tea page is ready!"
    assert [(link.label, link.url) for link in delivered[0].links] == [
        ("Preview", f"http://127.0.0.1:8080/p/{token}/"),
        ("Download (zip)", f"http://127.0.0.1:8080/a/{token}"),
        ("QR code", f"http://127.0.0.1:8080/q/{token}.svg"),
    ]
    assert delivered[0].speech == "Your Tea page is ready. It is on the screen."
    assert "http" not in delivered[0].speech
    assert lines(await walk.say("finish")) == ["goodbye/ended: Thank you! Goodbye."]


async def test_whole_conversation_in_japanese(walk: Walker) -> None:
    walk.language = "ja"
    assert lines(await walk.say("")) == [
        "welcome/choose_job: こんにちは！ホームページや小さなプログラムを作ります。いくつか質問するので、答えてください。",
        "menu/choose_job: 何を作りますか？番号か名前、または作りたいものを自分の言葉で言ってください。 [1=お茶のページ]",
    ]
    assert lines(await walk.say("いちばん")) == [
        "info/ask: お茶のページですね。始めましょう。4つ質問します。",
        "question/ask: 4問中1問目です。お茶の名前は？",
    ]
    assert lines(await walk.say("ほうじ茶")) == [
        "info/ask: 「ほうじ茶」ですね。",
        "question/ask: 4問中2問目です。濃さは？番号か名前を言ってください。 [1=うすい | 2=こい]",
    ]
    assert lines(await walk.say("２番")) == [
        "info/ask: 「こい」ですね。",
        "question/ask: 4問中3問目です。何杯？",
    ]
    assert lines(await walk.say("三杯")) == [
        "info/ask: 「3」ですね。",
        "question/ask: 4問中4問目です。砂糖は入れますか？「はい」か「いいえ」で答えてください。いらなければ「スキップ」と言ってください。スキップすると「いいえ」にします。 [1=はい | 2=いいえ]",
    ]
    assert lines(await walk.say("うん")) == [
        "info/confirm: 「はい」ですね。",
        "confirm/confirm: 答えを確認します。\n1. お茶の名前は？ ほうじ茶\n2. 濃さは？ こい\n3. 何杯？ 3\n4. 砂糖は入れますか？ はい\nこれでよければ「はい」と言ってください。直したいときは、その番号を言ってください。 [0=はい、作る | 1=1番を直す | 2=2番を直す | 3=3番を直す | 4=4番を直す]",
    ]
    assert lines(await walk.say("ちがう")) == [
        "info/confirm: どれを直しますか？1から4の番号で言ってください。",
    ]
    assert lines(await walk.say("3つ目")) == [
        "info/edit: 3番の答えを直しましょう。",
        "question/edit: 4問中3問目です。何杯？",
    ]
    replies = await walk.say("ふたつ")
    assert lines(replies)[0] == "info/confirm: 「2」ですね。"
    assert "3. 何杯？ 2" in replies[1].text
    assert lines(await walk.say("お願いします")) == [
        "progress/generating: ありがとうございます！お茶のページをいま作っています。少し待ってください。やめるときは「キャンセル」と言ってください。",
    ]


async def _to_confirm(walk: Walker) -> None:
    for text in ["", "1", "Sencha", "light", "2", "no"]:
        await walk.say(text)


async def test_change_after_delivery_makes_version_2_and_keeps_version_1(walk: Walker) -> None:
    await _to_confirm(walk)
    await walk.say("yes")
    await walk.generate()
    first = await walk.artifact()
    assert lines(await walk.say("change something"))[0].startswith(
        "confirm/confirm: Here are your answers."
    )
    await walk.say("1")
    await walk.say("Gyokuro")
    await walk.say("yes")
    await walk.generate()
    second = await walk.artifact()
    assert first.token != second.token
    folder_1, folder_2 = Path(first.folder), Path(second.folder)
    assert folder_1 != folder_2
    manifest_1 = json.loads((folder_1 / "manifest.json").read_text())
    manifest_2 = json.loads((folder_2 / "manifest.json").read_text())
    assert (manifest_1["version"], manifest_2["version"]) == (1, 2)
    assert manifest_1["series"] == manifest_2["series"]
    assert "Sencha" in (folder_1 / "index.html").read_text()
    assert "Gyokuro" in (folder_2 / "index.html").read_text()
    assert lines(await walk.say("make another")) == [
        "menu/choose_job: What would you like to make? Say its number or its name, or tell me in your own words. [1=Tea page]"
    ]


async def test_cancel_while_generating_keeps_answers_and_drops_the_result(walk: Walker) -> None:
    await _to_confirm(walk)
    await walk.say("yes")
    assert (
        lines(await walk.say("cancel"))[0]
        == "info/confirm: I stopped making it. Your answers are kept."
    )
    assert not await walk.queue.run_once(), "a task cancelled while waiting never runs"
    await walk.say("yes")
    task = await walk.manager.store.claim_next()  # a worker has started on it...
    await walk.say("cancel")  # ...when the user cancels
    await walk.queue._process(task)
    assert walk.pushed == [], "a cancelled result is not delivered"
    assert not list((walk.queue.artifacts_dir).iterdir()), "nor kept"
    session = await walk.manager.session("user")
    assert session.state == SessionState.CONFIRM and session.answers["tea_name"] == "Sencha"


async def test_language_switch_pause_and_speech_preferences(walk: Walker) -> None:
    await walk.say("")
    await walk.say("1")
    assert lines(await walk.say("日本語")) == [
        "info/ask: これから日本語で話します。",
        "question/ask: 4問中1問目です。お茶の名前は？",
    ]
    assert lines(await walk.say("英語にして")) == [
        "info/ask: I will speak English now.",
        "question/ask: Question 1 of 4. Name of the tea?",
    ]
    assert lines(await walk.say("wait")) == [
        "info/ask: Paused. Say anything when you want to carry on."
    ]
    assert lines(await walk.say("Sencha")) == [
        "info/ask: Let's carry on.",
        "question/ask: Question 1 of 4. Name of the tea?",
    ], "what is said to resume is not taken as an answer"
    assert lines(await walk.say("slower")) == ["info/ask: I will speak more slowly."]
    assert lines(await walk.say("slower")) == ["info/ask: I will speak more slowly."]
    assert lines(await walk.say("slower")) == ["info/ask: That is already the limit."]
    assert lines(await walk.say("louder")) == ["info/ask: I will speak louder."]
    session = await walk.manager.session("user")
    assert session.preferences == {"rate": 0.6, "volume": 1.0}
    stop = await walk.say("stop")
    assert stop[0].speech == "" and stop[0].text == "Stopped."


async def test_skip_back_start_over_and_cancel(walk: Walker) -> None:
    await walk.say("")
    await walk.say("1")
    assert lines(await walk.say("skip")) == [
        "problem/ask: This question is needed, so we cannot skip it.",
        "question/ask: Question 1 of 4. Name of the tea?",
    ]
    assert lines(await walk.say("back")) == [
        "info/choose_job: This was the first question, so here is the list again.",
        "menu/choose_job: What would you like to make? Say its number or its name, or tell me in your own words. [1=Tea page]",
    ]
    assert lines(await walk.say("back"))[0] == "info/choose_job: We are at the beginning already."
    await walk.say("1")
    await walk.say("Sencha")
    assert lines(await walk.say("start over")) == [
        "info/ask: OK, let's start this one again from the first question.",
        "question/ask: Question 1 of 4. Name of the tea?",
    ]
    assert (await walk.manager.session("user")).answers == {}
    await walk.say("Sencha")
    # Answers would be lost: "are you sure?" first; no carries on where the user was.
    assert lines(await walk.say("cancel")) == [
        "question/ask: Are you sure you want to stop? Your answers will be lost. "
        "Say yes to stop, or no to carry on. [1=yes | 2=no]"
    ]
    assert lines(await walk.say("no")) == [
        "info/ask: OK, your answers are kept. Let's carry on.",
        "question/ask: Question 2 of 4. How strong? Say a number or a name. [1=light | 2=strong]",
    ]
    assert (await walk.manager.session("user")).answers == {"tea_name": "Sencha"}
    await walk.say("cancel")
    assert (
        lines(await walk.say("yes"))[0]
        == "info/choose_job: OK, I cancelled that and cleared the answers."
    )
    assert (await walk.manager.session("user")).answers == {}
    assert lines(await walk.say("cancel")) == ["goodbye/ended: Thank you! Goodbye."]
    assert lines(await walk.say("hello"))[0].startswith("welcome/choose_job: Hello!")


async def test_silence_and_oversized_input_never_dead_end(walk: Walker) -> None:
    await walk.say("")
    await walk.say("1")
    assert lines(await walk.say("   ")) == ["question/ask: Question 1 of 4. Name of the tea?"]
    replies = await walk.say("x" * 5000)
    assert lines(replies) == [
        "problem/ask: That was very long. Please say it in fewer words, up to 1000 characters.",
        "question/ask: Question 1 of 4. Name of the tea?",
    ]
    history = await walk.manager.store.history("user")
    assert len(history) == 4 and history[-1]["replies"][0]["kind"] == "problem"


async def test_help_in_each_state(walk: Walker) -> None:
    await walk.say("")
    assert lines(await walk.say("help"))[0].startswith(
        "help/choose_job: Say the number of what you want to make"
    )
    await walk.say("1")
    assert lines(await walk.say("what can I say"))[0].startswith(
        "help/ask: For example: green tea. You can say: help"
    )
    await walk.say("Sencha")
    await walk.say("1")
    await walk.say("1")
    await walk.say("no")
    assert lines(await walk.say("help"))[0].startswith(
        "help/confirm: Say yes if every answer is right."
    )


async def test_a_failed_generation_is_one_plain_sentence_and_keeps_the_answers(
    walk: Walker, tmp_path: Path
) -> None:
    broken = tmp_path / "templates" / "page"
    broken.mkdir(parents=True)
    (broken / "tea.html.j2").write_text("{{ answers.no_such_question }}")
    # staff broke the template on disk
    walk.queue.generators["page"].renderer = TemplateRenderer(tmp_path / "templates")
    await _to_confirm(walk)
    await walk.say("yes")
    pushed = await walk.generate()
    # One plain sentence, then the read-back again with its buttons: never a dead end.
    assert lines(pushed)[0] == (
        "problem/confirm: Sorry, something went wrong while making it. Your answers are kept. Say yes to try again."
    )
    assert lines(pushed)[1].startswith("confirm/confirm: Here are your answers.")
    assert len(pushed) == 2
    conn = sqlite3.connect(walk.manager.store.path)
    row = conn.execute("SELECT status, error_code, error_message FROM generations").fetchone()
    conn.close()
    assert row[0] == "failed" and row[1] == "template_failed"
    assert "no_such_question" in row[2], "staff find the reason in the queue table"
    session = await walk.manager.session("user")
    assert session.state == SessionState.CONFIRM and session.answers["tea_name"] == "Sencha"
    assert not any(p.name.startswith(".staging") for p in walk.queue.artifacts_dir.iterdir())
