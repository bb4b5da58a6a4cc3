"""Answers given as a file (``assistant generate --answers``), checked like spoken ones.

Staff write typed values (``"seats": 12``) or what a user would say (``"event_date":
"December 24"``); either way each answer passes the same validation as in a dialog, so a
template is never tried with answers no user could give.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from assistant.errors import InputError
from assistant.jobs.catalog import Job, Question
from assistant.understanding.interpret import Answer, interpret


def _as_utterance(question: Question, value: Any) -> str | None:
    if isinstance(value, bool) and question.type == "yesno":
        return "yes" if value else "no"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and question.type == "list":
        if all(isinstance(item, str) for item in value):
            return ", ".join(value)
        return None
    return value if isinstance(value, str) else None


def _photo_answer(value: Any) -> dict[str, str] | None:
    """``{"id": ..., "alt": ...}`` as given for a photo question, or None when not that."""
    if not isinstance(value, dict) or set(value) != {"id", "alt"}:
        return None
    photo_id, alt = value["id"], value["alt"]
    if not isinstance(photo_id, str) or not isinstance(alt, str) or not alt.strip():
        return None
    return {"id": photo_id, "alt": " ".join(alt.split())[:200]}


def check_answers(raw: Any, job: Job, language: str, today: datetime.date) -> dict[str, Any]:
    """Every answer validated and converted; raises ``InputError`` naming the first problem."""
    if not isinstance(raw, dict):
        raise InputError("the answers must be a JSON object: question id → answer")
    unknown = sorted(set(raw) - {q.id for q in job.questions})
    if unknown:
        known = ", ".join(q.id for q in job.questions)
        raise InputError(f"{unknown[0]}: not a question of {job.id}; its questions: {known}")
    answers: dict[str, Any] = {}
    for question in job.questions:
        if question.id not in raw or raw[question.id] is None:
            if question.required:
                raise InputError(f"{question.id}: missing, and the question is required")
            answers[question.id] = question.default
            continue
        if question.type == "choice" and question.choice(str(raw[question.id])):
            answers[question.id] = str(raw[question.id])
            continue
        photo = _photo_answer(raw[question.id]) if question.type == "photo" else None
        if photo is not None:  # issue 15: a stored photo's id (looked up, safely, at generation)
            answers[question.id] = photo
            continue
        utterance = _as_utterance(question, raw[question.id])
        result = interpret(question, utterance or "", today, language)
        if utterance is None or not isinstance(result, Answer):
            code = getattr(result, "code", "wrong type")
            raise InputError(f"{question.id}: {raw[question.id]!r} is not accepted ({code})")
        answers[question.id] = result.value
    return answers


def read_answers(path: Path, job: Job, language: str) -> dict[str, Any]:
    """Load and check an answers file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"{path}: cannot be read: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON: {err}") from err
    try:
        return check_answers(raw, job, language, datetime.date.today())
    except InputError as err:
        raise InputError(f"{path}: {err.message}") from err


def accept_given(
    raw: dict[str, Any], job: Job, language: str, today: datetime.date
) -> dict[str, Any]:
    """The answers in ``raw`` that pass the same validation as spoken ones; others are dropped.

    Used for answers a language model picked out of a description: each value is checked on
    its own, so one wrong guess costs one question, not the whole description.
    """
    kept: dict[str, Any] = {}
    for question in job.questions:
        value = raw.get(question.id)
        if value is None or value == "" or value == []:
            continue
        if question.type == "choice" and question.choice(str(value)):
            kept[question.id] = str(value)
            continue
        utterance = _as_utterance(question, value)
        if utterance is None:
            continue
        result = interpret(question, utterance, today, language)
        if isinstance(result, Answer):
            kept[question.id] = result.value
    return kept
