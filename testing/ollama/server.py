"""The fake Ollama server itself: HTTP on a real socket, routing, the non-completion routes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import inspect
import json
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from aiohttp import web

from testing.ollama.replies import ReplyingOllama
from testing.ollama.wire import (
    _LOAD_NS,
    _PROMPT_TOKEN_NS,
    DEFAULT_NUM_CTX,
    JsonDict,
    RecordedRequest,
    _error,
    _normalize,
    _not_found,
    _Stop,
    _tokens,
    canonical_model_name,
)

_T = TypeVar("_T")


class FakeOllama(ReplyingOllama):
    """A scriptable Ollama server on 127.0.0.1 (the protocol: see the ``testing.ollama`` docstring).

    Attributes tests use directly: ``requests`` (every ``RecordedRequest``), ``models``
    (canonical name → ``ModelInfo``), ``responder`` (called with the request body when a
    model's script queue is empty; returns a ``ReplyLike`` or None), ``embedder`` (texts →
    vectors, default ``hash_embedding`` of ``embedding_dim``).
    """

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the ``host`` to give ``ollama.AsyncClient``."""
        if not self.port:
            raise RuntimeError("FakeOllama has no port yet: start it first")
        return f"http://{self.host}:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Listen (on a free port the first time, on the same port afterwards)."""
        if self._runner is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def down(self) -> None:
        """Stop listening and drop every connection, as when Ollama is killed.

        Streams in progress are cut (their outcome becomes "server_down"); later requests
        fail to connect until ``up()``.
        """
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing.set()
        await runner.cleanup()

    async def up(self) -> None:
        """Listen again on the same port (Ollama restarted); scripts and records are kept."""
        await self.start()

    async def stop(self) -> None:
        """Same as ``down()``; the name for the end of a test."""
        await self.down()

    async def __aenter__(self) -> FakeOllama:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def run_blocking(self, coro: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
        """Run ``coro`` on the server's loop from another thread (``fake_ollama_in_thread``)."""
        if self._loop is None:
            raise RuntimeError("FakeOllama was never started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # ----------------------------------------------------------------- HTTP side

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read() if request.can_read_body else b""
        body: JsonDict | None = None
        bad_body: str | None = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                bad_body = f"invalid character in request body: {exc}"
            else:
                if isinstance(parsed, dict):
                    body = parsed
                else:
                    bad_body = "json: cannot unmarshal request body into an object"
        record = RecordedRequest(request.method, request.path, body, dict(request.headers))
        self.requests.append(record)
        try:
            response = await self._route(request, record, raw, bad_body)
        except _Stop as stop:
            record.outcome = stop.outcome
            # Either the stream already started (finish that one) or the transport is gone
            # and nothing more reaches the client.
            return stop.response or web.Response(status=200)
        if record.outcome == "pending":
            record.outcome = "completed" if response.status < 400 else "http_error"
        record.status = record.status or response.status
        return response

    async def _route(
        self, request: web.Request, record: RecordedRequest, raw: bytes, bad_body: str | None
    ) -> web.StreamResponse:
        path, method = request.path, request.method
        if path in ("/", "") and method in ("GET", "HEAD"):
            return web.Response(text="Ollama is running")
        failures = self._failures.get(path)
        if failures:
            status, error = failures.popleft()
            return _error(status, error)
        get_routes = {"/api/tags": self._tags, "/api/ps": self._ps, "/api/version": self._version}
        post_routes = {
            "/api/show": self._show,
            "/api/chat": self._chat,
            "/api/generate": self._generate,
            "/api/embed": self._embed,
            "/api/embeddings": self._embeddings,
        }
        if method in ("GET", "HEAD") and path in get_routes:
            return web.json_response(get_routes[path]())
        if method != "POST" or path not in post_routes:
            return web.Response(status=404, text="404 page not found")
        if not raw:
            return _error(400, "missing request body")
        if bad_body is not None or record.json is None:
            return _error(400, bad_body or "invalid request body")
        return await post_routes[path](request, record, record.json)

    def _tags(self) -> JsonDict:
        return {"models": [info.tag() for info in self.models.values()]}

    def _ps(self) -> JsonDict:
        models = []
        for name, expires in self._loaded.items():
            info = self.models.get(name)
            if info is None or expires < time.time():
                continue
            expiry = datetime.datetime.fromtimestamp(expires, datetime.UTC)
            models.append(
                {
                    **info.tag(),
                    "expires_at": expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "size_vram": info.size,
                    "context_length": DEFAULT_NUM_CTX,
                }
            )
        return {"models": models}

    def _version(self) -> JsonDict:
        return {"version": self.version}

    async def _show(
        self, request: web.Request, record: RecordedRequest, body: JsonDict
    ) -> web.StreamResponse:
        model = str(body.get("model") or body.get("name") or "")
        info = self.models.get(canonical_model_name(model)) if model else None
        if info is None:
            return _error(404, f"model '{model}' not found")
        arch = info.family
        return web.json_response(
            {
                "license": "",
                "modelfile": f"# Modelfile generated by FakeOllama\nFROM {info.name}\n",
                "parameters": 'stop "<|eot_id|>"',
                "template": "{{ .Prompt }}",
                "details": info.details,
                "model_info": {
                    "general.architecture": arch,
                    "general.parameter_count": 3_212_749_888,
                    f"{arch}.context_length": info.context_length,
                    f"{arch}.embedding_length": info.embedding_length,
                },
                "capabilities": list(info.capabilities),
                "modified_at": info.modified_at,
            }
        )

    async def _embed(
        self, request: web.Request, record: RecordedRequest, body: JsonDict
    ) -> web.StreamResponse:
        info = self._find(body)
        if info is None:
            return _not_found(body)
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        try:
            vectors = await self._call_embedder([str(t) for t in texts])
        except Exception as exc:
            return _error(500, f"embedder failed: {exc}")
        if (dimensions := body.get("dimensions")) is not None:
            vectors = [_normalize(v[: int(dimensions)]) for v in vectors]
        self._touch(info, body)
        prompt_tokens = sum(_tokens(t) for t in texts)
        return web.json_response(
            {
                "model": body["model"],
                "embeddings": vectors,
                "total_duration": _LOAD_NS + prompt_tokens * _PROMPT_TOKEN_NS,
                "load_duration": _LOAD_NS,
                "prompt_eval_count": prompt_tokens,
            }
        )

    async def _embeddings(
        self, request: web.Request, record: RecordedRequest, body: JsonDict
    ) -> web.StreamResponse:
        info = self._find(body)
        if info is None:
            return _not_found(body)
        prompt = str(body.get("prompt") or "")
        try:
            vectors = await self._call_embedder([prompt]) if prompt else [[]]
        except Exception as exc:
            return _error(500, f"embedder failed: {exc}")
        self._touch(info, body)
        return web.json_response({"embedding": vectors[0]})

    async def _call_embedder(self, texts: list[str]) -> list[list[float]]:
        result: Any = self.embedder(texts)
        if inspect.isawaitable(result):
            result = await result
        return [list(map(float, vector)) for vector in result]


@contextlib.contextmanager
def fake_ollama_in_thread(*args: Any, **kwargs: Any) -> Iterator[FakeOllama]:
    """A started ``FakeOllama`` whose event loop runs in a daemon thread.

    For synchronous code under test (``ollama.Client``), which would block a loop it
    shared with the server. Script it directly (``script``/``add_model`` are plain
    appends); run its coroutines with ``server.run_blocking(server.down())``.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-ollama", daemon=True)
    thread.start()
    server = FakeOllama(*args, **kwargs)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield server
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
