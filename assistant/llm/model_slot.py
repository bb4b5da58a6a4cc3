"""One model, one writer: the one place that knows whether the language model is busy.

One model runs per process (the embedded Qwen writes about 26 tokens/s on two cores, so one
answer holds it for many seconds). A ``ModelSlot`` belongs to one model and counts what it is
writing; two kinds of caller use it:

* callers that may wait (a help answer, a description: interactive, bounded by their own
  timeouts) run their work through ``submit``: on the slot's one thread, after everything
  submitted before, so the embedded model never writes two answers into its context at once
  and the event loop never waits on the CPU. Loading queues there too, but is not writing: a
  call made while the model loads simply waits for it, bounded by the caller's timeout;
* callers that must not wait (enrichment, through ``OneAtATimeModel``): a generation worker
  that waits for the model is a worker no template delivery can use, and in a burst (2,000 web
  sessions confirming in the same seconds) every delivery would queue behind the model. So
  enrichment takes the model only when it is free: when the slot is busy it ends at once with
  the error code ``busy``, and the delivery is the template result with the usual plain
  sentence that the writing helper was not available. With two generation workers, one may
  write with the model while the other keeps delivering templates, whatever the model does.

A server's model (Ollama, an OpenAI-compatible server) runs elsewhere and may answer several
calls at once: its slot counts only the enrichment that holds it, one at a time as before.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from assistant.errors import LanguageModelError
from assistant.ports import LanguageModel, ModelReply, ModelStatus

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


class ModelSlot:
    """Whether one model is writing, and the one thread its blocking work runs on (module doc)."""

    def __init__(self, thread_name: str = "llm") -> None:
        self._thread_name = thread_name
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()  # jobs end on the model's thread, holders on the loop
        self._writing = 0  # answers being written or queued, and enrichments holding it
        self.refused = 0  # callers that went without the model, for the log and the bench

    @property
    def busy(self) -> bool:
        """Whether the model is writing for someone (or has writing queued)."""
        return self._writing > 0

    def submit(self, work: Callable[[], T], *, writes: bool = True) -> concurrent.futures.Future[T]:
        """Run ``work`` on the model's one thread after everything submitted before; a job
        that ``writes`` keeps the slot busy until it ends, or is cancelled while queued."""
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(1, self._thread_name)
            if writes:
                self._writing += 1
            future = self._executor.submit(work)
        if writes:
            future.add_done_callback(lambda _: self._release())
        return future

    @asynccontextmanager
    async def unless_busy(self) -> AsyncIterator[None]:
        """Hold the model for a caller that must not wait: ``LanguageModelError`` with code
        ``busy`` at once when someone else has it."""
        with self._lock:
            refused = self._writing > 0
            if refused:
                self.refused += 1
            else:
                self._writing += 1
        if refused:
            _LOGGER.info("model busy with another job: template only (%d so far)", self.refused)
            raise LanguageModelError("the model is writing for another job", code="busy")
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._writing -= 1


def slot_of(model: LanguageModel) -> ModelSlot | None:
    """The slot a model keeps for itself (the embedded model's, shared by every session of
    the process), or None for a server's model."""
    slot = getattr(model, "slot", None)
    return slot if isinstance(slot, ModelSlot) else None


class OneAtATimeModel:
    """A ``LanguageModel`` that refuses (code ``busy``) rather than queue behind its model's
    slot (module doc): the generation queue's view of the model."""

    def __init__(self, model: LanguageModel) -> None:
        self.model = model
        self.slot = slot_of(model) or ModelSlot()

    @property
    def name(self) -> str:
        """The wrapped model's name (recorded in each artifact's manifest)."""
        return self.model.name

    @property
    def busy(self) -> bool:
        """Whether the model is writing for someone now."""
        return self.slot.busy

    @property
    def refused(self) -> int:
        """Enrichments that went without the model so far."""
        return self.slot.refused

    async def status(self) -> ModelStatus:
        return await self.model.status()

    def recently_unreachable(self) -> bool:
        """Also while busy: the enricher then skips what only helps the model (examples from
        the knowledge base), since the call will be refused at once."""
        return self.slot.busy or self.model.recently_unreachable()

    async def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        on_chunk: Callable[[int], None] | None = None,
    ) -> ModelReply:
        async with self.slot.unless_busy():
            return await self.model.complete_json(system, user, schema, on_chunk)

    async def complete_text(self, system: str, user: str) -> ModelReply:
        async with self.slot.unless_busy():
            return await self.model.complete_text(system, user)

    def __getattr__(self, name: str) -> Any:
        """Anything else the wrapped model offers (``warm``, structured output, ...)."""
        return getattr(self.model, name)
