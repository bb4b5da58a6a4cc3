"""The ports: what the core needs from the outside, as ``Protocol``s.

Adapters (SQLite, jinja2 generators, speech engines, Ollama) implement these; the core only
ever sees the protocol, so an engine is swapped by adding a file, not by editing the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.jobs import Job
from assistant.session import Artifact, GenerationRequest, Session, TurnRecord


@dataclass(frozen=True, slots=True)
class TurnEffects:
    """What a turn asks of the store besides saving the session, in the same transaction."""

    enqueue: GenerationRequest | None = None
    cancel_generation: int | None = None


class SessionStore(Protocol):
    """Sessions and their history; every method is safe to await from the event loop."""

    async def load(self, key: str) -> Session | None:
        """The stored session, or None for a new key."""
        ...

    async def find_by_code(self, code: str) -> Session | None:
        """The session a six-character continuation code belongs to."""
        ...

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """A delivered artifact, to show its links again."""
        ...

    async def commit_turn(
        self, session: Session, record: TurnRecord, effects: TurnEffects
    ) -> Session:
        """Save the session, its history row and the effects atomically; returns it saved."""
        ...


@dataclass(frozen=True, slots=True)
class GenerationTask:
    """A queued request as a worker claims it."""

    request: GenerationRequest
    attempts: int


class GenerationQueueStore(Protocol):
    """The persistent queue the generation workers take from."""

    async def requeue_interrupted(self) -> int:
        """Put tasks that were running when the process died back in line."""
        ...

    async def claim_next(self) -> GenerationTask | None:
        """Take the oldest waiting task, or None."""
        ...

    async def finish(self, task_id: int, artifact: Artifact) -> bool:
        """Record the artifact; False when the task was cancelled meanwhile."""
        ...

    async def fail(self, task_id: int, code: str, message: str) -> None:
        """Record why the task failed; it is not retried."""
        ...

    async def depth(self) -> int:
        """How many tasks wait or run."""
        ...


@dataclass(frozen=True, slots=True)
class GeneratedFiles:
    """What a generator wrote into its folder, and what it wants in the manifest."""

    files: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)


class Generator(Protocol):
    """Turns confirmed answers into files in an empty folder."""

    async def generate(self, job: Job, request: GenerationRequest, folder: Path) -> GeneratedFiles:
        """Write the artifact's files; raise ``GenerationError`` when it cannot."""
        ...
