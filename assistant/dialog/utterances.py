"""What the dialog decided to say, as data: the flow returns these, ``ReplyWriter`` renders them.

The state machine names each thing to say with its arguments (a phrase key, the question to
ask, the value heard) and never builds text; the writer turns the whole list into replies
once, at the end of the turn, in the session's language and final state. So the flow reads as
decisions, the writer as wording, and a turn passes each of them once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.events import ReplyKind
from assistant.jobs.catalog import Job, LocalizedText, Question
from assistant.ports import KnowledgeAnswer
from assistant.session import Artifact


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase of the locale files with its parameters (kept, cancelled, a problem...)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    kind: ReplyKind = ReplyKind.INFO


@dataclass(frozen=True, slots=True)
class Stopped:
    """The user said "stop": shown, never spoken, and flagged so speech stops at once."""


@dataclass(frozen=True, slots=True)
class Menu:
    """The list of things that can be made."""

    jobs: tuple[Job, ...]


@dataclass(frozen=True, slots=True)
class AskQuestion:
    """One question of a job, with its number, hints and choices."""

    job: Job
    question: Question


@dataclass(frozen=True, slots=True)
class ReadBackJob:
    """ "I heard “Quiz program”. Is that right?": a job chosen unsurely, held for a yes;
    "Did you mean “Quiz game”?" when it was ``guessed`` from the person's own words."""

    job: Job
    guessed: bool = False


@dataclass(frozen=True, slots=True)
class ReadBackAnswer:
    """An answer heard unsurely, read back before it is kept."""

    question: Question
    value: object


@dataclass(frozen=True, slots=True)
class AskYesNo:
    """A yes-or-no question of the dialog's own ("are you sure?"), with yes and no to press."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Kept:
    """An answer taken, said back as a person would say it."""

    question: Question
    value: object


@dataclass(frozen=True, slots=True)
class AboutAnswer:
    """A phrase about one answer, with ``{name}`` and ``{value}`` filled as a person says
    them: after delivery, an answer an edit changed (``edit_answer``), or the one it asks for
    again, as it is now (``edit_ask``)."""

    key: str
    question: Question
    value: object


@dataclass(frozen=True, slots=True)
class DescribePrompt:
    """Auto mode's one question: describe everything at once."""

    job: Job


@dataclass(frozen=True, slots=True)
class Described:
    """What the model picked out of a description (the ids of the questions it filled)."""

    job: Job
    question_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConfirmAnswers:
    """Every answer read back, then whether to make it."""

    job: Job


@dataclass(frozen=True, slots=True)
class Generating:
    """Generation has started (``generating``) or is still running (``still_generating``)."""

    job: Job
    key: str = "generating"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The finished artifact and its links."""

    job: Job
    artifact: Artifact


@dataclass(frozen=True, slots=True)
class DeliveredNext:
    """What can be done after delivery: change, another, finish."""


@dataclass(frozen=True, slots=True)
class Help:
    """Help for where the user is: the question's own help text, or a phrase for the state."""

    question_help: LocalizedText | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class KnowledgeFound:
    """An answer from the knowledge base, and where it came from."""

    found: KnowledgeAnswer


Utterance = (
    Phrase | Stopped | Menu | AskQuestion | ReadBackJob | ReadBackAnswer | AskYesNo | Kept
    | AboutAnswer | DescribePrompt | Described | ConfirmAnswers | Generating | Delivery | DeliveredNext | Help | KnowledgeFound
)  # fmt: skip


def info(key: str, **params: Any) -> Phrase:
    """A short statement (kept, skipped, switched...)."""
    return Phrase(key, params)


def problem(key: str, **params: Any) -> Phrase:
    """A plain explanation of why something was not taken."""
    return Phrase(key, params, ReplyKind.PROBLEM)
