"""Examples for the generators from the knowledge base: what staff wrote about a job, close
in meaning to what this person asked for.

The model gets them as quoted data "for tone only", so they are bounded (a few passages, a few
hundred characters each) and filtered by closeness: a long or unrelated example costs context
the answers need. The search embeds on the CPU and reads chromadb, so it runs in a thread, and
it is bounded in time: generation never waits long for an example it can do without.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError
from assistant.jobs.catalog import Job
from assistant.session import GenerationRequest

if TYPE_CHECKING:
    from assistant.knowledge.answers import LazyKnowledge

_LOGGER = logging.getLogger(__name__)

MAX_EXAMPLES = 2
MAX_EXAMPLE_CHARS = 500
MAX_QUERY_CHARS = 400
# Lower than a help answer's bar: an example only sets the tone, it need not answer anything.
EXAMPLE_MIN_SCORE = 0.8
# Opening the knowledge base the first time loads the embedding model: a few seconds.
EXAMPLES_WAIT_S = 10.0


def example_query(job: Job, request: GenerationRequest) -> str:
    """What to search for: the job and the person's own words (names, items, a greeting)."""
    language = request.language
    words = [job.title.get(language), job.description.get(language)]
    for question in job.questions:
        value = request.answers.get(question.id)
        if isinstance(value, str) and not value.startswith("#"):  # colours say nothing
            words.append(value)
        elif isinstance(value, list):
            words += [str(item) for item in value]
    return " ".join(word for word in words if word)[:MAX_QUERY_CHARS]


def _trimmed(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_EXAMPLE_CHARS:
        return text
    return text[:MAX_EXAMPLE_CHARS].rsplit(" ", 1)[0] + "…"


class KnowledgeExamples:
    """The ``Examples`` the enricher asks for, from the service's (lazily opened) knowledge
    base; an empty list whenever it is missing, broken or slow."""

    def __init__(self, knowledge: LazyKnowledge, wait: float = EXAMPLES_WAIT_S) -> None:
        self.knowledge = knowledge
        self.wait = wait

    async def __call__(self, job: Job, request: GenerationRequest) -> list[dict[str, Any]]:
        if not self.knowledge.is_open():
            # Opening (and filling) the knowledge base takes seconds; a delivery never waits
            # for it: this one goes without examples and the next ones have them. (Waiting
            # here queued every delivery of a busy server behind the first.)
            self.knowledge.begin_opening()
            return []
        try:
            async with asyncio.timeout(self.wait):
                answers = await self.knowledge.ready()
                if answers is None:
                    return []
                passages = await asyncio.to_thread(
                    answers.base.ask, example_query(job, request), request.language, MAX_EXAMPLES
                )
        except (AssistantError, TimeoutError, OSError) as err:
            _LOGGER.warning("no examples for %s: %s", job.id, err)
            return []
        return [
            {"source": p.source, "title": p.title, "text": _trimmed(p.text)}
            for p in passages
            if p.score >= EXAMPLE_MIN_SCORE
        ]
