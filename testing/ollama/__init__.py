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

The package: ``wire`` (types, records, the JSON shapes), ``scripting`` (models, scripted
replies, what the test observes), ``replies`` (chat/generate answers, streams and faults)
and ``server`` (HTTP on a real socket, the other routes, the threaded variant).
"""

from testing.ollama.server import FakeOllama, fake_ollama_in_thread
from testing.ollama.wire import (
    DEFAULT_NUM_CTX,
    DEFAULT_STATUS_ERROR,
    DEFAULT_STREAM_ERROR,
    Chunk,
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
    unused_url,
)

__all__ = [
    "DEFAULT_NUM_CTX",
    "DEFAULT_STATUS_ERROR",
    "DEFAULT_STREAM_ERROR",
    "Chunk",
    "Embedder",
    "FakeOllama",
    "JsonDict",
    "ModelInfo",
    "RecordedRequest",
    "Reply",
    "ReplyLike",
    "Responder",
    "canonical_model_name",
    "fake_ollama_in_thread",
    "hash_embedding",
    "split_text",
    "unused_url",
]
