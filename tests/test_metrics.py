"""The service's metrics, read from ``/metrics`` as Prometheus reads them, after real work.

Each measurement is made by the production path it describes: turns over a real websocket
through the dialog manager, generation through the queue's real template builds and a real
failure, recognition by PocketSphinx hearing speech Piper spoke, model calls through the
Ollama client against the in-process Ollama server, and the queue's depth from the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.config import Settings
from assistant.dialog.manager import DialogManager
from assistant.errors import AssistantError
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.llm.measured import MeasuredModel
from assistant.metrics import CONTENT_TYPE, ServiceMetrics
from assistant.ports import Recognition
from assistant.server import MetricsAccess, init_app
from assistant.session import GenerationRequest
from assistant.speech import audio
from assistant.speech.voice_turn import hear
from assistant.store.sqlite import SQLiteStore
from assistant.understanding.expectation import Expectation
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing import require
from testing.metrics_text import histogram_quantile, value
from testing.ollama import FakeOllama, unused_url
from testing.speech_audio import speak_en
from tests.test_web_socket import BASE, Page, make_channel, open_page

OLLAMA_MODEL = "qwen2.5:3b"


@pytest.fixture
def metrics(store: SQLiteStore) -> ServiceMetrics:
    return ServiceMetrics(queue_depth=store.depth)


@pytest.fixture
def metered(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore, metrics: ServiceMetrics
) -> DialogManager:
    return DialogManager(
        jobs=catalog, phrases=phrases, store=store, default_language="en", telemetry=metrics
    )


@pytest.fixture
async def client(
    store: SQLiteStore,
    catalog: JobCatalog,
    phrases: Phrases,
    metered: DialogManager,
    metrics: ServiceMetrics,
) -> AsyncIterator[TestClient]:
    access = MetricsAccess.of(metrics, phrases, Settings(language="en"))
    app = init_app(store, catalog, base_url=BASE, metrics_access=access)
    make_channel(metered, phrases).add_routes(app)
    async with TestClient(TestServer(app)) as client:
        yield client


async def scrape(client: TestClient) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    return await response.text()


async def test_turns_sockets_and_refusals_are_counted_over_a_real_socket(
    client: TestClient,
) -> None:
    page, _ = await open_page(client, language="en")
    await page.say("4")  # quiz game, chosen at the menu
    await page.say("Animal quiz")  # its first answer
    text = await scrape(client)
    assert value(text, "assistant_websocket_connections", channel="web") == 1
    assert value(text, "assistant_turns_total", channel="web", state="choose_job") == 1
    assert value(text, "assistant_turns_total", channel="web", state="ask") == 1
    assert value(text, "assistant_turn_seconds_count", channel="web") == 2
    assert 0 < histogram_quantile(text, "assistant_turn_seconds", 0.99, channel="web") < 5
    await page.send(type="no such message")
    await page.next("error")
    text = await scrape(client)
    assert value(text, "assistant_errors_total") == 1
    await page.socket.close()
    async with asyncio.timeout(10):  # the server's side of the close ends on its own...
        while value(await scrape(client), "assistant_websocket_connections", channel="web"):
            pass  # ...while each scrape makes its round trip


async def test_a_second_page_and_its_error_code(client: TestClient) -> None:
    """Two pages count two sockets; a refusal is counted under the code the page got."""
    first, _ = await open_page(client, language="en")
    second = Page(await client.ws_connect("/ws"))
    await second.send(type="say", text="x" * 10_000)  # before hello: a session is started
    error = await second.next("error")
    text = await scrape(client)
    assert value(text, "assistant_websocket_connections", channel="web") == 2
    assert value(text, "assistant_errors_total", code=error["code"]) == 1
    await first.socket.close()
    await second.socket.close()


async def test_generation_outcomes_task_time_and_the_queue_depth_read_when_scraped(
    client: TestClient,
    catalog: JobCatalog,
    store: SQLiteStore,
    metered: DialogManager,
    metrics: ServiceMetrics,
    tmp_path: Path,
) -> None:
    queue = GenerationQueue(
        store=store,
        jobs=catalog,
        generators=build_generators(TemplateRenderer(), None),
        artifacts_dir=tmp_path / "artifacts",
        on_delivered=metered.deliver,
        on_failed=metered.generation_failed,
        telemetry=metrics,
    )
    answers = {"title": "Animal quiz", "topic": "animals", "count": 5, "show_answer": True}
    made = await queue.make_now(_request("quiz_game", answers))
    assert not isinstance(made, AssistantError), made
    failed = await queue.make_now(_request("no_such_job", {}))
    assert isinstance(failed, AssistantError) and failed.code == "job_unknown"
    await store.enqueue_running(_request("quiz_game", answers))  # one in the store, not built
    text = await scrape(client)
    assert value(text, "assistant_generations_total", outcome="delivered", code="none") == 1
    assert value(text, "assistant_generations_total", outcome="failed", code="job_unknown") == 1
    assert value(text, "assistant_generation_seconds_count", outcome="delivered") == 1
    assert value(text, "assistant_errors_total", code="job_unknown") == 1
    assert value(text, "assistant_generation_queue_depth") == 1
    assert value(text, "assistant_build_info") == 1
    assert value(text, "process_resident_memory_bytes") > 0


def _request(job_id: str, answers: dict[str, object]) -> GenerationRequest:
    return GenerationRequest(
        session_key="cli:generate",
        job_id=job_id,
        language="en",
        answers=answers,
        series=f"s{len(answers)}{job_id[:3]}",
        version=1,
    )


async def test_recognition_confidence_and_time_by_engine_and_language(
    metrics: ServiceMetrics,
) -> None:
    require.module("pocketsphinx", "pip install pocketsphinx")
    from assistant.speech.engines.pocketsphinx import PocketSphinxRecognizer

    speech = audio.silence(0.3) + speak_en("number four") + audio.silence(0.3)
    expectation = Expectation("en", ("number four", "number five"))
    heard = await hear(
        PocketSphinxRecognizer(), expectation, speech, session_key="k", channel="web",
        telemetry=metrics,
    )  # fmt: skip
    assert heard.text == "number four"
    text = (await metrics.exposition()).decode()
    labels = {"engine": "pocketsphinx", "language": "en"}
    assert value(text, "assistant_recognition_confidence_count", **labels) == 1
    assert value(text, "assistant_recognition_confidence_sum", **labels) == pytest.approx(
        heard.recognition.confidence
    )
    assert value(text, "assistant_recognition_seconds_count", **labels) == 1
    assert value(text, "assistant_recognition_seconds_sum", **labels) > 0


class _BrokenStream:
    def accept(self, pcm: bytes) -> str | None:
        return None

    def finish(self) -> Recognition:
        raise AssistantError("the engine's model file is damaged", code="recognition_failed")


class _BrokenRecognizer:
    """An engine that fails as a damaged model does: with an error and its code."""

    name = "broken"

    def supports(self, language: str) -> bool:
        return True

    def start(self, language: str, grammar: Sequence[str] | None = None) -> _BrokenStream:
        return _BrokenStream()


async def test_a_recognition_that_fails_is_counted_by_its_code(metrics: ServiceMetrics) -> None:
    with pytest.raises(AssistantError):
        await hear(
            _BrokenRecognizer(), Expectation("en", None), audio.silence(0.5), session_key="k",
            channel="kiosk", telemetry=metrics,
        )  # fmt: skip
    text = (await metrics.exposition()).decode()
    assert value(text, "assistant_errors_total", code="recognition_failed") == 1
    assert value(text, "assistant_recognition_seconds_count") == 0


async def test_model_calls_tokens_and_time_and_a_failure_by_its_code(
    metrics: ServiceMetrics,
) -> None:
    from assistant.llm.ollama import OllamaModel

    async with FakeOllama(models=[OLLAMA_MODEL]) as server:
        model = MeasuredModel(OllamaModel(server.url, OLLAMA_MODEL, timeout=5.0), metrics)
        server.script(OLLAMA_MODEL, "Press the green button to start.")
        reply = await model.complete_text("You help.", "How do I start?")
    down = MeasuredModel(OllamaModel(unused_url(), OLLAMA_MODEL, timeout=5.0), metrics)
    with pytest.raises(AssistantError) as failed:
        await down.complete_text("You help.", "How do I start?")
    text = (await metrics.exposition()).decode()
    name = f"ollama:{OLLAMA_MODEL}"
    assert value(text, "assistant_model_calls_total", model=name, outcome="ok") == 1
    assert value(text, "assistant_model_calls_total", outcome=failed.value.code) == 1
    assert value(text, "assistant_errors_total", code=f"llm_{failed.value.code}") == 1
    assert reply.prompt_tokens > 0 and reply.output_tokens > 0
    tokens = {"model": name}
    assert value(text, "assistant_model_tokens_total", kind="prompt", **tokens) == (
        reply.prompt_tokens
    )
    assert value(text, "assistant_model_tokens_total", kind="output", **tokens) == (
        reply.output_tokens
    )
    assert value(text, "assistant_model_seconds_count", **tokens) == 2


async def test_two_services_in_one_process_count_apart() -> None:
    first, second = ServiceMetrics(), ServiceMetrics()
    first.turn("web", "ask", 0.01)
    assert value((await first.exposition()).decode(), "assistant_turns_total") == 1
    assert value((await second.exposition()).decode(), "assistant_turns_total") == 0
