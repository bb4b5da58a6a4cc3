"""The ``photo`` question (issue 15, part U): a picture, then what is in it.

A channel stores the picture (``assistant/photos.py``) and hands the dialog only its id, or
the code of why it was refused; the dialog holds the id and asks for the alt text, spoken or
typed, so every photo on a page has words for those who cannot see it. The stored answer is
``{"id": ..., "alt": ...}``, or None when the question is skipped. Kept apart from
``answering`` so a question type that is not words stays out of the words' path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.dialog import utterances as said
from assistant.dialog.answering import keep
from assistant.events import Turn
from assistant.jobs.catalog import Question
from assistant.safe_text import clean
from assistant.session import PendingPhoto, Session
from assistant.understanding.phrases import bare_yes_no

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow, Step

# Why a channel may refuse a picture (``PhotoError.code``); each has a sentence in the locales.
REFUSALS = ("too_big", "not_a_picture", "too_many_pixels", "damaged")
MAX_ALT_LENGTH = 200
ALT_PROMPT = said.info("photo_alt_ask")


def is_photo_turn(turn: Turn) -> bool:
    """Whether the turn brings a picture (or the news that one was refused)."""
    return turn.photo is not None or turn.photo_problem is not None


def received(flow: DialogFlow, session: Session, turn: Turn, step: Step) -> None:
    """A picture arrived: held for its alt text, or its refusal said with the question again."""
    session.paused = False
    question = flow.current_question(session)
    if question is None or question.type != "photo":
        step.said = [said.problem("problem.photo_not_now"), flow.prompt(session)]
        return
    if turn.photo_problem is not None or not turn.photo:
        code = turn.photo_problem if turn.photo_problem in REFUSALS else "damaged"
        step.said = [said.problem(f"problem.photo_{code}"), flow.prompt(session)]
        return
    session.pending = PendingPhoto(question.id, turn.photo)
    step.said = [said.info("photo_received"), ALT_PROMPT]


def waiting_for_alt(session: Session, question: Question | None) -> PendingPhoto | None:
    """The photo held for ``question``'s alt text, if any."""
    pending = session.pending
    if not isinstance(pending, PendingPhoto) or question is None:
        return None
    return pending if pending.question_id == question.id else None


def answer(flow: DialogFlow, session: Session, question: Question, text: str, step: Step) -> None:
    """Words at a photo question: the alt text of the photo held, or (with no photo yet) a
    yes/no to an optional one, or a reminder to send a picture."""
    pending = waiting_for_alt(session, question)
    if pending is not None:
        alt = " ".join(clean(text).split())
        if not alt:
            step.said = [said.problem("problem.empty"), ALT_PROMPT]
            return
        if len(alt) > MAX_ALT_LENGTH:
            step.said = [said.problem("problem.too_long", max=MAX_ALT_LENGTH), ALT_PROMPT]
            return
        session.pending = None
        keep(flow, session, question, {"id": pending.photo_id, "alt": alt}, step)
        return
    verdict = bare_yes_no(text)
    if verdict is False and not question.required:  # "Do you have a logo?" "No."
        session.answers[question.id] = question.default
        step.said = [said.info("skipped"), flow.advance(session)]
        return
    key = "photo_send_now" if verdict else "problem.photo_expected"
    step.said = [said.problem(key), flow.prompt(session)]
