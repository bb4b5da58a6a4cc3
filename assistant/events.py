"""The vocabulary every part speaks: turns in, replies out.

Channels translate their platform into ``Turn`` objects and render ``Reply`` objects back; the
websocket wire format and the tests use the same classes through ``to_wire``/``from_wire``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

LANGUAGES: tuple[str, ...] = ("ja", "en")


class SessionState(StrEnum):
    """Where a session stands; the order follows DESIGN.md section 2."""

    WELCOME = "welcome"
    CHOOSE_JOB = "choose_job"
    DESCRIBE = "describe"
    ASK = "ask"
    CONFIRM = "confirm"
    EDIT = "edit"
    GENERATING = "generating"
    DELIVERED = "delivered"
    ENDED = "ended"


class ReplyKind(StrEnum):
    """What a reply is for, so a channel can choose how to show or say it."""

    WELCOME = "welcome"
    MENU = "menu"
    QUESTION = "question"
    INFO = "info"
    HELP = "help"
    PROBLEM = "problem"
    CONFIRM = "confirm"
    PROGRESS = "progress"
    DELIVERY = "delivery"
    GOODBYE = "goodbye"


@dataclass(frozen=True, slots=True)
class Turn:
    """One thing a user said or did, as a channel hands it to the dialog manager.

    ``text`` is what was typed or recognised; ``audio`` is raw 16 kHz mono PCM for a channel
    that leaves recognition to the core; ``confidence`` is the recogniser's, when speech.
    """

    session_key: str
    text: str | None = None
    audio: bytes | None = None
    language: str | None = None
    channel: str = "console"
    confidence: float | None = None
    data: dict[str, str] = field(default_factory=dict, hash=False)

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready form (audio as base64)."""
        wire: dict[str, Any] = {"session_key": self.session_key, "channel": self.channel}
        if self.text is not None:
            wire["text"] = self.text
        if self.audio is not None:
            wire["audio"] = base64.b64encode(self.audio).decode("ascii")
        if self.language is not None:
            wire["language"] = self.language
        if self.confidence is not None:
            wire["confidence"] = self.confidence
        if self.data:
            wire["data"] = dict(self.data)
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Turn:
        """Inverse of ``to_wire``; raises ``KeyError``/``ValueError`` on a malformed dict."""
        audio = wire.get("audio")
        return cls(
            session_key=str(wire["session_key"]),
            text=wire.get("text"),
            audio=base64.b64decode(audio) if audio else None,
            language=wire.get("language"),
            channel=str(wire.get("channel", "console")),
            confidence=wire.get("confidence"),
            data=dict(wire.get("data") or {}),
        )


@dataclass(frozen=True, slots=True)
class Choice:
    """One option offered to the user; ``number`` is what they can say or press."""

    id: str
    label: str
    number: int


@dataclass(frozen=True, slots=True)
class Progress:
    """How far generation has come; ``fraction`` is None when it cannot be known."""

    stage: str
    fraction: float | None = None


@dataclass(frozen=True, slots=True)
class ArtifactLink:
    """Where a result can be fetched: ``kind`` is download, preview, qr or file."""

    kind: str
    url: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One thing the assistant shows and says.

    ``text`` is for the screen and chat; ``speech`` is the same content phrased for the ear
    (no links, no symbols read aloud).
    """

    kind: ReplyKind
    text: str
    speech: str
    language: str
    state: SessionState
    question_id: str | None = None
    choices: tuple[Choice, ...] = ()
    progress: Progress | None = None
    links: tuple[ArtifactLink, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready form, used by the websocket and stored in the turn history."""
        wire: dict[str, Any] = {
            "kind": self.kind.value,
            "text": self.text,
            "speech": self.speech,
            "language": self.language,
            "state": self.state.value,
        }
        if self.question_id is not None:
            wire["question_id"] = self.question_id
        if self.choices:
            wire["choices"] = [
                {"id": c.id, "label": c.label, "number": c.number} for c in self.choices
            ]
        if self.progress is not None:
            wire["progress"] = {"stage": self.progress.stage, "fraction": self.progress.fraction}
        if self.links:
            wire["links"] = [{"kind": x.kind, "url": x.url, "label": x.label} for x in self.links]
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Reply:
        """Inverse of ``to_wire``."""
        progress = wire.get("progress")
        return cls(
            kind=ReplyKind(wire["kind"]),
            text=wire["text"],
            speech=wire["speech"],
            language=wire["language"],
            state=SessionState(wire["state"]),
            question_id=wire.get("question_id"),
            choices=tuple(Choice(**c) for c in wire.get("choices", ())),
            progress=Progress(**progress) if progress else None,
            links=tuple(ArtifactLink(**x) for x in wire.get("links", ())),
        )
