"""The ports: what the core needs from the outside, as ``Protocol``s.

Adapters (SQLite, jinja2 generators, speech engines, Ollama) implement these; the core only
ever sees the protocol, so an engine is swapped by adding a file, not by editing the core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.jobs.catalog import Job
from assistant.session import Artifact, GenerationRequest, Session, ShareRequest, TurnRecord
from assistant.upkeep_ports import CleanupReport


@dataclass(frozen=True, slots=True)
class TurnEffects:
    """What a turn asks of the store besides saving the session, in the same transaction."""

    enqueue: GenerationRequest | None = None
    cancel_generation: int | None = None
    share: ShareRequest | None = None  # carried out after the commit, not by the store


class SessionStore(Protocol):
    """Sessions and their history; every method is safe to await from the event loop."""

    async def load(self, key: str) -> Session | None:
        """The stored session, or None for a new key."""
        ...

    async def find_by_code(self, code: str) -> Session | None:
        """The session a six-character continuation code belongs to, while the code lives
        (not after the session ended, nor long after it was last used)."""
        ...

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """A delivered artifact, to show its links again."""
        ...

    async def last_replies(self, key: str) -> list[dict[str, Any]]:
        """The wire form of the replies of the session's latest turn that said something."""
        ...

    async def commit_turn(
        self, session: Session, record: TurnRecord, effects: TurnEffects
    ) -> Session:
        """Save the session, its history row and the effects atomically; returns it saved.

        Raises ``StoreError`` with code ``session_conflict`` when another process changed the
        session since it was loaded: the turn is not saved, and the channel says so.
        """
        ...

    async def revisions(self, keys: list[str]) -> dict[str, int]:
        """The stored revision of each of ``keys`` that exists (to follow sessions' changes)."""
        ...

    async def seat_session(self, seat: str) -> str | None:
        """The key of the current session at a kiosk or console (a seat), if it was taken."""
        ...

    async def take_seat(self, seat: str, session_key: str) -> None:
        """Make ``session_key`` the seat's current session (the next person sat down)."""
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

    async def enqueue_running(self, request: GenerationRequest) -> int:
        """A task the caller runs at once itself (``assistant generate``); returns its id."""
        ...

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """A stored artifact: a build whose task another worker took over (its lease ran out)
        asks whether that one stored it first, rather than replace its folder."""
        ...


class ArtifactStore(Protocol):
    """Finished artifacts, found by id (to show again) or by a link's token (to serve)."""

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """One stored artifact by its id."""
        ...

    async def artifact_by_token(self, token: str) -> Artifact | None:
        """The artifact a download or preview link names (expiry is the caller's to check)."""
        ...


class ClusterQueueStore(GenerationQueueStore, ArtifactStore, Protocol):
    """The same queue worked by Celery workers: tasks are named by their messages, and the
    artifacts they stored are found by id for the instance that delivers them."""

    async def claim(self, task_id: int, lease_s: float) -> GenerationTask | None:
        """Take the task ``task_id`` if it waits or its last claim is older than ``lease_s``."""
        ...

    async def unbuilt(self, stale_before: float) -> list[int]:
        """Tasks waiting, or running with a claim older than ``stale_before`` (a time)."""
        ...

    async def unheard(self) -> list[tuple[GenerationRequest, str, str | None]]:
        """Ended builds (request, ``done``/``failed``, artifact id) a session still waits for."""
        ...


class ServedStore(ArtifactStore, Protocol):
    """What the HTTP server reads: artifacts by token, and whether the store answers."""

    async def ping(self) -> bool:
        """Whether the store answers a query now (the health check)."""
        ...

    async def depth(self) -> int:
        """How many generation tasks wait or run."""
        ...

    async def last_cleanup(self) -> CleanupReport | None:
        """The latest clean-up that removed things (issue 12, part D), for staff."""
        ...


class ChatLinkStore(Protocol):
    """Which session a chat address continues, after ``/resume CODE``."""

    async def link(self, address: str, session_key: str) -> None:
        """From now on ``address`` talks to ``session_key``."""
        ...

    async def linked(self, address: str) -> str | None:
        """The session ``address`` continues, if it continued another one."""
        ...

    async def addresses(self, session_key: str, prefix: str) -> list[str]:
        """The addresses starting with ``prefix`` that continue ``session_key``."""
        ...


class ChatStore(SessionStore, ChatLinkStore, Protocol):
    """What a chat channel (Telegram) needs besides its ledger: sessions and chat links."""


class PhotoFolder(Protocol):
    """Where pictures wait for their answers: the clean-up removes those nobody uses."""

    def sweep(self, keep: frozenset[str], before: float, *, dry_run: bool) -> int:
        """Remove (or only count) the pictures, and half-written files, older than ``before``
        (a time) whose ids are not in ``keep``; returns how many."""
        ...


@dataclass(frozen=True, slots=True)
class GeneratedFiles:
    """What a generator wrote into its folder, and what it wants in the manifest."""

    files: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)


# Stage ("writing", "checking") and fraction done, when known: what the user hears meanwhile.
ReportProgress = Callable[[str, float | None], None]


class Generator(Protocol):
    """Turns confirmed answers into files in an empty folder."""

    async def generate(
        self,
        job: Job,
        request: GenerationRequest,
        folder: Path,
        progress: ReportProgress | None = None,
    ) -> GeneratedFiles:
        """Write the artifact's files; raise ``GenerationError`` when it cannot."""
        ...


# -- language model -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What the model wrote, parsed, and what it cost (recorded in the manifest)."""

    data: Any
    text: str
    model: str
    prompt_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """Whether the model server answers, what it has, and whether ours is among it."""

    reachable: bool
    models: tuple[str, ...] = ()
    has_model: bool = False
    detail: str = ""


# The user waits, with nothing else happening, while the model reads a description or writes
# a help answer: bounded well below the generation timeout, then the dialog carries on.
INTERACTIVE_TIMEOUT_S = 15.0


class LanguageModel(Protocol):
    """A chat model that streams; failures raise ``LanguageModelError`` with a code."""

    @property
    def name(self) -> str:
        """The model's name, recorded in each artifact's manifest (read-only: a wrapper such
        as the one-at-a-time guard passes its model's name through)."""
        ...

    async def status(self) -> ModelStatus:
        """Ask the server what it has (for ``assistant check`` and hybrid mode)."""
        ...

    async def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        on_chunk: Callable[[int], None] | None = None,
    ) -> ModelReply:
        """JSON following ``schema``; ``on_chunk`` hears the count of chunks so far."""
        ...

    async def complete_text(self, system: str, user: str) -> ModelReply:
        """Plain text (answers to "how do I ..." questions)."""
        ...

    def recently_unreachable(self) -> bool:
        """Whether the server could not be reached a moment ago: work that only helps the
        model (finding examples) is skipped then, since the call itself will fail fast."""
        ...


# -- knowledge ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnowledgeAnswer:
    """An answer to a "how do I ..." question, and the passage it came from."""

    text: str
    source: str
    title: str
    by_model: bool = False


class KnowledgeAnswerer(Protocol):
    """Answers questions about using the service from the facility's knowledge base."""

    async def answer(self, question: str, language: str) -> KnowledgeAnswer | None:
        """None when nothing in the knowledge base is close enough to the question."""
        ...


# -- speech ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recognition:
    """What a recogniser heard: the text, its confidence (0-1) and per-word confidences."""

    text: str
    confidence: float
    words: tuple[tuple[str, float], ...] = ()
    engine: str = ""


class RecognitionStream(Protocol):
    """One utterance being recognised; blocking calls, run off the event loop."""

    def accept(self, pcm: bytes) -> str | None:
        """Feed audio; returns the partial text when it changed."""
        ...

    def finish(self) -> Recognition:
        """The final result of everything fed."""
        ...


class SpeechToText(Protocol):
    """A recognition engine; ``grammar`` limits it to a closed set of phrases."""

    name: str

    def supports(self, language: str) -> bool:
        """Whether a model for ``language`` is installed."""
        ...

    def start(self, language: str, grammar: Sequence[str] | None = None) -> RecognitionStream:
        """Begin one utterance (blocking: loads or reuses the model)."""
        ...


class TextToSpeech(Protocol):
    """A synthesis engine producing project PCM (16 kHz mono 16-bit)."""

    name: str

    def supports(self, language: str) -> bool:
        """Whether a voice for ``language`` is installed."""
        ...

    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        """One sentence as PCM (blocking); ``rate`` > 1 speaks faster."""
        ...


class VoiceActivityDetector(Protocol):
    """Marks 30 ms frames as speech or not."""

    def is_speech(self, frame: bytes) -> bool:
        """Whether this frame holds speech."""
        ...
