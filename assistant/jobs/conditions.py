"""Questions asked only when an earlier answer says so (``when: {question: id, is: value}``).

A café page offers optional sections ("Would you like a menu with prices?"); the questions of
a section are asked only after a yes. One rule everywhere: a question whose condition is false
is never asked, never read back, and its value is its default, so the dialog, the read-back,
auto mode and generation all agree on what the page holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.jobs.catalog import Job, Question


@dataclass(frozen=True, slots=True)
class Condition:
    """Ask a question only when question ``question``'s answer is ``value``.

    ``value`` is True/False for a yes/no question, a choice id for a choice question."""

    question: str
    value: bool | str

    def holds(self, answer: Any) -> bool:
        """Whether an answer meets the condition (a missing answer never does)."""
        if isinstance(self.value, bool):
            return answer is self.value
        return isinstance(answer, str) and answer == self.value


def answer_of(question: Question, answers: Mapping[str, Any]) -> Any:
    """The question's answer, or its default when it has none yet."""
    return answers.get(question.id, question.default)


def is_shown(job: Job, question: Question, answers: Mapping[str, Any]) -> bool:
    """Whether the question is asked: its condition holds, and the question it depends on is
    itself shown (a section inside a hidden section stays hidden)."""
    seen: set[str] = set()
    current: Question | None = question
    while current is not None and current.when is not None:
        if current.id in seen:  # the loader forbids cycles; never loop on a bad object
            return False
        seen.add(current.id)
        source = job.question(current.when.question)
        if source is None or not current.when.holds(answer_of(source, answers)):
            return False
        current = source
    return True


def visible_questions(job: Job, answers: Mapping[str, Any]) -> tuple[Question, ...]:
    """The questions asked and read back for these answers, in the job's order."""
    return tuple(q for q in job.questions if is_shown(job, q, answers))


def drop_hidden(job: Job, answers: dict[str, Any]) -> list[str]:
    """Forget the answers of questions that a changed answer hid (their default is used);
    returns their ids."""
    hidden = [q.id for q in job.questions if q.id in answers and not is_shown(job, q, answers)]
    for question_id in hidden:
        del answers[question_id]
    return hidden


def with_defaults(job: Job, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Every question's value for generation: visible answers kept, hidden ones (and
    skipped ones) carrying their default."""
    kept = dict(answers)
    drop_hidden(job, kept)
    return {q.id: kept.get(q.id, q.default) for q in job.questions}


def read_condition(raw: Any, path: str, fail: Any) -> Condition | None:
    """``when: {question: <id>, is: <yes|no|choice id>}`` as written in YAML (checked against
    the other questions later, by ``check_conditions``). ``fail(path, reason)`` makes the
    loader's error."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != {"question", "is"}:
        raise fail(path, "must be a mapping with question and is, like {question: menu, is: yes}")
    source, value = raw["question"], raw["is"]
    if not isinstance(source, str) or not source:
        raise fail(f"{path}.question", "must be the id of an earlier question")
    # YAML 1.1 reads a bare yes/no as true/false; "yes"/"no" in quotes mean the same.
    if isinstance(value, str) and value.lower() in ("yes", "no", "true", "false"):
        value = value.lower() in ("yes", "true")
    if not isinstance(value, bool | str) or value == "":
        raise fail(f"{path}.is", "must be yes, no or a choice id")
    return Condition(question=source, value=value)


def check_conditions(questions: tuple[Question, ...], fail: Any) -> None:
    """Every condition names an earlier yes/no or choice question and one of its values."""
    earlier: dict[str, Question] = {}
    for question in questions:
        condition = question.when
        path = f"questions[{question.id}].when"
        if condition is not None:
            source = earlier.get(condition.question)
            if source is None:
                later = any(q.id == condition.question for q in questions)
                reason = (
                    f"{condition.question!r} is asked later (or is this question); a condition "
                    "can only depend on an earlier question"
                    if later
                    else f"{condition.question!r} is not a question of this job"
                )
                raise fail(f"{path}.question", reason)
            if source.type == "yesno":
                if not isinstance(condition.value, bool):
                    raise fail(f"{path}.is", f"{source.id!r} is a yes/no question: use yes or no")
            elif source.type == "choice":
                if not isinstance(condition.value, str) or source.choice(condition.value) is None:
                    ids = ", ".join(c.id for c in source.choices)
                    raise fail(
                        f"{path}.is", f"{condition.value!r} is not a choice of {source.id!r}: {ids}"
                    )
            else:
                raise fail(
                    f"{path}.question",
                    f"{source.id!r} is a {source.type} question; conditions use yes/no or choice",
                )
        earlier[question.id] = question
