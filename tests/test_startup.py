"""Start-up in the background (issue 13): the knowledge base, voices and model open when the
service starts, never on a user's first request, and deliveries never wait for the model.

The regression these catch is a state, not a time: the knowledge base opened by the first
delivery or help question (which held confirm → delivery at 5.3 s p50 in a burst), or a
template delivery queued behind a model busy writing for someone else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from assistant.compose import Services
from assistant.config import load_settings
from assistant.errors import LanguageModelError
from assistant.events import Reply, ReplyKind, Turn
from assistant.knowledge.answers import KnowledgeAnswers
from assistant.llm.model_slot import OneAtATimeModel
from assistant.ports import ModelReply
from assistant.startup import StepState, WarmUp
from testing.cafe_walk import cafe_walk
from testing.ollama import FakeOllama
from testing.ollama.wire import Reply as Reply_

# -- the warm-up itself -----------------------------------------------------------------------


async def test_steps_run_in_order_and_a_failed_step_does_not_stop_the_rest() -> None:
    ran: list[str] = []

    async def step(name: str) -> None:
        ran.append(name)
        if name == "b":
            raise OSError("no such folder")

    warm_up = WarmUp()
    for name in ("a", "b", "c"):
        warm_up.add(name, lambda name=name: step(name))
    warm_up.start()
    await warm_up.wait()
    assert ran == ["a", "b", "c"]
    assert warm_up.states == {"a": StepState.DONE, "b": StepState.FAILED, "c": StepState.DONE}


# -- the model for enrichment: one at a time, never waited for --------------------------------


class _HeldModel:
    """A model that writes until the test lets it finish."""

    name = "held"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def complete_json(self, *args: Any, **kwargs: Any) -> ModelReply:
        self.started.set()
        await self.release.wait()
        return ModelReply(data={}, text="{}", model=self.name)

    def recently_unreachable(self) -> bool:
        return False


async def test_a_second_enrichment_is_refused_at_once_while_the_model_writes() -> None:
    inner = _HeldModel()
    model = OneAtATimeModel(inner)  # type: ignore[arg-type]
    first = asyncio.create_task(model.complete_json("s", "u", {}))
    await inner.started.wait()
    assert model.recently_unreachable()  # the enricher skips its examples meanwhile
    with pytest.raises(LanguageModelError) as refused:
        await model.complete_json("s", "u", {})
    assert refused.value.code == "busy" and not first.done()
    inner.release.set()
    await first
    assert not model.busy and not model.recently_unreachable()


# -- a real service ---------------------------------------------------------------------------


ARMED: dict[str, bool] = {}


def _hang_once_armed(body: dict[str, Any]) -> Reply_:
    """Fail at once while the test walks the job (the description filler asks too); once
    armed, never finish a reply: a model busy for as long as the test."""
    if ARMED.get("hang"):
        return Reply_(chunks=["{"], hang_after=0)
    return Reply_(chunks=[], status=500, error="not now")


@pytest_asyncio.fixture
async def hanging_model() -> AsyncIterator[FakeOllama]:
    ARMED.clear()
    async with FakeOllama(models=["qwen2.5:3b"]) as server:
        server.responder = _hang_once_armed
        yield server


def _services(tmp_path: Path, **environ: str) -> Services:
    env = {"ASSISTANT_WEB_VOICE": "false", "ASSISTANT_LANGUAGE": "en", **environ}
    return Services.build(load_settings(environ=env, data_dir=str(tmp_path / "data")))


@pytest.mark.slow  # a real knowledge base: chromadb and the embedding model
async def test_the_start_up_task_opens_the_knowledge_base_not_the_first_question(
    tmp_path: Path,
) -> None:
    services = _services(tmp_path, ASSISTANT_LLM_ENABLED="false")
    knowledge = services.knowledge
    assert knowledge is not None
    opened_during: list[StepState] = []
    open_now = knowledge._open

    def spy() -> KnowledgeAnswers:
        opened_during.append(warm_up.states["knowledge base"])
        return open_now()

    knowledge._open = spy  # type: ignore[method-assign]
    await services.start()
    try:
        warm_up = services.start_warm_up()
        assert warm_up is not None
        assert not knowledge.is_open()  # started, not waited for: the service goes on at once
        for text in ("", "4", "Animal quiz"):
            await services.manager.handle(Turn("u", text=text, language="en", channel="t"))
        replies = await services.manager.handle(
            Turn("u", text="How do I open the program I downloaded?", channel="t")
        )
        assert replies[0].kind == ReplyKind.HELP
        await warm_up.wait()
        assert warm_up.states["knowledge base"] == StepState.DONE and knowledge.is_open()
        # Opened once, by the start-up task; the question waited for that opening.
        assert opened_during == [StepState.RUNNING]
    finally:
        await services.stop()


# The model answers the status check, so the café job starts by asking for a description
# (hybrid mode); the filler's call fails at once and the questions follow one by one.
CAFE = ["", "1", "A bakery", *cafe_walk(greet=False, menu=None, confirm=False)]


async def _walk_to_confirm(services: Services, key: str) -> None:
    """The café page up to its read-back (the answers of the web benchmark)."""
    replies: list[Reply] = []
    for text in CAFE:
        replies = await services.manager.handle(Turn(key, text, language="en", channel="t"))
    assert replies[-1].state == "confirm", replies[-1].text


@pytest.mark.slow  # two real deliveries through the queue, generators and checks
async def test_a_delivery_does_not_wait_for_a_model_busy_writing_for_someone_else(
    tmp_path: Path, hanging_model: FakeOllama
) -> None:
    services = _services(
        tmp_path,
        ASSISTANT_OLLAMA_HOST=hanging_model.url,
        ASSISTANT_WARM_UP="false",
        ASSISTANT_LLM_TIMEOUT_S="600",
    )
    delivered: dict[str, asyncio.Event] = {"first": asyncio.Event(), "second": asyncio.Event()}
    deliveries: dict[str, list[Reply]] = {}

    async def listen(key: str, replies: list[Reply]) -> None:
        if any(reply.links for reply in replies):
            deliveries[key] = replies
            delivered[key].set()

    services.manager.add_listener("t", listen)
    await services.start()
    try:
        await _walk_to_confirm(services, "first")
        await _walk_to_confirm(services, "second")
        ARMED["hang"] = True
        asked = len(hanging_model.requests_to("/api/chat"))
        await services.manager.handle(Turn("first", "yes", channel="t"))
        await hanging_model.wait_until(
            lambda: len(hanging_model.requests_to("/api/chat")) == asked + 1, timeout=60
        )
        await services.manager.handle(Turn("second", "yes", channel="t"))
        await asyncio.wait_for(delivered["second"].wait(), 120)
        # The second got the template result while the model still writes for the first.
        assert not delivered["first"].is_set()
        assert len(hanging_model.requests_to("/api/chat")) == asked + 1
        texts = " ".join(reply.text for reply in deliveries["second"])
        # Made without the model: a note for staff (manifest and log), never said to the user.
        assert services.phrases.say("en", "note.llm_unavailable")[:20] not in texts
        second = await services.manager.session("second")
        assert second is not None and second.artifact_id
        artifact = await services.store.artifact(second.artifact_id)
        assert artifact is not None
        assert {"key": "llm_unavailable"} in artifact.manifest.get("notes", [])
    finally:
        await services.stop()
