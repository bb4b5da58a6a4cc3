"""The ``LanguageModel`` port on Ollama, through its official async client.

Every way the model can fail becomes a ``LanguageModelError`` with a code, because callers
only ever need to know one thing: use the template result and say so in one sentence. The
client raises different things for the same cause (a server that is down is a
``ConnectionError`` for a plain call but an ``httpx.ConnectError`` at the first chunk of a
stream), so they are mapped here, in one place.

The whole call, stream included, is bounded by ``timeout``: a model that keeps writing slowly
is as late as one that hangs.

What the model writes is outside text: a plain answer is made valid here (``safe_text.clean``),
so a lone surrogate or an escape sequence never reaches the dialog, the store or a socket. JSON
data cannot be mended without changing what the model meant, so data holding a lone surrogate
(a ``"\\ud800"`` escape) or a control character is refused as ``invalid_output``, and the
caller uses its template.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.errors import LanguageModelError
from assistant.ports import ModelReply, ModelStatus
from assistant.safe_text import clean, has_controls, has_surrogates

if TYPE_CHECKING:  # the client (with httpx and pydantic) loads on the first model call
    import ollama

_LOGGER = logging.getLogger(__name__)
# After "cannot reach the server", optional work for the model is skipped this long: with
# Ollama down, searching the knowledge base for examples before every delivery only slowed
# a busy server (2,000 web sessions: deliveries queued for 50 s).
UNREACHABLE_MEMORY_S = 30.0


def _mapped(err: BaseException, host: str, model: str) -> LanguageModelError:
    """One code for each way the server or the client can fail."""
    import httpx
    import ollama

    if isinstance(err, LanguageModelError):
        return err
    if isinstance(err, ollama.ResponseError):
        if err.status_code == 404:
            return LanguageModelError(
                f"model {model!r} is not on {host}: run `ollama pull {model}`",
                code="model_missing",
            )
        return LanguageModelError(f"the model server said: {err.error}", code="failed")
    if isinstance(err, TimeoutError | httpx.TimeoutException):
        return LanguageModelError(f"{host} took too long", code="timeout")
    if isinstance(err, ConnectionError | httpx.ConnectError | httpx.RemoteProtocolError):
        return LanguageModelError(f"cannot reach the model server at {host}", code="unavailable")
    if isinstance(err, httpx.HTTPError):
        return LanguageModelError(f"talking to {host} failed: {err}", code="unavailable")
    return LanguageModelError(f"{type(err).__name__}: {err}", code="failed")


class OllamaModel:
    """Chat completions on one Ollama model, streamed, with our context size and temperature."""

    def __init__(
        self,
        host: str,
        model: str,
        *,
        num_ctx: int = 4096,
        temperature: float = 0.7,
        timeout: float = 60.0,
    ) -> None:
        self.host = host
        self.model = model
        self.name = f"ollama:{model}"
        self.num_ctx = num_ctx
        self.temperature = temperature
        self.timeout = timeout
        self._client: ollama.AsyncClient | None = None
        self._unreachable_at = float("-inf")  # monotonic time of the last "cannot reach"

    @property
    def client(self) -> ollama.AsyncClient:
        # Made on first use: the client binds to the event loop it is first used in.
        if self._client is None:
            import ollama

            self._client = ollama.AsyncClient(host=self.host, timeout=self.timeout)
        return self._client

    async def status(self) -> ModelStatus:
        try:
            async with asyncio.timeout(min(self.timeout, 5.0)):
                listed = await self.client.list()
        except Exception as err:
            return ModelStatus(reachable=False, detail=_mapped(err, self.host, self.model).message)
        names = tuple(str(m.model) for m in listed.models if m.model)
        wanted = {self.model, f"{self.model}:latest"}
        return ModelStatus(reachable=True, models=names, has_model=bool(wanted & set(names)))

    async def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        on_chunk: Callable[[int], None] | None = None,
    ) -> ModelReply:
        reply = await self._chat(system, user, schema, on_chunk)
        try:
            data = _valid(json.loads(reply.text))
        except ValueError as err:
            refused = LanguageModelError(
                f"the model's answer is not usable JSON: {err}", code="invalid_output"
            )
            _LOGGER.warning("language model: %s", refused.message)
            raise refused from err
        return ModelReply(
            data, reply.text, reply.model, reply.prompt_tokens, reply.output_tokens, reply.seconds
        )

    async def complete_text(self, system: str, user: str) -> ModelReply:
        return await self._chat(system, user, None, None)

    def recently_unreachable(self) -> bool:
        return time.monotonic() - self._unreachable_at < UNREACHABLE_MEMORY_S

    async def _chat(
        self,
        system: str,
        user: str,
        schema: dict[str, Any] | None,
        on_chunk: Callable[[int], None] | None,
    ) -> ModelReply:
        started = time.perf_counter()
        parts: list[str] = []
        prompt_tokens = output_tokens = 0
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        options = {"num_ctx": self.num_ctx, "temperature": self.temperature}
        try:
            async with asyncio.timeout(self.timeout):
                stream = await self.client.chat(
                    model=self.model,
                    messages=messages,
                    format=schema,
                    options=options,
                    stream=True,
                )
                async for chunk in stream:
                    parts.append(chunk.message.content or "")
                    if on_chunk is not None:
                        on_chunk(len(parts))
                    if chunk.done:
                        prompt_tokens = chunk.prompt_eval_count or 0
                        output_tokens = chunk.eval_count or 0
        except Exception as err:  # KeyboardInterrupt, SystemExit, CancelledError go through
            mapped = _mapped(err, self.host, self.model)
            _LOGGER.warning("language model: %s (%s)", mapped.message, mapped.code)
            if mapped.code == "unavailable":
                self._unreachable_at = time.monotonic()
            raise mapped from err
        self._unreachable_at = float("-inf")
        return ModelReply(
            None,
            clean("".join(parts)),
            self.model,
            prompt_tokens,
            output_tokens,
            time.perf_counter() - started,
        )


def _valid(value: Any) -> Any:
    """JSON data with every text checked (Windows line ends become newlines); raises
    ``ValueError`` for a lone surrogate or a control character anywhere in it."""
    if isinstance(value, str):
        value = value.replace("\r\n", "\n")
        if has_surrogates(value):
            raise ValueError("a text holds invalid Unicode (a lone surrogate)")
        if has_controls(value):
            raise ValueError("a text holds control characters")
        return value
    if isinstance(value, list):
        return [_valid(item) for item in value]
    if isinstance(value, dict):
        return {_valid(key): _valid(item) for key, item in value.items()}
    return value
