"""The language model as generation sees it: one enrichment at a time, and none waits.

One model runs per process (the embedded Qwen writes about 26 tokens/s on two cores, so one
enrichment holds it for many seconds), and a generation worker that waits for the model is a
worker no template delivery can use. In a burst (2,000 web sessions confirming in the same
seconds) every delivery would queue behind the model. So enrichment asks for the model only
when it is free: when another enrichment has it, this one ends at once with the error code
``busy``, and the delivery is the template result with the usual plain sentence that the
writing helper was not available. With two generation workers, one may write with the model
while the other keeps delivering templates, whatever the model is doing. Help answers and
descriptions (interactive, bounded by their own timeouts) use the model directly, not this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from assistant.errors import LanguageModelError
from assistant.ports import LanguageModel, ModelReply, ModelStatus

_LOGGER = logging.getLogger(__name__)


class OneAtATimeModel:
    """A ``LanguageModel`` that refuses (code ``busy``) rather than queue behind itself."""

    def __init__(self, model: LanguageModel) -> None:
        self.model = model
        self.busy = False  # an enrichment has the model now (one event loop: no lock needed)
        self.refused = 0  # enrichments that went without the model, for the log and the bench

    @property
    def name(self) -> str:
        """The wrapped model's name (recorded in each artifact's manifest)."""
        return self.model.name

    async def status(self) -> ModelStatus:
        return await self.model.status()

    def recently_unreachable(self) -> bool:
        """Also while busy: the enricher then skips what only helps the model (examples from
        the knowledge base), since the call will be refused at once."""
        return self.busy or self.model.recently_unreachable()

    async def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        on_chunk: Callable[[int], None] | None = None,
    ) -> ModelReply:
        self._take()
        try:
            return await self.model.complete_json(system, user, schema, on_chunk)
        finally:
            self.busy = False

    async def complete_text(self, system: str, user: str) -> ModelReply:
        self._take()
        try:
            return await self.model.complete_text(system, user)
        finally:
            self.busy = False

    def __getattr__(self, name: str) -> Any:
        """Anything else the wrapped model offers (``warm``, structured output, ...)."""
        return getattr(self.model, name)

    def _take(self) -> None:
        if self.busy:
            self.refused += 1
            _LOGGER.info("model busy with another job: template only (%d so far)", self.refused)
            raise LanguageModelError("the model is writing for another job", code="busy")
        self.busy = True
