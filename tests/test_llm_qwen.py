"""The real Qwen2.5-Coder-1.5B model, in this process through llama.cpp, for everything the
model does: page text, a description that fills the answers, a help answer and a
job named in the person's own words, in both languages; then the same enrichment through
llama.cpp's OpenAI-compatible server. Every result passes the same validation the product
uses. Greedy decoding (temperature 0) keeps the answers the same from run to run; the model is
loaded once for the module and shared, as in the server.
"""

from __future__ import annotations

import datetime
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.compose_models import model_file
from assistant.config import load_settings
from assistant.dialog.auto import DescriptionFiller
from assistant.dialog.edit_reader import EditReader
from assistant.dialog.job_guess import JobGuesser
from assistant.jobs.catalog import JobCatalog
from assistant.knowledge.answers import KnowledgeAnswers
from assistant.knowledge.base import Passage
from assistant.llm.embedded import EmbeddedModel
from assistant.llm.openai_compatible import OpenAICompatibleModel
from assistant.session import GenerationRequest
from assistant.understanding.edits import AnswerEdit, understand_edit
from generators.enrich import Enricher
from testing import require

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TODAY = datetime.date(2026, 11, 25)
CAFE = {
    "en": {"shop_name": "Blue Bakery", "menu_items": ["bread", "cake"], "opening_hours": "9 to 5",
           "mood": "warm", "greeting": "Welcome!"},
    "ja": {"shop_name": "ブルーベーカリー", "menu_items": ["パン", "ケーキ"],
           "opening_hours": "9時から17時", "mood": "warm", "greeting": "いらっしゃいませ"},
}  # fmt: skip


def qwen_file() -> Path:
    path = model_file(load_settings(environ={}))
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: scripts/fetch-models assemble qwen2.5-coder-1.5b-instruct-q4_k_m",
            pytrace=False,
        )
    require.module("llama_cpp", "pip install llama-cpp-python==0.3.36")
    return path


@pytest.fixture(scope="module")
def qwen() -> EmbeddedModel:
    """One model for the module (the runner is shared per process and file)."""
    # One thread: the tests share two cores with another test worker, and llama.cpp's threads
    # wait for each other at every step, so two threads on a busy machine run slower than one.
    return EmbeddedModel(
        qwen_file(), num_ctx=2048, threads=1, temperature=0.0, max_tokens=300, timeout=180.0
    )


def request(job_id: str, language: str, answers: dict[str, Any]) -> GenerationRequest:
    return GenerationRequest("k", job_id, language, answers, "s", 1)


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_qwen_writes_page_text_that_passes_every_check(
    qwen: EmbeddedModel, catalog: JobCatalog, language: str
) -> None:
    await qwen.warm()
    chunks: list[tuple[str, float | None]] = []
    enrichment = await Enricher(qwen).enrich(
        catalog.jobs["cafe_page"],
        request("cafe_page", language, CAFE[language]),
        lambda stage, fraction: chunks.append((stage, fraction)),
    )
    assert enrichment.record["outcome"] == "used", enrichment.record
    assert enrichment.record["prompt"] == "page_text.v2"
    assert enrichment.record["model"] == "embedded:qwen2.5-coder-1.5b-instruct-q4_k_m"
    data = enrichment.data
    assert data is not None and len(data["highlights"]) == 3
    text = " ".join([data["headline"], data["tagline"], data["about"], *data["highlights"]])
    if language == "ja":  # written in Japanese, not English
        assert sum("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text) > 10
    assert chunks[0] == ("writing", None), "progress from the first chunk"


@pytest.mark.parametrize(
    ("language", "description", "expected"),
    [
        ("en", "A page for my shop Blue Bakery. We sell bread and cake, open 9 to 5.",
         "Blue Bakery"),
        ("ja", "ブルーベーカリーというお店のページです。パンとケーキを売っています。",
         "ブルーベーカリー"),
    ],
)  # fmt: skip
async def test_qwen_fills_the_answers_from_a_description(
    qwen: EmbeddedModel, catalog: JobCatalog, language: str, description: str, expected: str
) -> None:
    filler = DescriptionFiller(qwen, timeout=120.0)
    kept = await filler.fill(catalog.jobs["cafe_page"], description, language, TODAY)
    assert kept is not None
    assert expected in str(kept.get("shop_name")), kept


class OnePassage:
    """A knowledge base holding one help passage, as the real one returns it."""

    def __init__(self, language: str) -> None:
        text = {
            "en": "To open a page you downloaded, unzip the file and open index.html in a browser.",
            "ja": "ダウンロードしたページを開くには、ZIPファイルを展開して、"
            "index.html をブラウザで開きます。",
        }[language]
        self.passage = Passage(text, "help/open.md", "Opening a page", language, 0.95)

    def ask(self, question: str, language: str, count: int) -> list[Passage]:
        return [self.passage]


@pytest.mark.parametrize(
    ("language", "question"),
    [("en", "How do I open the page I downloaded?"),
     ("ja", "ダウンロードしたページはどうやって開きますか？")],
)  # fmt: skip
async def test_qwen_answers_a_help_question_from_the_passage(
    qwen: EmbeddedModel, language: str, question: str
) -> None:
    answers = KnowledgeAnswers(OnePassage(language), qwen, model_timeout=120.0)  # type: ignore[arg-type]
    found = await answers.answer(question, language)
    assert found is not None and found.by_model, found
    assert "index.html" in found.text or "ZIP" in found.text.upper()


async def test_qwen_understands_a_job_named_in_the_persons_own_words(
    qwen: EmbeddedModel, catalog: JobCatalog
) -> None:
    guesser = JobGuesser(qwen, timeout=120.0)
    said = "I want something that adds up the prices of what my customers buy"
    assert await guesser.guess(said, catalog.ordered(), "en") == "shopping_total"


# -- the same enrichment through llama.cpp's OpenAI-compatible server --------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def openai_server() -> Iterator[str]:
    path = qwen_file()
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1",
        "--port", str(port), "--n_threads", "1", "--n_ctx", "2048", "--verbose", "false",
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"llama_cpp.server stopped: {server.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer /v1/models within 120 s")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
async def served(openai_server: str) -> AsyncIterator[OpenAICompatibleModel]:
    yield OpenAICompatibleModel(
        openai_server, "qwen", temperature=0.0, max_tokens=400, timeout=180.0
    )


async def test_the_same_enrichment_through_an_openai_compatible_server(
    served: OpenAICompatibleModel, catalog: JobCatalog
) -> None:
    status = await served.status()
    assert status.reachable and status.has_model, status
    enrichment = await Enricher(served).enrich(
        catalog.jobs["cafe_page"], request("cafe_page", "en", CAFE["en"])
    )
    assert enrichment.record["outcome"] == "used", enrichment.record
    assert enrichment.record["model"] == "openai:qwen"
    assert enrichment.data is not None and enrichment.data["headline"]


def test_every_output_schema_becomes_a_grammar_llama_cpp_accepts(qwen: EmbeddedModel) -> None:
    """llama.cpp kills the whole process (SIGSEGV) on a grammar it refuses, such as one made
    from a 1,500-character text limit: every kind's schema, as the backend sends it, must be
    accepted (this test would crash the run, not fail, without ``grammar_schema``)."""
    from assistant.llm.embedded import grammar_schema
    from generators.outputs import OUTPUTS, json_schema

    llama = qwen.runner.loaded()
    for kind, output in OUTPUTS.items():
        schema = grammar_schema(json_schema(output))
        reply = llama.create_chat_completion(
            [{"role": "user", "content": "JSON"}],
            max_tokens=2,
            response_format={"type": "json_object", "schema": schema},
        )
        assert reply["choices"][0]["message"]["content"].startswith("{"), kind


async def test_qwen_reads_an_edit_after_delivery_the_tables_do_not_know(
    qwen: EmbeddedModel, catalog: JobCatalog
) -> None:
    job = catalog.jobs["cafe_page"]
    said = "I'd like people to be able to ring us on 03 1111 2222"
    assert understand_edit(job, said, "en", TODAY, looks=True) is None
    reader = EditReader(qwen, timeout=120.0)
    edit = await reader.read(job, said, "en", TODAY, dict(CAFE["en"]), looks=True)
    assert isinstance(edit, AnswerEdit) and edit.question_id == "phone", edit
    assert edit.value is None or "1111" in str(edit.value)
