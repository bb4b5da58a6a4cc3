"""The vocabulary every part speaks: turns in, replies out.

Channels translate their platform into ``Turn`` objects and render ``Reply`` objects back; the
websocket wire format and the turn history use replies through ``to_wire``/``from_wire``.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class CommandName(StrEnum):
    """What a user can ask of the dialog itself, by words or by a button."""

    HELP = "help"
    REPEAT = "repeat"
    BACK = "back"
    START_OVER = "start_over"
    CANCEL = "cancel"
    SKIP = "skip"
    SWITCH_LANGUAGE = "switch_language"
    PAUSE = "pause"
    RESUME = "resume"
    SLOWER = "slower"
    FASTER = "faster"
    LOUDER = "louder"
    QUIETER = "quieter"
    WAIT_LONGER = "wait_longer"
    WAIT_SHORTER = "wait_shorter"
    STOP = "stop"
    ONE_BY_ONE = "one_by_one"
    DESCRIBE = "describe"


@dataclass(frozen=True, slots=True)
class Command:
    """A command; ``argument`` is "ja"/"en" when a language switch named its language, and
    "menu" when a cancel asked for the list of jobs."""

    name: CommandName
    argument: str | None = None


class TurnEvent(StrEnum):
    """Something a channel noticed rather than heard: the user has been silent a while."""

    SILENCE = "silence"
    LONG_SILENCE = "long_silence"


@dataclass(frozen=True, slots=True)
class Turn:
    """One thing a user said or did, as a channel hands it to the dialog manager.

    ``text`` is what was typed or recognised; ``confidence`` is the recogniser's, when speech;
    ``command`` is a command pressed as a button (no words to misread, the same in every
    language); ``event`` is silence noticed by a voice channel.
    """

    session_key: str
    text: str | None = None
    language: str | None = None
    channel: str = "console"
    confidence: float | None = None
    command: Command | None = None
    event: TurnEvent | None = None
    photo: str | None = None
    photo_problem: str | None = None


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
class Expects:
    """What the question waiting wants, so a screen can offer the control that fits: Skip only
    when it is optional, a number pad and buttons for a small range, colour swatches."""

    type: str
    optional: bool = False
    low: float | None = None
    high: float | None = None
    swatches: tuple[tuple[str, str], ...] = ()  # (name said, "#rrggbb") for colour questions

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready form."""
        wire: dict[str, Any] = {"type": self.type, "optional": self.optional}
        if self.low is not None:
            wire["low"] = self.low
        if self.high is not None:
            wire["high"] = self.high
        if self.swatches:
            wire["swatches"] = [{"label": name, "color": hex_} for name, hex_ in self.swatches]
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Expects:
        """Inverse of ``to_wire``."""
        return cls(
            type=wire["type"],
            optional=bool(wire.get("optional", False)),
            low=wire.get("low"),
            high=wire.get("high"),
            swatches=tuple((s["label"], s["color"]) for s in wire.get("swatches", ())),
        )


@dataclass(frozen=True, slots=True)
class Reply:
    """One thing the assistant shows and says.

    ``text`` is for the screen and chat; ``speech`` is the same content phrased for the ear
    (no links, no symbols read aloud). ``stop`` asks a speaking channel to fall silent at
    once (the user said "stop"), so no channel has to recognise it by its wording.
    ``previous`` is a question's earlier answer as a person would type it (back, change), so
    a screen can show it and put it in the answer box instead of making them retype it.
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
    stop: bool = False
    previous: str | None = None
    expects: Expects | None = None

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
        if self.stop:
            wire["stop"] = True
        if self.previous is not None:
            wire["previous"] = self.previous
        if self.expects is not None:
            wire["expects"] = self.expects.to_wire()
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
            stop=bool(wire.get("stop", False)),
            previous=wire.get("previous"),
            expects=Expects.from_wire(wire["expects"]) if wire.get("expects") else None,
        )
