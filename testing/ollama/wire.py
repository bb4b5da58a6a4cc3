"""Ollama's wire shapes: the types, records and JSON pieces every other part of the fake shares."""

from __future__ import annotations

import datetime
import hashlib
import math
import re
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from aiohttp import web

JsonDict = dict[str, Any]
#: One streamed piece of a reply: text, or a dict merged into the chunk's message
#: (``{"thinking": "..."}``, ``{"tool_calls": [...]}``, ``{"content": "..."}``).
Chunk: TypeAlias = str | JsonDict
Embedder: TypeAlias = Callable[[list[str]], list[list[float]]]

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
