"""Every language model call measured once, whichever backend answers and whoever asks.

The composition root wraps the one model of a service in ``MeasuredModel`` before anything
else holds it (the dialog's readers, the knowledge base, the enricher behind its
one-at-a-time guard), so each call is counted by its outcome (``ok`` or the error code),
timed, and its tokens added as the backend reported them in ``ModelReply``. A call the
one-at-a-time guard refuses (``busy``) never reaches the model and is not a model call.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from assistant.ports import LanguageModel, ModelReply, ModelStatus
from assistant.telemetry import Telemetry, error_code


class MeasuredModel:
    """A ``LanguageModel`` that tells ``telemetry`` about each call of ``model``."""

    def __init__(self, model: LanguageModel, telemetry: Telemetry) -> None:
        self.model = model
        self.telemetry = telemetry

    @property
    def name(self) -> str:
        """The wrapped model's name (the manifests' and the metrics' label)."""
        return self.model.name

    async def status(self) -> ModelStatus:
        return await self.model.status()

    def recently_unreachable(self) -> bool:
        return self.model.recently_unreachable()

    async def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        on_chunk: Callable[[int], None] | None = None,
    ) -> ModelReply:
        return await self._measured(
            lambda: self.model.complete_json(system, user, schema, on_chunk)
        )

    async def complete_text(self, system: str, user: str) -> ModelReply:
        return await self._measured(lambda: self.model.complete_text(system, user))

    async def _measured(self, call: Callable[[], Awaitable[ModelReply]]) -> ModelReply:
        started = time.perf_counter()
        try:
            reply = await call()
        except Exception as err:  # cancellation is nobody's failure: not counted
            self.telemetry.model_call(
                self.name, error_code(err), time.perf_counter() - started, 0, 0
            )
            raise
        seconds = reply.seconds or time.perf_counter() - started
        self.telemetry.model_call(
            self.name, "ok", seconds, reply.prompt_tokens, reply.output_tokens
        )
        return reply

    def __getattr__(self, name: str) -> Any:
        """Anything else the wrapped model offers (``warm``, its ``slot``, ...)."""
        return getattr(self.model, name)
