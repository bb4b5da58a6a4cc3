"""Auto and hybrid modes: one description fills what it can, the rest is asked, then confirm.

The model's answers come from an in-process server speaking Ollama's HTTP API; every value it
returns passes the same validation as a spoken answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from assistant.describe import DescriptionFiller
from assistant.dialog import DialogManager
from assistant.events import Reply, SessionState, Turn
from assistant.i18n import Phrases
from assistant.jobs import JobCatalog
from assistant.llm.ollama import OllamaModel
from assistant.store import SQLiteStore
from tests.conftest import FIXED_NOW
from tests.ollama_server import FakeOllama, unused_url

MODEL = "qwen2.5:3b"


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(models=[MODEL]) as server:
        yield server


def make_manager(
    host: str, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> DialogManager:
    model = OllamaModel(host, MODEL, timeout=3.0)
    return DialogManager(
        jobs=catalog,
        phrases=phrases,
        store=store,
        default_language="en",
        clock=lambda: FIXED_NOW,
        filler=DescriptionFiller(model),
    )


async def say(manager: DialogManager, text: str, language: str = "en") -> list[Reply]:
    return await manager.handle(Turn("u", text=text, language=language, channel="test"))


def filled(**values: Any) -> str:
    base = dict.fromkeys(
        ("shop_name", "menu_items", "opening_hours", "mood", "main_color", "greeting")
    )
    return json.dumps({**base, **values}, ensure_ascii=False)


async def test_a_description_fills_answers_and_only_the_rest_is_asked(
    ollama: FakeOllama, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = make_manager(ollama.url, catalog, phrases, store)
    await say(manager, "")
    replies = await say(manager, "1")  # the café page is a hybrid job and the model answers
    assert replies[-1].state == SessionState.DESCRIBE
    assert replies[-1].text.startswith("Tell me about your Café web page in your own words")
    ollama.script(
        MODEL,
        filled(
            shop_name="Blue Bakery",
            menu_items=["bread", "cake"],
            opening_hours="9 to 5",
            mood="purple",  # not a choice: refused, so asked
            main_color="blue",
        ),
    )
    replies = await say(manager, "A page for Blue Bakery, open nine to five, bread and cake, blue")
    understood = replies[0].text
    assert understood.startswith("From what you said I understood:")
    assert "Blue Bakery" in understood and "bread, cake" in understood
    assert replies[1].text == "Let me ask about the rest."
    assert replies[-1].question_id == "mood"
    replies = await say(manager, "warm")
    assert replies[-1].question_id == "greeting"
    replies = await say(manager, "skip")
    assert replies[-1].state == SessionState.CONFIRM
    session = await manager.session("u")
    assert session is not None
    assert session.answers["shop_name"] == "Blue Bakery"
    assert session.answers["menu_items"] == ["bread", "cake"]
    assert session.answers["mood"] == "warm"
    assert session.answers["main_color"].startswith("#")
    sent = ollama.requests_to("/api/chat")[0]
    assert sent["format"]["properties"]["mood"]["enum"] == ["warm", "cool", "natural", "pop", None]
    assert (
        json.dumps("A page for Blue Bakery, open nine to five, bread and cake, blue")
        in sent["messages"][1]["content"]
    )


async def test_a_japanese_description_fills_everything_and_goes_to_confirm(
    ollama: FakeOllama, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = make_manager(ollama.url, catalog, phrases, store)
    await say(manager, "", "ja")
    await say(manager, "1", "ja")
    ollama.script(
        MODEL,
        filled(
            shop_name="ブルーベーカリー",
            menu_items=["パン", "ケーキ"],
            opening_hours="9時から17時",
            mood="natural",
            main_color="#336699",
            greeting="いらっしゃいませ",
        ),
    )
    replies = await say(manager, "ブルーベーカリーのページ。パンとケーキ。9時から17時。", "ja")
    assert replies[0].text.startswith("お話から、次のように受け取りました。")
    assert replies[-1].state == SessionState.CONFIRM
    assert "ブルーベーカリー" in replies[-1].text


async def test_values_no_user_could_give_are_refused_and_asked(
    ollama: FakeOllama, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = make_manager(ollama.url, catalog, phrases, store)
    await say(manager, "")
    await say(manager, "1")
    ollama.script(
        MODEL,
        filled(shop_name="x" * 500, menu_items={"a": 1}, main_color="not a colour", mood=7),
    )
    replies = await say(manager, "something vague")
    assert (
        replies[0].text == "I could not pick out any answers from that, so let me ask one by one."
    )
    assert replies[-1].question_id == "shop_name"
    session = await manager.session("u")
    assert session is not None and session.answers == {}
    assert session.ask_next == ["menu_items", "opening_hours", "mood", "main_color", "greeting"]


async def test_hybrid_without_a_model_is_the_plain_dialog(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = make_manager(unused_url(), catalog, phrases, store)
    await say(manager, "")
    replies = await say(manager, "1")
    assert replies[-1].question_id == "shop_name"


async def test_auto_mode_with_the_model_down_says_so_and_asks_one_by_one(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    jobs = JobCatalog(jobs={k: replace(j, mode="auto") for k, j in catalog.jobs.items()}, errors=[])
    manager = make_manager(unused_url(), jobs, phrases, store)
    await say(manager, "")
    replies = await say(manager, "1")
    assert replies[-1].state == SessionState.DESCRIBE
    replies = await say(manager, "Blue Bakery, open nine to five")
    assert replies[0].text == (
        "I cannot fill in answers from a description right now, so let me ask one by one."
    )
    assert replies[-1].question_id == "shop_name"


async def test_one_by_one_switches_to_questions_and_is_remembered(
    ollama: FakeOllama, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = make_manager(ollama.url, catalog, phrases, store)
    await say(manager, "")
    await say(manager, "1")
    replies = await say(manager, "one by one")
    assert replies[0].text == "All right, one question at a time."
    assert replies[-1].question_id == "shop_name"
    await say(manager, "start over")
    session = await manager.session("u")
    assert session is not None and session.preferences["answer_mode"] == "dialog"
    replies = await say(manager, "describe it")  # and back to describing, on request
    assert replies[-1].state == SessionState.DESCRIBE
    assert not ollama.requests_to("/api/chat")
