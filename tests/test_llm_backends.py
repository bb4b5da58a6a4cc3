"""The language model's settings, backends, output models and the job guess, without a real
model (the slow tier with Qwen is ``test_llm_qwen.py``; every Ollama failure mode goes
through the fake server in ``test_enrichment.py`` and ``test_auto_mode.py``)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import load_settings
from assistant.dialog.job_guess import JobGuesser
from assistant.dialog.manager import DialogManager
from assistant.errors import ConfigError
from assistant.events import Reply, SessionState
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.llm.choose import build_language_model
from assistant.llm.embedded import EmbeddedModel
from assistant.llm.ollama import OllamaModel
from assistant.llm.openai_compatible import OpenAICompatibleModel
from assistant.store.sqlite import SQLiteStore
from generators.enrich import SchemaError, checked
from testing.ollama import FakeOllama, unused_url
from testing.walk import english_manager, say

MODEL = "qwen2.5:3b"
NO_FILE = Path("/nonexistent/model.gguf")


# -- settings -------------------------------------------------------------------------------


def test_auto_is_the_embedded_model_unless_a_server_is_configured() -> None:
    assert load_settings(environ={}).llm_backend == "embedded"
    ollama = load_settings(environ={"ASSISTANT_OLLAMA_HOST": "http://10.0.0.5:11434"})
    assert ollama.llm_backend == "ollama"
    both = load_settings(
        environ={
            "ASSISTANT_OLLAMA_HOST": "http://10.0.0.5:11434",
            "ASSISTANT_OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
        }
    )
    assert both.llm_backend == "openai"
    assert load_settings(environ={"ASSISTANT_LLM_ENABLED": "false"}).llm_backend == "none"
    chosen = load_settings(
        environ={
            "ASSISTANT_OLLAMA_HOST": "http://10.0.0.5:11434",
            "ASSISTANT_LLM_BACKEND": "embedded",
        }
    )
    assert chosen.llm_backend == "embedded"


@pytest.mark.parametrize(
    ("environ", "sentence"),
    [
        ({"ASSISTANT_LLM_BACKEND": "gpt"}, "ASSISTANT_LLM_BACKEND: 'gpt' is not allowed; use one of: auto, embedded, ollama, openai, none"),
        ({"ASSISTANT_OPENAI_BASE_URL": "127.0.0.1:8000"}, "ASSISTANT_OPENAI_BASE_URL: '127.0.0.1:8000' must start with http:// or https://"),
        ({"ASSISTANT_LLM_BACKEND": "openai"}, "openai_base_url: llm_backend is openai, so give the server's address"),
        ({"ASSISTANT_LLM_THREADS": "0"}, "ASSISTANT_LLM_THREADS: '0' is not allowed; use a whole number 1-64"),
        ({"ASSISTANT_OPENAI_API_KEY": "two words"}, "ASSISTANT_OPENAI_API_KEY: use the key exactly as the server gave it"),
    ],
)  # fmt: skip
def test_a_wrong_model_setting_gets_one_clear_sentence(
    environ: dict[str, str], sentence: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    assert str(caught.value.message).startswith(sentence)


def test_each_backend_is_built_from_its_settings_and_the_key_stays_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = "sk-secret-0123456789abcdef"
    openai = load_settings(
        environ={
            "ASSISTANT_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "ASSISTANT_OPENAI_API_KEY": key,
        }
    )
    model = build_language_model(openai, NO_FILE)
    assert isinstance(model, OpenAICompatibleModel) and model.name.startswith("openai:")
    assert key not in repr(model) and key not in repr(openai)
    ollama = build_language_model(
        load_settings(environ={"ASSISTANT_OLLAMA_HOST": unused_url()}), NO_FILE
    )
    assert isinstance(ollama, OllamaModel)
    embedded = build_language_model(load_settings(environ={"ASSISTANT_LLM_THREADS": "1"}), NO_FILE)
    assert isinstance(embedded, EmbeddedModel) and embedded.runner.n_threads == 1
    assert (
        build_language_model(load_settings(environ={"ASSISTANT_LLM_BACKEND": "none"}), NO_FILE)
        is None
    )
    assert key not in caplog.text


async def test_an_embedded_model_without_its_file_says_how_to_get_it() -> None:
    model = EmbeddedModel(NO_FILE, timeout=5.0)
    await model.warm()  # never raises: the failure is kept for the calls
    status = await model.status()
    assert not status.reachable
    assert "scripts/fetch-models assemble qwen2.5-coder-1.5b-instruct-q4_k_m" in status.detail
    from assistant.errors import LanguageModelError

    with pytest.raises(LanguageModelError) as caught:
        await model.complete_text("system", "user")
    assert caught.value.code == "unavailable"
    assert model.recently_unreachable()  # optional work for the model is skipped a while


# -- what the model writes --------------------------------------------------------------------

PAGE = {
    "headline": "Fresh bread every morning",
    "tagline": "Baked by hand",
    "about": "We bake bread and cakes every day.",
    "highlights": ["Warm bread", "Cakes", "A friendly team"],
    "call_to_action": "Drop in today!",
}


def test_page_text_must_be_plain_text_without_links_unless_the_person_gave_them() -> None:
    assert checked("page_text", PAGE)["headline"] == "Fresh bread every morning"
    with pytest.raises(SchemaError, match=r"\$\.about: .*link"):
        checked("page_text", {**PAGE, "about": "Order at bread.example/shop now."})
    given = ("bread.example/shop",)
    assert checked("page_text", {**PAGE, "about": "Order at bread.example/shop now."}, given)
    with pytest.raises(SchemaError, match=r"\$\.headline: .*not plain text"):
        checked("page_text", {**PAGE, "headline": "<b>Bread</b>"})
    with pytest.raises(SchemaError, match=r"\$\.highlights"):
        checked("page_text", {**PAGE, "highlights": ["only one"]})
    with pytest.raises(SchemaError, match=r"\$\.extra"):
        checked("page_text", {**PAGE, "extra": "x"})


def test_quiz_answers_point_at_an_option_and_are_whole_numbers() -> None:
    item = {"question": "Which animal says moo?", "options": ["Cow", "Cat", "Dog"], "answer": 0}
    assert checked("quiz_items", {"items": [item] * 3})["items"][0]["answer"] == 0
    with pytest.raises(SchemaError, match="no such option"):
        checked("quiz_items", {"items": [{**item, "answer": 3}] * 3})
    with pytest.raises(SchemaError, match=r"answer"):
        checked("quiz_items", {"items": [{**item, "answer": True}] * 3})
    with pytest.raises(SchemaError, match=r"answer"):
        checked("quiz_items", {"items": [{**item, "answer": "0"}] * 3})


# -- a job named in the person's own words ---------------------------------------------------


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(models=[MODEL]) as server:
        yield server


def guessing_manager(
    host: str, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> DialogManager:
    guesser = JobGuesser(OllamaModel(host, MODEL, timeout=3.0), timeout=3.0)
    return english_manager(catalog, phrases, store, job_guesser=guesser)


async def test_a_job_in_the_persons_own_words_is_guessed_and_read_back(
    ollama: FakeOllama, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = guessing_manager(ollama.url, catalog, phrases, store)
    await say(manager, "")
    ollama.script(MODEL, '{"job": "shopping_total"}')
    replies = await say(manager, "something that adds up what my customers buy")
    assert replies[-1].text == "Did you mean “Shopping total calculator”?"
    sent = ollama.requests_to("/api/chat")[0]
    assert sent["format"]["properties"]["job"]["enum"][-1] is None
    assert '"something that adds up what my customers buy"' in sent["messages"][1]["content"]
    replies = await say(manager, "yes")
    assert replies[-1].state == SessionState.ASK


async def test_a_name_the_menu_knows_never_asks_the_model(
    ollama: FakeOllama, catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = guessing_manager(ollama.url, catalog, phrases, store)
    await say(manager, "")
    replies = await say(manager, "quiz game")
    assert replies[-1].state == SessionState.ASK
    assert not ollama.requests_to("/api/chat")


@pytest.mark.parametrize("failure", ["down", "junk", "none", "not_on_menu"])
async def test_when_the_guess_fails_the_menu_asks_again_in_one_sentence(
    failure: str,
    ollama: FakeOllama,
    catalog: JobCatalog,
    phrases: Phrases,
    store: SQLiteStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = unused_url() if failure == "down" else ollama.url
    manager = guessing_manager(host, catalog, phrases, store)
    await say(manager, "")
    reply = {"junk": "not json {", "none": '{"job": null}', "not_on_menu": '{"job": "rocket"}'}
    ollama.script(MODEL, reply.get(failure, ""))
    heard: list[str] = []

    async def listener(key: str, replies: list[Reply]) -> None:
        heard.extend(reply.text for reply in replies)

    manager.add_listener("test", listener)
    with caplog.at_level(logging.INFO):
        replies = await say(manager, "something nobody offers")
    assert heard == ["One moment, I am working out which one you mean…"]
    last = len(catalog.ordered())
    assert replies[0].text == (
        f"Sorry, I did not catch which one. Please say a number from 1 to {last}."
    )
    assert replies[-1].state == SessionState.CHOOSE_JOB
    assert "job not guessed" in caplog.text or failure in ("none", "not_on_menu")


# -- the embedded backend's worker thread, with a stand-in for the llama.cpp object ----------


class SlowLlama:
    """Speaks ``create_chat_completion(stream=True)`` like llama-cpp-python, a word at a time."""

    def __init__(self, words: int, delay: float) -> None:
        self.words, self.delay = words, delay
        self.running = 0
        self.most_at_once = 0
        self.written = 0
        self.writing = threading.Event()

    def create_chat_completion(self, messages: list[Any], stream: bool, **params: Any) -> Any:
        def chunks() -> Any:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.writing.set()
            try:
                for _ in range(self.words):
                    time.sleep(self.delay)
                    self.written += 1
                    yield {"choices": [{"delta": {"content": "word "}}]}
            finally:
                self.running -= 1

        return chunks()


def stand_in(tmp_path: Path, llama: SlowLlama, timeout: float = 5.0) -> EmbeddedModel:
    path = tmp_path / f"model-{time.monotonic_ns()}.gguf"
    path.write_bytes(b"GGUF")
    model = EmbeddedModel(path, timeout=timeout)
    model.runner.llama = llama  # "loaded"
    return model


async def test_two_sessions_never_write_into_the_model_at_once(tmp_path: Path) -> None:
    llama = SlowLlama(words=5, delay=0.01)
    model = stand_in(tmp_path, llama)
    first, second = await asyncio.gather(
        model.complete_text("s", "one"), model.complete_text("s", "two")
    )
    assert first.text == second.text == "word " * 5
    assert llama.most_at_once == 1


async def test_a_call_that_runs_out_of_time_stops_the_model_writing(tmp_path: Path) -> None:
    llama = SlowLlama(words=1000, delay=0.01)
    model = stand_in(tmp_path, llama, timeout=0.3)
    from assistant.errors import LanguageModelError

    with pytest.raises(LanguageModelError) as caught:
        await model.complete_text("s", "a long answer")
    assert caught.value.code == "timeout"
    await asyncio.sleep(0.2)
    stopped_at = llama.written
    await asyncio.sleep(0.2)
    assert llama.written == stopped_at < 100, "nobody reads: the model stopped"
    assert llama.running == 0


async def test_an_enrichment_while_the_model_writes_a_help_answer_takes_the_template_at_once(
    tmp_path: Path,
) -> None:
    from assistant.errors import LanguageModelError
    from assistant.llm.model_slot import OneAtATimeModel, slot_of

    llama = SlowLlama(words=30, delay=0.01)
    model = stand_in(tmp_path, llama)
    enricher_view = OneAtATimeModel(model)
    help_answer = asyncio.create_task(model.complete_text("s", "how do I open it?"))
    assert await asyncio.to_thread(llama.writing.wait, 5)  # the help answer is being written
    assert enricher_view.busy
    started = time.perf_counter()
    with pytest.raises(LanguageModelError) as refused:
        await enricher_view.complete_json("s", "enrich", {})
    assert refused.value.code == "busy" and time.perf_counter() - started < 0.1
    assert (await help_answer).text == "word " * 30
    # The last words reach the reader a moment before the model's thread returns and frees the
    # slot. The slot runs one job at a time and frees itself as a job ends, so a job queued
    # behind the answer has run only once the slot is free.
    slot = slot_of(model)
    assert slot is not None
    await asyncio.wrap_future(slot.submit(lambda: None, writes=False))
    assert not enricher_view.busy and enricher_view.refused == 1
