"""A job walked through the real ``Services``, from the menu to the delivery reply with links.

``scripts/bench.py`` (confirm → link per job) and ``scripts/bench_artifacts.py`` (issue 15's
figures per artifact) time the same thing: the user's "yes" at the read-back, through the
queue, generators, checks, sandbox and browser, to the reply that carries the links. This is
that walk, once, with the artifact it delivered. Photo questions (optional, the café page's
logo and photo) are skipped: a picture needs a channel's upload, and a walk by words has none.
With a model a job first asks for a description; the walk asks for one question at a time
instead, so both walks give the same answers and only the delivery differs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.events import Reply, SessionState, Turn
from assistant.session import Artifact
from testing.walk import good_answer

if TYPE_CHECKING:
    from assistant.compose import Services
    from assistant.jobs.catalog import Job, Question

CHANNEL = "bench"
ONE_BY_ONE = "one by one"  # the same answers with and without a model: asked one at a time


@dataclass(frozen=True, slots=True)
class Delivered:
    """Seconds from "yes" to the delivery reply, and the artifact that reply links to."""

    seconds: float
    artifact: Artifact


class DeliveryWalker:
    """Walks jobs to their read-back in English and times the confirm to the delivery."""

    def __init__(self, services: Services, timeout_s: float = 60.0) -> None:
        self.services = services
        self.timeout_s = timeout_s
        self._delivered: dict[str, asyncio.Event] = {}
        services.manager.add_listener(CHANNEL, self._listen)  # the delivery comes unasked

    async def _listen(self, key: str, replies: list[Reply]) -> None:
        if key in self._delivered and any(reply.links for reply in replies):
            self._delivered[key].set()

    async def deliver(self, job: Job, key: str) -> Delivered:
        """Choose ``job`` by its menu number, answer every question, then time the "yes"."""
        manager = self.services.manager
        number = [j.id for j in self.services.jobs.ordered()].index(job.id) + 1
        for text in ["", str(number)]:
            await manager.handle(Turn(key, text, language="en", channel=CHANNEL))
        session = await self.services.store.load(key)
        script = [_utterance(q) for q in job.questions]
        if session is not None and session.state == SessionState.DESCRIBE:
            script.insert(0, ONE_BY_ONE)  # with a model, a job first asks for a description
        for text in script:
            await manager.handle(Turn(key, text, language="en", channel=CHANNEL))
        session = await self.services.store.load(key)
        if session is None or session.state != SessionState.CONFIRM:  # fail now, not at timeout
            state = session.state if session is not None else "no session"
            raise RuntimeError(f"{job.id}: the walk ended in {state}, not at the read-back")
        delivered = self._delivered[key] = asyncio.Event()
        start = time.perf_counter()
        try:
            await manager.handle(Turn(key, "yes", channel=CHANNEL))
            await asyncio.wait_for(delivered.wait(), self.timeout_s)
            seconds = time.perf_counter() - start
        finally:
            del self._delivered[key]
        session = await self.services.store.load(key)
        artifact_id = session.artifact_id if session is not None else None
        artifact = await self.services.store.artifact(artifact_id) if artifact_id else None
        if artifact is None:
            raise RuntimeError(f"{job.id}: a delivery reply without a stored artifact")
        return Delivered(seconds, artifact)


def _utterance(question: Question) -> str:
    """What the walk says to a question: a good answer, or "skip" to a photo question."""
    return "skip" if question.type == "photo" else good_answer(question, "en")[0]
