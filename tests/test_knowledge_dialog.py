""" "How do I ..." in the middle of a job: answered from the knowledge base, then back to the
question the user was at. The offline embedding model and the shipped starter set are real;
the language model, when there is one, is an in-process server speaking Ollama's API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from assistant.config import PROJECT_ROOT
from assistant.dialog import DialogManager
from assistant.events import ReplyKind, Turn
from assistant.i18n import Phrases
from assistant.jobs import JobCatalog
from assistant.knowledge import KnowledgeBase
from assistant.knowledge_answer import KnowledgeAnswers, LazyKnowledge
from assistant.llm.ollama import OllamaModel
from assistant.store import SQLiteStore
from tests.conftest import FIXED_NOW
from tests.ollama_server import FakeOllama

MODEL = "qwen2.5:3b"
STARTER = PROJECT_ROOT / "dialogs" / "knowledge"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    base = KnowledgeBase(tmp_path_factory.mktemp("kb"))
    base.ingest(STARTER)
    return base


def make_manager(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore, knowledge: object
) -> DialogManager:
    return DialogManager(
        jobs=catalog,
        phrases=phrases,
        store=store,
        default_language="en",
        clock=lambda: FIXED_NOW,
        knowledge=knowledge,  # type: ignore[arg-type]
    )


async def _at_question_two(manager: DialogManager, language: str = "en") -> None:
    for text in ("", "4", "Animal quiz" if language == "en" else "どうぶつクイズ"):
        await manager.handle(Turn("u", text=text, language=language, channel="test"))


async def test_a_how_do_i_question_is_answered_and_the_dialog_returns(
    base: KnowledgeBase, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = make_manager(catalog, phrases, store, KnowledgeAnswers(base))
    await _at_question_two(manager)
    replies = await manager.handle(
        Turn("u", text="How do I open the program I downloaded?", channel="test")
    )
    assert replies[0].kind == ReplyKind.HELP
    assert "zip" in replies[0].text.lower()
    assert "(From the help text “" in replies[0].text
    assert "From the help text" not in replies[0].speech
    assert replies[-1].question_id == "topic"
    session = await manager.session("u")
    assert (
        session is not None
        and session.index == 1
        and session.answers == {"quiz_title": "Animal quiz"}
    )


async def test_a_japanese_question_gets_the_japanese_passage(
    base: KnowledgeBase, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = make_manager(catalog, phrases, store, KnowledgeAnswers(base))
    await _at_question_two(manager, "ja")
    replies = await manager.handle(
        Turn("u", text="どうやってスマホで続けますか", language="ja", channel="test")
    )
    assert replies[0].kind == ReplyKind.HELP
    assert "（ヘルプ「" in replies[0].text and "コード" in replies[0].text
    assert replies[-1].question_id == "topic"


async def test_an_answer_is_never_taken_for_a_question(
    base: KnowledgeBase, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = make_manager(catalog, phrases, store, KnowledgeAnswers(base))
    await manager.handle(Turn("u", text="", channel="test"))
    await manager.handle(Turn("u", text="4", channel="test"))
    replies = await manager.handle(Turn("u", text="How to draw cats", channel="test"))
    assert replies[0].text == "Got it: How to draw cats."  # nothing in the help is about that


@pytest_asyncio.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(models=[MODEL]) as server:
        yield server


async def test_with_the_model_the_answer_is_written_from_the_passages(
    base: KnowledgeBase,
    ollama: FakeOllama,
    catalog: JobCatalog,
    phrases: Phrases,
    store: SQLiteStore,
) -> None:
    ollama.script(MODEL, "Unzip the file, then open index.html in your browser.")
    model = OllamaModel(ollama.url, MODEL, timeout=3.0)
    manager = make_manager(catalog, phrases, store, KnowledgeAnswers(base, model))
    await _at_question_two(manager)
    replies = await manager.handle(
        Turn("u", text="How do I open the page I downloaded?", channel="test")
    )
    assert replies[0].speech == "Unzip the file, then open index.html in your browser."
    sent = ollama.requests_to("/api/chat")[0]["messages"][1]["content"]
    assert json.dumps("How do I open the page I downloaded?") in sent
    assert "Help passages (JSON):" in sent
    ollama.script(MODEL, "", status=500)
    replies = await manager.handle(
        Turn("u", text="How do I open the page I downloaded?", channel="test")
    )
    assert replies[0].kind == ReplyKind.HELP and "index.html" in replies[0].text


async def test_the_service_fills_an_empty_knowledge_base_with_the_starter_set(
    tmp_path: Path, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    lazy = LazyKnowledge(tmp_path / "knowledge", STARTER, None)
    manager = make_manager(catalog, phrases, store, lazy)
    await _at_question_two(manager)
    replies = await manager.handle(Turn("u", text="How do I make it talk slower?", channel="test"))
    assert replies[0].kind == ReplyKind.HELP
    assert KnowledgeBase(tmp_path / "knowledge").count() > 20
