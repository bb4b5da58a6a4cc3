"""An in-process fake of the Ollama HTTP server, for tests.

Why a fake server and not mocks: production code talks to Ollama through the official
``ollama`` client (``ollama.AsyncClient`` / ``ollama.Client``, and ``langchain-ollama`` on top
of it). The failures worth testing live in the wire protocol: which HTTP status or which
stream line becomes which exception, what a stream looks like when the server stalls, errors
or dies half-way, what exactly the client put in the request body (prompt, ``format`` schema,
``options.num_ctx``, temperature). So the production client runs unchanged against
``FakeOllama().url``; nothing inside ``ollama`` or ``httpx`` is patched. No Ollama server or
useful model can be installed on these machines (see /work/shared/FACTS.md), so this fake is
the only Ollama the tests ever see.

The fake follows Ollama's REST API where a client can tell the difference:

* ``GET /api/tags``, ``GET /api/ps``, ``GET /api/version``, ``GET|HEAD /`` ("Ollama is
  running"), ``POST /api/show``, ``POST /api/chat``, ``POST /api/generate``,
  ``POST /api/embed`` and the legacy ``POST /api/embeddings``.
* ``stream`` defaults to true (as in Ollama; the python client always sends it explicitly).
  Streams are NDJSON (``application/x-ndjson``, chunked), one object per line, then a final
  object with ``done: true``, ``done_reason`` and the timing/count fields.
* Model names are matched the way Ollama does: ``llama3.2`` means ``llama3.2:latest``.
  Unknown model: 404 ``{"error": "model \\"x\\" not found, try pulling it first"}`` (chat,
  generate, embed) or ``{"error": "model 'x' not found"}`` (show).
* A chat or generate request with no messages / empty prompt only loads the model
  (``done_reason: "load"``, or ``"unload"`` with ``keep_alive: 0``) and consumes no script.
* ``options.num_predict`` >= 0 cuts the reply to that many chunks with ``done_reason:
  "length"``; ``prompt_eval_count`` (about one token per 4 characters) is capped at
  ``options.num_ctx`` (default 4096), as Ollama silently truncates long prompts.
* Embeddings are served by any known model (older Ollama did so for chat models too);
  chat/generate need the "completion" capability (embedding-only models get 400).
* A ``format`` that is neither ``""``, ``"json"`` nor a JSON object is rejected with 400.
* Errors are ``{"error": "..."}`` with the HTTP status; an error during a stream is an
  ``{"error": "..."}`` line after a 200 status, as Ollama sends when the runner fails.

Durations in responses are deterministic (1 ms per prompt token, 20 ms per reply chunk,
50 ms load), not measured, so tests can assert on them.

What the official client (ollama 0.6.3, httpx 0.28) raises, as proven by
tests/test_ollama_server.py:

* server down, plain call: builtin ``ConnectionError`` (the client converts
  ``httpx.ConnectError``);
* server down, streaming call: ``httpx.ConnectError`` at the first ``__anext__``/``next``
  (the stream call itself returns a generator without connecting);
* unknown model: ``ollama.ResponseError`` with ``status_code == 404`` (stream or not);
* ``status=N`` scripted: ``ollama.ResponseError`` with ``status_code == N``;
* error line mid-stream (``error_after``): ``ollama.ResponseError`` with ``status_code == -1``
  after the chunks before it were yielded; non-streaming: ``ResponseError`` status 500;
* stall (``hang_after``) with ``AsyncClient(host, timeout=t)``: ``httpx.ReadTimeout``;
* connection closed mid-stream (``close_after``): ``httpx.RemoteProtocolError`` ("peer closed
  connection without sending complete message body (incomplete chunked read)"); non-streaming
  (or ``close_after=0`` before any byte): ``httpx.RemoteProtocolError`` ("Server disconnected
  without sending a response."). Neither is an ``ollama`` exception nor a ``ConnectionError``.

Usage::

    async with FakeOllama(models=["llama3.2"]) as server:
        server.script("llama3.2", '{"title": "Lunch menu"}', delay_per_chunk=0.01)
        client = ollama.AsyncClient(host=server.url, timeout=2)
        reply = await client.chat("llama3.2", messages=[...], format=schema)
        assert server.requests_to("/api/chat")[0]["format"] == schema

"Down at start": use ``unused_url()`` (nothing listens there), or ``await server.down()``
right after start and ``await server.up()`` later to simulate Ollama starting after the
assistant (same port). Synchronous code (``ollama.Client``) cannot share the event loop with
the server; use ``fake_ollama_in_thread()`` or call the client through
``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import hashlib
import inspect
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from aiohttp import web

JsonDict = dict[str, Any]
#: One streamed piece of a reply: text, or a dict merged into the chunk's message
#: (``{"thinking": "..."}``, ``{"tool_calls": [...]}``, ``{"content": "..."}``).
Chunk: TypeAlias = str | JsonDict
Embedder: TypeAlias = Callable[[list[str]], list[list[float]]]

_T = TypeVar("_T")

#: The error line ``error_after`` sends unless told otherwise (an Ollama runner failure text).
DEFAULT_STREAM_ERROR = "an error was encountered while running the model: unexpected EOF"
#: The error body for ``status=`` replies unless told otherwise.
DEFAULT_STATUS_ERROR = "llama runner process has terminated: exit status 2"
DEFAULT_NUM_CTX = 4096

# Deterministic durations (nanoseconds): tests can assert on them.
_LOAD_NS = 50_000_000
_PROMPT_TOKEN_NS = 1_000_000
_EVAL_CHUNK_NS = 20_000_000
_POLL_S = 0.02


@dataclass
class Reply:
    """One scripted answer to a chat or generate request.

    Fault indices count content chunks: ``hang_after=2`` sends two chunks then stalls until
    the client goes away or the server is stopped; an index at or past the last chunk
    strikes just before the final ``done`` object. Non-streaming requests get the same
    faults as a whole: a stall, a 500 with ``error`` (``error_after``), or a connection
    closed with no response (``close_after``), after the delay of the chunks before it.
    """

    chunks: list[Chunk]
    delay_per_chunk: float = 0.0
    #: Seconds before the first chunk (model loading, prompt evaluation).
    delay_before: float = 0.0
    hang_after: int | None = None
    error_after: int | None = None
    close_after: int | None = None
    #: Error text for ``error_after`` and ``status``.
    error: str | None = None
    #: Non-200: answer with this HTTP status and ``{"error": error}`` and no stream.
    status: int = 200
    done_reason: str = "stop"
    prompt_eval_count: int | None = None
    eval_count: int | None = None

    @property
    def text(self) -> str:
        """The full content the chunks add up to."""
        return "".join(_chunk_content(chunk) for chunk in self.chunks)


#: What ``script`` and ``responder`` accept: full text, explicit chunks, or a ``Reply``.
ReplyLike: TypeAlias = str | Sequence[Chunk] | Reply
Responder: TypeAlias = Callable[[JsonDict], ReplyLike | None | Awaitable[ReplyLike | None]]


@dataclass
class ModelInfo:
    """A model the fake server "has pulled"; fields feed /api/tags, /api/show and /api/ps."""

    name: str
    capabilities: tuple[str, ...] = ("completion",)
    context_length: int = 131072
    family: str = "llama"
    parameter_size: str = "3.2B"
    quantization_level: str = "Q4_K_M"
    size: int = 2_019_393_189
    embedding_length: int = 3072
    modified_at: str = "2026-11-01T09:00:00.000000Z"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()

    @property
    def details(self) -> JsonDict:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }

    def tag(self) -> JsonDict:
        """This model as an entry of GET /api/tags."""
        return {
            "name": self.name,
            "model": self.name,
            "modified_at": self.modified_at,
            "size": self.size,
            "digest": self.digest,
            "details": self.details,
        }


@dataclass
class RecordedRequest:
    """One request the server received, kept so tests can assert what the client sent."""

    method: str
    path: str
    json: JsonDict | None
    headers: dict[str, str]
    received_at: float = field(default_factory=time.monotonic)
    #: HTTP status answered (200 also for streams that later failed).
    status: int | None = None
    #: "pending" while being answered, then one of: "completed", "http_error",
    #: "error_line", "connection_closed" (close_after), "client_disconnected" (the client
    #: went away first, e.g. its read timeout or a cancelled stream), "server_down".
    outcome: str = "pending"
    #: Content chunks actually written to the stream.
    chunks_sent: int = 0

    @property
    def model(self) -> str | None:
        return (self.json or {}).get("model")


def canonical_model_name(name: str) -> str:
    """``llama3.2`` → ``llama3.2:latest``, as Ollama resolves names without a tag."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def split_text(text: str, chunk_size: int = 4) -> list[Chunk]:
    """Cut ``text`` into token-like pieces: leading spaces plus up to ``chunk_size`` others.

    The pieces concatenate back to ``text`` exactly, so streamed JSON arrives torn at
    arbitrary places, as it does from a real model.
    """
    return list(re.findall(rf"\s*\S{{1,{chunk_size}}}|\s+", text))


def hash_embedding(text: str, dim: int = 64) -> list[float]:
    """A deterministic unit vector from hashed words and character trigrams.

    Not a language model, but texts sharing words get close vectors, so retrieval tests
    can rank passages; identical texts give identical vectors.
    """
    vector = [0.0] * dim
    words = re.findall(r"\w+", text.lower())
    features = words + [w[i : i + 3] for w in words for i in range(max(1, len(w) - 2))]
    for feature in features or [text]:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dim
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def unused_url() -> str:
    """A loopback URL where nothing listens: the "Ollama is not running at start" case."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _chunk_content(chunk: Chunk) -> str:
    return chunk if isinstance(chunk, str) else str(chunk.get("content", ""))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _normalize(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class _Stop(Exception):
    """Raised inside a handler when the answer ended early; carries the outcome."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        #: The stream already started, if any: aiohttp must finish that one, not a new one.
        self.response: web.StreamResponse | None = None


class FakeOllama:
    """A scriptable Ollama server on 127.0.0.1 (see the module docstring for the protocol).

    Attributes tests use directly: ``requests`` (every ``RecordedRequest``), ``models``
    (canonical name → ``ModelInfo``), ``responder`` (called with the request body when a
    model's script queue is empty; returns a ``ReplyLike`` or None), ``embedder`` (texts →
    vectors, default ``hash_embedding`` of ``embedding_dim``).
    """

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

    # ----------------------------------------------------------------- HTTP side

    def _make_reply(self, response: ReplyLike, chunk_size: int | None = None) -> Reply:
        if isinstance(response, Reply):
            return dataclasses.replace(response, chunks=list(response.chunks))
        if isinstance(response, str):
            return Reply(chunks=split_text(response, chunk_size or self.chunk_size))
        return Reply(chunks=list(response))

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

    def _find(self, body: JsonDict) -> ModelInfo | None:
        return self.models.get(canonical_model_name(str(body.get("model") or "")))

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

    def _touch(self, info: ModelInfo, body: JsonDict) -> bool:
        """Mark the model loaded (for /api/ps); returns True when keep_alive unloads it."""
        keep_alive = body.get("keep_alive", "5m")
        if keep_alive in (0, "0", "0s", "0m"):
            self._loaded.pop(info.name, None)
            return True
        self._loaded[info.name] = time.time() + 300
        return False

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

    async def _chat(
        self, request: web.Request, record: RecordedRequest, body: JsonDict
    ) -> web.StreamResponse:
        return await self._complete(request, record, body, chat=True)

    async def _generate(
        self, request: web.Request, record: RecordedRequest, body: JsonDict
    ) -> web.StreamResponse:
        return await self._complete(request, record, body, chat=False)

    async def _complete(
        self, request: web.Request, record: RecordedRequest, body: JsonDict, *, chat: bool
    ) -> web.StreamResponse:
        """Shared chat/generate logic: validation, load-only requests, scripted replies."""
        if not body.get("model"):
            return _error(400, "model is required")
        info = self._find(body)
        if info is None:
            return _not_found(body)
        if "completion" not in info.capabilities:
            return _error(
                400, f'"{body["model"]}" does not support {"chat" if chat else "generate"}'
            )
        fmt = body.get("format")
        if fmt is not None and not (fmt in ("", "json") or isinstance(fmt, dict)):
            return _error(400, 'invalid format: expected "json" or a valid JSON schema')
        stream = body.get("stream", True) is not False
        unloading = self._touch(info, body)
        if chat:
            messages = body.get("messages") or []
            prompt_text = "".join(str(m.get("content") or "") for m in messages)
        else:
            prompt_text = str(body.get("system") or "") + str(body.get("prompt") or "")
        if not (messages if chat else body.get("prompt")):
            # Ollama only loads (or unloads) the model and answers at once.
            reason = "unload" if unloading else "load"
            return web.json_response(
                self._piece(body, chat, "", done=True) | {"done_reason": reason}
            )

        reply = await self._next_reply(info.name, body)
        if reply is None:
            return _error(
                500,
                f"FakeOllama: nothing scripted for model {info.name!r} "
                "(use server.script(...) or server.responder)",
            )
        if reply.status != 200:
            return _error(reply.status, reply.error or DEFAULT_STATUS_ERROR)

        options = body.get("options") or {}
        chunks, done_reason = list(reply.chunks), reply.done_reason
        num_predict = options.get("num_predict")
        if isinstance(num_predict, int) and 0 <= num_predict < len(chunks):
            chunks, done_reason = chunks[:num_predict], "length"
        num_ctx = int(options.get("num_ctx") or DEFAULT_NUM_CTX)
        prompt_tokens = reply.prompt_eval_count
        if prompt_tokens is None:
            prompt_tokens = min(_tokens(prompt_text), num_ctx)
        eval_count = reply.eval_count if reply.eval_count is not None else len(chunks)
        final = self._piece(body, chat, "", done=True) | {
            "done_reason": done_reason,
            **_stats(prompt_tokens, eval_count),
        }
        if not chat:
            final["context"] = list(range(1, min(prompt_tokens + eval_count, 16) + 1))
        faults = [
            (index, kind)
            for index, kind in (
                (reply.hang_after, "hang"),
                (reply.error_after, "error"),
                (reply.close_after, "close"),
            )
            if index is not None
        ]
        fault = min(faults, key=lambda f: f[0]) if faults else None
        if stream:
            return await self._stream(request, record, body, chat, reply, chunks, final, fault)
        return await self._whole(request, record, body, chat, reply, chunks, final, fault)

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

    def _piece(self, body: JsonDict, chat: bool, chunk: Chunk, *, done: bool) -> JsonDict:
        """One NDJSON object in Ollama's shape for chat (``message``) or generate (``response``)."""
        extra = {} if isinstance(chunk, str) else {k: v for k, v in chunk.items() if k != "content"}
        content = _chunk_content(chunk)
        piece: JsonDict = {"model": body["model"], "created_at": _now()}
        if chat:
            piece["message"] = {"role": "assistant", "content": content, **extra}
        else:
            piece["response"] = content
            if "thinking" in extra:
                piece["thinking"] = extra["thinking"]
        piece["done"] = done
        return piece

    async def _stream(
        self,
        request: web.Request,
        record: RecordedRequest,
        body: JsonDict,
        chat: bool,
        reply: Reply,
        chunks: list[Chunk],
        final: JsonDict,
        fault: tuple[int, str] | None,
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/x-ndjson"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        record.status = 200
        try:
            await self._pause(request, reply.delay_before)
            for index in range(len(chunks) + 1):
                if fault is not None and index == min(fault[0], len(chunks)):
                    await self._strike(request, record, response, reply, fault[1])
                if index == len(chunks):
                    break
                if index:
                    await self._pause(request, reply.delay_per_chunk)
                piece = self._piece(body, chat, chunks[index], done=False)
                await self._write(record, response, piece)
                record.chunks_sent += 1
            await self._write(record, response, final)
            try:
                await response.write_eof()
            except ConnectionError:
                raise _Stop("client_disconnected") from None
        except _Stop as stop:
            stop.response = response
            raise
        return response

    async def _whole(
        self,
        request: web.Request,
        record: RecordedRequest,
        body: JsonDict,
        chat: bool,
        reply: Reply,
        chunks: list[Chunk],
        final: JsonDict,
        fault: tuple[int, str] | None,
    ) -> web.StreamResponse:
        generated = len(chunks) if fault is None else min(fault[0], len(chunks))
        await self._pause(request, reply.delay_before + reply.delay_per_chunk * generated)
        if fault is not None:
            kind = fault[1]
            if kind == "error":
                return _error(500, reply.error or DEFAULT_STREAM_ERROR)
            await self._strike(request, record, None, reply, kind)
        result = dict(final)
        if chat:
            message: JsonDict = {
                "role": "assistant",
                "content": "".join(map(_chunk_content, chunks)),
            }
            thinking = "".join(str(c.get("thinking", "")) for c in chunks if isinstance(c, dict))
            tool_calls = [t for c in chunks if isinstance(c, dict) for t in c.get("tool_calls", [])]
            if thinking:
                message["thinking"] = thinking
            if tool_calls:
                message["tool_calls"] = tool_calls
            result["message"] = message
        else:
            result["response"] = "".join(map(_chunk_content, chunks))
        return web.json_response(result)

    async def _strike(
        self,
        request: web.Request,
        record: RecordedRequest,
        response: web.StreamResponse | None,
        reply: Reply,
        kind: str,
    ) -> None:
        """Apply a fault; always ends the request by raising ``_Stop``."""
        if kind == "error":
            assert response is not None
            await self._write(record, response, {"error": reply.error or DEFAULT_STREAM_ERROR})
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
            raise _Stop("error_line")
        if kind == "close":
            transport = request.transport
            if transport is not None:
                transport.close()  # FIN after the bytes already written: a dying server
            raise _Stop("connection_closed")
        # hang: stall until the client gives up or the server goes down
        while not self._closing.is_set():
            if _client_gone(request):
                raise _Stop("client_disconnected")
            await self._pause(request, _POLL_S)
        raise _Stop("server_down")

    async def _pause(self, request: web.Request, seconds: float) -> None:
        """Sleep, but end the request if the server goes down or the client leaves."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if _client_gone(request):
                raise _Stop("client_disconnected")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), min(left, _POLL_S))
            if self._closing.is_set():
                transport = request.transport
                if transport is not None:
                    transport.abort()
                raise _Stop("server_down")

    async def _write(
        self, record: RecordedRequest, response: web.StreamResponse, obj: JsonDict
    ) -> None:
        try:
            await response.write(json.dumps(obj, ensure_ascii=False).encode() + b"\n")
        except ConnectionError:
            raise _Stop("client_disconnected") from None


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _stats(prompt_tokens: int, eval_count: int) -> JsonDict:
    prompt_ns = prompt_tokens * _PROMPT_TOKEN_NS
    eval_ns = eval_count * _EVAL_CHUNK_NS
    return {
        "total_duration": _LOAD_NS + prompt_ns + eval_ns,
        "load_duration": _LOAD_NS,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": prompt_ns,
        "eval_count": eval_count,
        "eval_duration": eval_ns,
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _not_found(body: JsonDict) -> web.Response:
    return _error(404, f'model "{body.get("model")}" not found, try pulling it first')


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
