"""The test's side of the fake Ollama: known models, scripted replies, recorded requests."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web

from testing.ollama.wire import (
    DEFAULT_STATUS_ERROR,
    Embedder,
    JsonDict,
    ModelInfo,
    RecordedRequest,
    Reply,
    ReplyLike,
    Responder,
    canonical_model_name,
    hash_embedding,
    split_text,
)


class ScriptedOllama:
    """What the fake knows and what tests set and read: models, scripts, failures, records."""

    def __init__(
        self,
        models: Iterable[str] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_size: int = 4,
        embedding_dim: int = 64,
        version: str = "0.12.6",
    ) -> None:
        self.host = host
        self.port = port
        self.chunk_size = chunk_size
        self.embedding_dim = embedding_dim
        self.version = version
        self.models: dict[str, ModelInfo] = {}
        self.requests: list[RecordedRequest] = []
        self.responder: Responder | None = None
        self.embedder: Embedder = lambda texts: [
            hash_embedding(t, self.embedding_dim) for t in texts
        ]
        self._scripts: dict[str, deque[Reply]] = {}
        self._failures: dict[str, deque[tuple[int, str]]] = {}
        self._loaded: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        for name in models:
            self.add_model(name)

    # ----------------------------------------------------------------- scripting

    def add_model(
        self,
        name: str,
        *,
        capabilities: Iterable[str] = ("completion",),
        context_length: int = 131072,
        family: str = "llama",
        parameter_size: str = "3.2B",
        quantization_level: str = "Q4_K_M",
        size: int = 2_019_393_189,
    ) -> ModelInfo:
        """Make ``name`` known ("pulled"); embedding-only models: ``capabilities=("embedding",)``.

        A model without "completion" answers chat/generate with 400 ``"x" does not support
        chat`` / ``generate``, as Ollama does for embedding models.
        """
        info = ModelInfo(
            name=canonical_model_name(name),
            capabilities=tuple(capabilities),
            context_length=context_length,
            family=family,
            parameter_size=parameter_size,
            quantization_level=quantization_level,
            size=size,
        )
        self.models[info.name] = info
        return info

    def remove_model(self, name: str) -> None:
        """Forget a model (deleted on the server): later requests get 404."""
        self.models.pop(canonical_model_name(name), None)

    def script(
        self,
        model: str,
        response: ReplyLike = "",
        *,
        chunk_size: int | None = None,
        delay_per_chunk: float | None = None,
        delay_before: float | None = None,
        hang_after: int | None = None,
        error_after: int | None = None,
        close_after: int | None = None,
        error: str | None = None,
        status: int | None = None,
        done_reason: str | None = None,
        prompt_eval_count: int | None = None,
        eval_count: int | None = None,
    ) -> Reply:
        """Queue the next chat/generate answer for ``model`` (FIFO, one per request).

        ``response`` is a full text (streamed in pieces of about ``chunk_size`` characters),
        a list of explicit chunks, or a ``Reply``; keyword arguments override its fields.
        The model is added if unknown. Returns the queued ``Reply``.
        """
        reply = self._make_reply(response, chunk_size)
        overrides = {
            "delay_per_chunk": delay_per_chunk,
            "delay_before": delay_before,
            "hang_after": hang_after,
            "error_after": error_after,
            "close_after": close_after,
            "error": error,
            "status": status,
            "done_reason": done_reason,
            "prompt_eval_count": prompt_eval_count,
            "eval_count": eval_count,
        }
        reply = dataclasses.replace(reply, **{k: v for k, v in overrides.items() if v is not None})
        name = canonical_model_name(model)
        if name not in self.models:
            self.add_model(name)
        self._scripts.setdefault(name, deque()).append(reply)
        return reply

    def pending(self, model: str | None = None) -> int:
        """Scripted replies not consumed yet (for ``model``, or all models)."""
        if model is not None:
            return len(self._scripts.get(canonical_model_name(model), ()))
        return sum(len(queue) for queue in self._scripts.values())

    def fail_next(
        self, path: str, status: int = 500, error: str = DEFAULT_STATUS_ERROR, times: int = 1
    ) -> None:
        """Answer the next ``times`` requests to ``path`` (e.g. "/api/embed", "/api/tags")
        with ``status`` and ``{"error": error}`` before any other handling."""
        self._failures.setdefault(path, deque()).extend([(status, error)] * times)

    # ----------------------------------------------------------------- observing

    def requests_to(self, path: str) -> list[JsonDict]:
        """The JSON bodies sent to ``path``, in order (``{}`` for bodiless requests)."""
        return [r.json or {} for r in self.requests if r.path == path]

    def last(self, path: str) -> RecordedRequest:
        """The latest request to ``path``; AssertionError if there is none."""
        matches = [r for r in self.requests if r.path == path]
        assert matches, f"no request to {path}; got {[r.path for r in self.requests]}"
        return matches[-1]

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for a test helper
    ) -> None:
        """Poll ``predicate`` until true; TimeoutError after ``timeout`` seconds.

        Polling rather than an event: records are also read from other threads
        (``fake_ollama_in_thread``) and predicates may look at anything.
        """
        async with asyncio.timeout(timeout):
            while not predicate():  # noqa: ASYNC110 - see above
                await asyncio.sleep(0.005)

    async def wait_for_request(
        self,
        path: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for a test helper
    ) -> RecordedRequest:
        """Wait until ``count`` requests reached ``path``; return the ``count``-th."""
        await self.wait_until(lambda: sum(r.path == path for r in self.requests) >= count, timeout)
        return [r for r in self.requests if r.path == path][count - 1]

    # ----------------------------------------------------------------- used by the routes

    def _make_reply(self, response: ReplyLike, chunk_size: int | None = None) -> Reply:
        if isinstance(response, Reply):
            return dataclasses.replace(response, chunks=list(response.chunks))
        if isinstance(response, str):
            return Reply(chunks=split_text(response, chunk_size or self.chunk_size))
        return Reply(chunks=list(response))

    def _find(self, body: JsonDict) -> ModelInfo | None:
        return self.models.get(canonical_model_name(str(body.get("model") or "")))

    def _touch(self, info: ModelInfo, body: JsonDict) -> bool:
        """Mark the model loaded (for /api/ps); returns True when keep_alive unloads it."""
        keep_alive = body.get("keep_alive", "5m")
        if keep_alive in (0, "0", "0s", "0m"):
            self._loaded.pop(info.name, None)
            return True
        self._loaded[info.name] = time.time() + 300
        return False

    async def _next_reply(self, name: str, body: JsonDict) -> Reply | None:
        queue = self._scripts.get(name)
        if queue:
            return queue.popleft()
        if self.responder is None:
            return None
        result: Any = self.responder(dict(body))
        if inspect.isawaitable(result):
            result = await result
        return None if result is None else self._make_reply(result)
