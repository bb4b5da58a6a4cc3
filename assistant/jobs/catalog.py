"""Jobs as data: the frozen dataclasses a job file becomes, and what a job may be.

Loading and validating ``dialogs/jobs/*.yaml`` is ``assistant/jobs/loader.py``: the rest of
the assistant reads jobs far more often than it loads them, and reads them here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.errors import JobDefinitionError
from assistant.jobs.conditions import Condition

LANGUAGES = ("ja", "en")
QUESTION_TYPES = ("text", "choice", "number", "yesno", "color", "list", "date", "time", "photo")
GENERATOR_LANGUAGES: Mapping[str, tuple[str, ...]] = {
    "page": ("html",),
    "program": ("python", "javascript"),
}
MODES = ("dialog", "auto", "hybrid")
# What the language model may add to a job's template (generators/prompts/<name>.v*.md).
ENRICHMENTS = ("none", "page_text", "quiz_items", "program_functions")


@dataclass(frozen=True, slots=True)
class LocalizedText:
    """A user-facing text in every supported language."""

    ja: str
    en: str

    def get(self, language: str) -> str:
        """The text in ``language``, English when the language is unknown."""
        return self.ja if language == "ja" else self.en


@dataclass(frozen=True, slots=True)
class JobExamples:
    """Ways people name a job in their own words, per language: staff add phrasings here, and
    the menu understands them (and phrasings like them) with no code."""

    ja: tuple[str, ...] = ()
    en: tuple[str, ...] = ()

    def get(self, language: str) -> tuple[str, ...]:
        """The examples in ``language``, English when the language is unknown."""
        return self.ja if language == "ja" else self.en

    def all(self) -> tuple[str, ...]:
        """Every example, Japanese first."""
        return (*self.ja, *self.en)


@dataclass(frozen=True, slots=True)
class JobChoice:
    """One option of a choice question; ``readings`` are extra ways to say it."""

    id: str
    label: LocalizedText
    readings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a job, with the limits its answer must respect."""

    id: str
    type: str
    prompt: LocalizedText
    help: LocalizedText | None = None
    # What the answer is, for buttons such as "Change the shop name" (read-back screens).
    name: LocalizedText | None = None
    required: bool = True
    default: Any = None
    min_length: int | None = None
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    choices: tuple[JobChoice, ...] = ()
    min_items: int | None = None
    max_items: int | None = None
    # Asked only when an earlier answer has this value (assistant/jobs/conditions.py).
    when: Condition | None = None
    # Other names for the question in edits after delivery (「メニュー」 for what a shop
    # sells): assistant/understanding/edits.py.
    edit_words: JobExamples = field(default_factory=JobExamples)

    def choice(self, choice_id: str) -> JobChoice | None:
        """The choice with this id, if the question has it."""
        return next((c for c in self.choices if c.id == choice_id), None)


@dataclass(frozen=True, slots=True)
class Job:
    """Something a user can ask to be made, and the questions that shape it."""

    id: str
    title: LocalizedText
    description: LocalizedText
    generator: str
    language: str
    template: str
    mode: str
    questions: tuple[Question, ...]
    source: str = ""
    enrich: str = "none"
    examples: JobExamples = field(default_factory=JobExamples)
    # Its place in the menu (1 first); jobs without one follow, in file-name order. Staff
    # add a job anywhere without renaming files, and the numbers people know stay.
    order: int | None = None
    # The sha256 of the file's text it was read from: a session keeps it, so after a restart
    # the version it started can be found again among the saved versions (job_versions).
    # Not part of equality: a new comment is not a new job.
    digest: str = field(default="", compare=False, repr=False)

    def question(self, question_id: str) -> Question | None:
        """The question with this id, if the job has it."""
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(slots=True)
class JobCatalog:
    """The jobs that loaded, in file order, and the problems of those that did not."""

    jobs: dict[str, Job] = field(default_factory=dict)
    errors: list[JobDefinitionError] = field(default_factory=list)
    # Jobs changed under sessions in progress (issue 16, jobs screen): session key → the job
    # as it was when that session started it, so the session finishes with that version.
    # Filled by ``replace`` on a reload, and at start from the version each session's row
    # names (``compose_jobs.hold_started_versions``).
    held: dict[str, Job] = field(default_factory=dict)

    def ordered(self) -> list[Job]:
        """Jobs in the order they are offered to users: by ``order``, then as loaded."""
        loaded = list(self.jobs.values())
        return sorted(loaded, key=lambda job: job.order if job.order is not None else 1_000_000)

    # -- live reload (issue 16, the staff console's jobs screen) ------------------------------

    def for_session(self, session_key: str, job_id: str) -> Job:
        """The job as the session started it: the held version when the job changed since."""
        held = self.held.get(session_key)
        if held is not None and held.id == job_id:
            return held
        return self.jobs[job_id]

    def find_for_session(self, session_key: str, job_id: str | None) -> Job | None:
        """``for_session``, or None when there is no such job."""
        if job_id is None:
            return None
        held = self.held.get(session_key)
        if held is not None and held.id == job_id:
            return held
        return self.jobs.get(job_id)

    def hold(self, session_key: str, job: Job) -> None:
        """The session goes on with ``job``, the version it started (found again at start)."""
        self.held[session_key] = job

    def release(self, session_key: str) -> None:
        """The session starts afresh: from now on it takes jobs as they are."""
        self.held.pop(session_key, None)

    def replace(self, other: JobCatalog, in_progress: Mapping[str, Collection[str]]) -> None:
        """Take ``other``'s jobs and errors in place, so every holder of this catalog (the
        manager, its flow, the generation queue) sees them at once; ``in_progress`` (job id →
        session keys in it) keeps each such session on the job it started with."""
        for job_id, keys in in_progress.items():
            # Sessions no longer in the job need no held version of it any more.
            for key in [k for k, job in self.held.items() if job.id == job_id and k not in keys]:
                del self.held[key]
            before = self.jobs.get(job_id)
            if before is None or other.jobs.get(job_id) == before:
                continue
            for key in keys:
                self.held.setdefault(key, before)
        self.jobs = dict(other.jobs)
        self.errors = list(other.errors)
