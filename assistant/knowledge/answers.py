"""Answers to "how do I ..." questions: the closest help passages, in the model's words when
it answers, otherwise the best passage itself.

The passages and the question go to the model as quoted data with the instruction to answer
only from them; what it writes is shown and spoken as plain text. A question nothing in the
knowledge base is close to gets no answer here, and the dialog treats the words as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import AssistantError, LanguageModelError
from assistant.llm.prompts import prompt_for
from assistant.ports import INTERACTIVE_TIMEOUT_S, KnowledgeAnswer, LanguageModel
from assistant.startup import lower_thread_priority

if TYPE_CHECKING:  # chromadb loads only when the knowledge base is first used
    from assistant.knowledge.base import KnowledgeBase, Passage

_LOGGER = logging.getLogger(__name__)

# When a passage answers the question (issue 14, part H). multilingual-e5 puts every pair of
# texts between about 0.78 and 0.93, so a bare threshold cannot tell "about this" from "about
# the same kind of thing": "How do I add a picture to my page?" scored 0.868 against the
# About-me page. Measured on the starter set with 31 questions it answers and 29 it does not
# (both languages; tests/test_knowledge_dialog.py keeps a sample of each): no unanswerable
# question scored above 0.876 nor stood out from its neighbours by more than 0.058, while
# 26 of the 31 answerable ones pass one test or the other. A miss says "I don't know".
MIN_SCORE = 0.88  # this close, the passage is about the question
MIN_LEAD = 0.06  # or it stands out this far above the mean of its neighbourhood
NEIGHBOURHOOD = 20  # passages compared for the lead
MAX_ANSWER = 600
HELP_PROMPT = "help_answer"  # generators/prompts/help_answer.vN.md


# What a help answer may not be: markup (HTML, Markdown links, code fences, template syntax),
# links or addresses, or text that talks about prompts and instructions instead of answering
# (a passage or question that tried to steer the model). The answer is shown and spoken as
# data; escaping it is the channel's job, but none of this belongs in a spoken help answer.
_MARKUP = re.compile(r"[<>`]|\]\(|\{\{|\{%|^\s*#|\*\*|__", re.M)
_LINK = re.compile(
    r"://|\bwww\.|\b(?:javascript|mailto|data):|\b[\w-]+\.(?:com|net|org|io|jp|ru|cn|xyz)\b",
    re.I,
)
_STEERING = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,40}\b(?:instructions?|rules|prompt|above|previous)"
    r"|\bsystem prompt\b|\bas an ai\b|\bi am an ai\b|\bnew instructions?\b|\bjailbreak"
    r"|指示を無視|命令を無視|システムプロンプト",
    re.I,
)
MAX_SENTENCES = 4
_SENTENCE = re.compile(r".+?(?:[.!?]+(?=\s|$)|[。！？]+|$)")


def plain_answer(text: str) -> str | None:
    """The model's answer as a short plain sentence or few, or None when it is not one.

    Overlong answers are cut at a sentence end (a spoken answer of more than a few sentences is
    lost on a listener); markup, links and instruction-like text are refused outright, and the
    passage itself is given instead.
    """
    text = " ".join(text.split())
    if not text or _MARKUP.search(text) or _LINK.search(text) or _STEERING.search(text):
        return None
    if any(ord(ch) < 32 for ch in text):
        return None
    kept = ""
    for count, sentence in enumerate(_SENTENCE.findall(text), start=1):
        sentence = sentence.strip()
        joined = kept + ("" if not kept or kept.endswith(("。", "！", "？")) else " ") + sentence
        if len(joined) > MAX_ANSWER or count > MAX_SENTENCES:
            break
        kept = joined
    return kept or None


class KnowledgeAnswers:
    """The ``KnowledgeAnswerer`` port on the chromadb knowledge base and the language model."""

    def __init__(
        self,
        base: KnowledgeBase,
        model: LanguageModel | None = None,
        model_timeout: float = INTERACTIVE_TIMEOUT_S,
    ) -> None:
        self.base = base
        self.model = model
        self.model_timeout = model_timeout

    async def answer(self, question: str, language: str) -> KnowledgeAnswer | None:
        try:
            passages = await asyncio.to_thread(self.base.ask, question, language, NEIGHBOURHOOD)
        except AssistantError as err:
            _LOGGER.warning("knowledge base unavailable: %s", err.message)
            return None
        passages = relevant(passages)[:3]
        if not passages:
            return None
        best = passages[0]
        if self.model is not None:
            written = await self._written(question, language, passages)
            if written:
                return KnowledgeAnswer(written, best.source, best.title, by_model=True)
        return KnowledgeAnswer(_short(best.text), best.source, best.title)

    async def _written(self, question: str, language: str, passages: list[Passage]) -> str | None:
        assert self.model is not None
        request = "\n".join(
            [
                "Question (JSON string): " + json.dumps(question, ensure_ascii=False),
                "Help passages (JSON):",
                json.dumps(
                    [{"title": p.title, "text": p.text} for p in passages], ensure_ascii=False
                ),
            ]
        )
        system, user = prompt_for(HELP_PROMPT).messages(request, language)
        try:
            async with asyncio.timeout(self.model_timeout):
                reply = await self.model.complete_text(system, user)
        except LanguageModelError as err:
            _LOGGER.info("knowledge answer without the model (%s)", err.code)
            return None
        except TimeoutError:
            _LOGGER.info("knowledge answer without the model (late: %g s)", self.model_timeout)
            return None
        text = plain_answer(reply.text)
        if text is None:
            _LOGGER.warning("the model's help answer was refused: %r", reply.text[:200])
        return text


def relevant(passages: list[Passage]) -> list[Passage]:
    """The passages (best first) that answer the question, by ``MIN_SCORE`` or ``MIN_LEAD``."""
    if not passages:
        return []
    mean = sum(p.score for p in passages) / len(passages)
    lead = MIN_LEAD if len(passages) > 1 else float("inf")  # one passage has no neighbours
    return [p for p in passages if p.score >= MIN_SCORE or p.score - mean >= lead]


def _short(text: str) -> str:
    """A passage read out as an answer: its first sentences, up to ``MAX_ANSWER`` characters."""
    text = " ".join(line.strip("# ").strip() for line in text.splitlines() if line.strip())
    return text if len(text) <= MAX_ANSWER else text[:MAX_ANSWER].rsplit(" ", 1)[0] + "…"


class LazyKnowledge:
    """The knowledge base opened on first use, and filled with the starter set when empty.

    chromadb and the embedding model cost start-up time and memory that a kiosk or console
    that is never asked "how do I ..." should not pay.
    """

    def __init__(
        self,
        folder: Path,
        starter: Path,
        model: LanguageModel | None,
        ollama_host: str = "",
        ollama_embed_model: str = "",
        model_timeout: float = INTERACTIVE_TIMEOUT_S,
    ) -> None:
        self.model_timeout = model_timeout
        self.folder = folder
        self.starter = starter
        self.model = model
        self.ollama_host = ollama_host
        self.ollama_embed_model = ollama_embed_model
        self._opening: asyncio.Future[KnowledgeAnswers] | None = None

    async def ready(self) -> KnowledgeAnswers | None:
        """Open (and if empty, fill) the knowledge base; None when it cannot be used.

        The opening is one shared future, shielded: a caller that stops waiting (a bounded
        wait for examples) leaves it running for the next caller instead of starting a second
        chromadb client on the same folder.
        """
        opening = self.begin_opening()
        try:
            return await asyncio.shield(opening)
        except (AssistantError, ImportError, OSError) as err:
            _LOGGER.warning("knowledge base not available: %s", err)
            if self._opening is opening:
                self._opening = None  # try again next time (the folder may be fixed by then)
            return None

    def begin_opening(self) -> asyncio.Future[KnowledgeAnswers]:
        """Start opening in a thread, once; callers that must not wait go on at once."""
        if self._opening is None:
            self._opening = _in_daemon_thread(self._open)
            # Retrieved even when every waiter gave up, so a failure is not logged as lost.
            self._opening.add_done_callback(lambda done: done.cancelled() or done.exception())
        return self._opening

    def is_open(self) -> bool:
        """Whether the knowledge base is open and usable now, without waiting."""
        opening = self._opening
        return (
            opening is not None
            and opening.done()
            and not opening.cancelled()
            and opening.exception() is None
        )

    def _open(self) -> KnowledgeAnswers:
        from assistant.knowledge.base import KnowledgeBase, choose_embedder

        embedder = choose_embedder(self.ollama_host, self.ollama_embed_model)
        base = KnowledgeBase(self.folder, embedder)
        if base.count() == 0 and self.starter.is_dir():
            report = base.ingest(self.starter)
            _LOGGER.info("knowledge base filled with the starter set: %d passages", report.passages)
        return KnowledgeAnswers(base, self.model, self.model_timeout)

    async def answer(self, question: str, language: str) -> KnowledgeAnswer | None:
        answers = await self.ready()
        return await answers.answer(question, language) if answers is not None else None


def _in_daemon_thread(work: Callable[[], KnowledgeAnswers]) -> asyncio.Future[KnowledgeAnswers]:
    """``work`` on a thread of its own whose result the loop receives as a future.

    Not the loop's executor: the start-up task opens the knowledge base as the server starts,
    and a server stopped meanwhile (SIGTERM) must not wait seconds for the embedding model at
    exit, as ``asyncio.run`` waits for its executor's threads (issue 13, part B).
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[KnowledgeAnswers] = loop.create_future()

    def settle(result: KnowledgeAnswers | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        lower_thread_priority()  # start-up work: what users' turns leave of the CPU
        try:
            result, error = work(), None
        except BaseException as err:  # handed to the awaiting code, like to_thread would
            result, error = None, err
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="knowledge-open", daemon=True).start()
    return future
