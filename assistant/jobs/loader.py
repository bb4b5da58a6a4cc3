"""Loading ``dialogs/jobs/*.yaml`` into the dataclasses of ``catalog`` and validating them.

Staff edit these files by hand, so every problem is reported as one line naming the file, the
field and the reason, and one broken file never stops the other jobs from loading.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import JobDefinitionError
from assistant.jobs.catalog import (
    ENRICHMENTS,
    GENERATOR_LANGUAGES,
    LANGUAGES,
    MODES,
    QUESTION_TYPES,
    Job,
    JobCatalog,
    JobChoice,
    JobExamples,
    LocalizedText,
    Question,
)
from assistant.jobs.conditions import check_conditions, read_condition

_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_JOB_FIELDS = {
    "id",
    "title",
    "description",
    "generator",
    "language",
    "template",
    "mode",
    "enrich",
    "questions",
    "examples",
    "order",
}
_QUESTION_FIELDS = {
    "id",
    "type",
    "prompt",
    "name",
    "help",
    "required",
    "default",
    "min_length",
    "max_length",
    "min",
    "max",
    "pattern",
    "choices",
    "min_items",
    "max_items",
    "when",
    "edit_words",
}
_CHOICE_FIELDS = {"id", "label", "readings"}
# Optional page sections (issue 15) add questions asked only after a yes (``when:``).
MAX_QUESTIONS = 32
MAX_EXAMPLES = 50  # per language: ways people name a job at the menu (issue 14)
MAX_EXAMPLE_LENGTH = 100


class _Reader:
    """Reads fields of one file and raises a ``JobDefinitionError`` naming the field."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, field_path: str, reason: str) -> JobDefinitionError:
        return JobDefinitionError(self.file, field_path, reason)

    def mapping(self, value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path or "(top)", f"must be a mapping, not {_kind(value)}")
        for key in value:
            if key not in allowed:
                raise self.fail(
                    f"{path}.{key}" if path else str(key),
                    f"unknown field; allowed: {', '.join(sorted(allowed))}",
                )
        return value

    def identifier(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            raise self.fail(path, "must be lower-case letters, digits and _ starting with a letter")
        return value

    def text(self, value: Any, path: str) -> LocalizedText:
        if not isinstance(value, Mapping):
            raise self.fail(path, "must have a text for each language: ja and en")
        for language in LANGUAGES:
            item = value.get(language)
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{path}.{language}", "missing translation")
        extra = set(value) - set(LANGUAGES)
        if extra:
            raise self.fail(f"{path}.{sorted(extra)[0]}", "unknown language; use ja and en")
        return LocalizedText(ja=value["ja"].strip(), en=value["en"].strip())

    def one_of(self, value: Any, path: str, allowed: Iterable[str]) -> str:
        allowed = tuple(allowed)
        if value not in allowed:
            raise self.fail(path, f"{value!r} is not one of: {', '.join(allowed)}")
        return value

    def integer(self, value: Any, path: str, *, minimum: int = 0) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(path, f"must be a whole number of at least {minimum}")
        return value

    def number(self, value: Any, path: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, "must be a number")
        return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _read_choice(reader: _Reader, raw: Any, path: str) -> JobChoice:
    data = reader.mapping(raw, path, _CHOICE_FIELDS)
    readings = data.get("readings") or []
    if not isinstance(readings, list) or not all(
        isinstance(r, str) and r.strip() for r in readings
    ):
        raise reader.fail(f"{path}.readings", "must be a list of words")
    return JobChoice(
        id=reader.identifier(data.get("id"), f"{path}.id"),
        label=reader.text(data.get("label"), f"{path}.label"),
        readings=tuple(r.strip() for r in readings),
    )


def _read_examples(reader: _Reader, raw: Any, field: str = "examples") -> JobExamples:
    """``examples: {ja: [...], en: [...]}``; either language may be left out. A question's
    ``edit_words`` (its other names, for edits after delivery) have the same form."""
    if raw is None:
        return JobExamples()
    if not isinstance(raw, Mapping):
        raise reader.fail(field, "must be a mapping with a list for ja and/or en")
    extra = set(raw) - set(LANGUAGES)
    if extra:
        raise reader.fail(f"{field}.{sorted(extra)[0]}", "unknown language; use ja and en")
    lists: dict[str, tuple[str, ...]] = {}
    for language in LANGUAGES:
        items = raw.get(language) or []
        path = f"{field}.{language}"
        if not isinstance(items, list):
            raise reader.fail(path, "must be a list of phrases, like [about me, my profile]")
        if len(items) > MAX_EXAMPLES:
            raise reader.fail(path, f"at most {MAX_EXAMPLES} examples")
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise reader.fail(f"{path}[{i}]", "must be a phrase (text), not empty")
            if len(item) > MAX_EXAMPLE_LENGTH:
                raise reader.fail(f"{path}[{i}]", f"at most {MAX_EXAMPLE_LENGTH} characters")
        lists[language] = tuple(dict.fromkeys(item.strip() for item in items))
    return JobExamples(ja=lists["ja"], en=lists["en"])


def _read_question(reader: _Reader, raw: Any, path: str) -> Question:
    data = reader.mapping(raw, path, _QUESTION_FIELDS)
    qid = reader.identifier(data.get("id"), f"{path}.id")
    path = f"questions[{qid}]"
    qtype = reader.one_of(data.get("type"), f"{path}.type", QUESTION_TYPES)
    required = data.get("required", True)
    if not isinstance(required, bool):
        raise reader.fail(f"{path}.required", "must be true or false")
    choices: tuple[JobChoice, ...] = ()
    if qtype == "choice":
        raw_choices = data.get("choices")
        if not isinstance(raw_choices, list) or len(raw_choices) < 2:
            raise reader.fail(f"{path}.choices", "a choice question needs at least two choices")
        choices = tuple(
            _read_choice(reader, c, f"{path}.choices[{i}]") for i, c in enumerate(raw_choices)
        )
        seen: set[str] = set()
        for choice in choices:
            if choice.id in seen:
                raise reader.fail(f"{path}.choices", f"duplicate choice id {choice.id!r}")
            seen.add(choice.id)
    elif "choices" in data:
        raise reader.fail(f"{path}.choices", f"only choice questions have choices, not {qtype}")
    pattern = data.get("pattern")
    if pattern is not None:
        if qtype != "text" or not isinstance(pattern, str):
            raise reader.fail(f"{path}.pattern", "a pattern is a string, for text questions")
        try:
            re.compile(pattern)
        except re.error as err:
            raise reader.fail(f"{path}.pattern", f"not a valid regular expression: {err}") from err
    question = Question(
        id=qid,
        type=qtype,
        prompt=reader.text(data.get("prompt"), f"{path}.prompt"),
        help=reader.text(data["help"], f"{path}.help") if data.get("help") else None,
        name=reader.text(data["name"], f"{path}.name") if data.get("name") else None,
        required=required,
        default=data.get("default"),
        min_length=reader.integer(data.get("min_length"), f"{path}.min_length"),
        max_length=reader.integer(data.get("max_length"), f"{path}.max_length", minimum=1),
        min=reader.number(data.get("min"), f"{path}.min"),
        max=reader.number(data.get("max"), f"{path}.max"),
        pattern=pattern,
        choices=choices,
        min_items=reader.integer(data.get("min_items"), f"{path}.min_items"),
        max_items=reader.integer(data.get("max_items"), f"{path}.max_items", minimum=1),
        when=read_condition(data.get("when"), f"{path}.when", reader.fail),
        edit_words=_read_examples(reader, data.get("edit_words"), f"{path}.edit_words"),
    )
    _check_limits(reader, question, path)
    return question


def _check_limits(reader: _Reader, q: Question, path: str) -> None:
    pairs = (("min_length", "max_length"), ("min", "max"), ("min_items", "max_items"))
    for low, high in pairs:
        a, b = getattr(q, low), getattr(q, high)
        if a is not None and b is not None and a > b:
            raise reader.fail(f"{path}.{low}", f"is larger than {high}")
    if (q.min is not None or q.max is not None) and q.type != "number":
        raise reader.fail(f"{path}.min", "min and max are for number questions")
    if (q.min_items is not None or q.max_items is not None) and q.type != "list":
        raise reader.fail(f"{path}.min_items", "min_items and max_items are for list questions")
    if q.default is not None:
        _check_default(reader, q, f"{path}.default")


def _check_default(reader: _Reader, q: Question, path: str) -> None:
    value = q.default
    if q.type == "photo":  # issue 15, part U: a picture is the user's, never a default
        raise reader.fail(path, "a photo question has no default (skipped, it is null)")
    if q.type == "choice" and q.choice(str(value)) is None:
        raise reader.fail(path, f"{value!r} is not one of the choice ids")
    if q.type == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise reader.fail(path, "must be a number")
    if q.type == "yesno" and not isinstance(value, bool):
        raise reader.fail(path, "must be true or false")
    if q.type == "list" and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise reader.fail(path, "must be a list of texts")
    if q.type in ("text", "color", "date", "time") and not isinstance(value, str):
        raise reader.fail(path, "must be a text")
    if q.type == "color" and not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise reader.fail(path, "must be a colour like #1a2b3c")


def parse_job(raw: Any, file: str) -> Job:
    """Validate one job's parsed YAML; raises ``JobDefinitionError`` on the first problem."""
    reader = _Reader(file)
    data = reader.mapping(raw, "", _JOB_FIELDS)
    for required in ("id", "title", "description", "generator", "language", "template"):
        if required not in data:
            raise reader.fail(required, "missing")
    generator = reader.one_of(data["generator"], "generator", GENERATOR_LANGUAGES)
    language = reader.one_of(data["language"], "language", GENERATOR_LANGUAGES[generator])
    template = data["template"]
    if not isinstance(template, str) or not template.strip() or ".." in template:
        raise reader.fail("template", "must be a path under generators/templates")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise reader.fail("questions", "a job needs at least one question")
    if len(raw_questions) > MAX_QUESTIONS:
        raise reader.fail("questions", f"at most {MAX_QUESTIONS} questions")
    questions = tuple(
        _read_question(reader, q, f"questions[{i}]") for i, q in enumerate(raw_questions)
    )
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise reader.fail("questions", f"duplicate question id {question.id!r}")
        seen.add(question.id)
    check_conditions(questions, reader.fail)
    return Job(
        id=reader.identifier(data["id"], "id"),
        title=reader.text(data["title"], "title"),
        description=reader.text(data["description"], "description"),
        generator=generator,
        language=language,
        template=template.strip(),
        mode=reader.one_of(data.get("mode", "dialog"), "mode", MODES),
        questions=questions,
        source=file,
        enrich=reader.one_of(data.get("enrich", "none"), "enrich", ENRICHMENTS),
        examples=_read_examples(reader, data.get("examples")),
        order=reader.integer(data.get("order"), "order", minimum=1),
    )


def job_digest(text: str) -> str:
    """The sha256 of a job file's text, its line ends made alike: the same text read from the
    file, saved from the console or kept as a version gives the same digest."""
    same_ends = text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(same_ends.encode("utf-8")).hexdigest()


def parse_job_text(text: str, file: str) -> Job:
    """Validate one job file's text (a file, or a version kept in the store), with its digest."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        reason = getattr(err, "problem", None) or str(err)
        raise JobDefinitionError(file, where, f"not valid YAML: {reason}") from err
    return replace(parse_job(raw, file), digest=job_digest(text))


def load_job_file(path: Path) -> Job:
    """Read and validate one job file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise JobDefinitionError(str(path), "(file)", f"cannot be read: {err}") from err
    return parse_job_text(text, str(path))


def load_jobs(directory: Path) -> JobCatalog:
    """Load every ``*.yaml``/``*.yml`` in ``directory``; broken files are listed, not fatal."""
    catalog = JobCatalog()
    if not directory.is_dir():
        catalog.errors.append(JobDefinitionError(str(directory), "(folder)", "does not exist"))
        return catalog
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in files:
        try:
            job = load_job_file(path)
        except JobDefinitionError as err:
            catalog.errors.append(err)
            continue
        if job.id in catalog.jobs:
            other = catalog.jobs[job.id].source
            catalog.errors.append(
                JobDefinitionError(
                    str(path), "id", f"duplicate job id {job.id!r} (also in {other})"
                )
            )
            continue
        catalog.jobs[job.id] = job
    return catalog
