"""Answering a question: what was heard, read back when unsure, kept, and on to the next.

The states that ask (``ask`` and ``edit``) share this: a pending read-back is settled by a yes
or no first, then the words are interpreted by the question's type, and a problem is said with
the question again. Kept apart from the flow, which decides which state handles a turn.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from assistant.dialog import utterances as said
from assistant.jobs.catalog import Question
from assistant.session import PendingAnswer, Session
from assistant.understanding.interpret import (
    Problem,
    interpret,
    normalize,
    parse_ordinal,
    parse_yes_no,
)

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow, Step


def names_a_choice(flow: DialogFlow, session: Session, text: str) -> bool:
    """Whether the words are one of the current question's choices (then never a command)."""
    question = flow.current_question(session)
    if question is None or question.type != "choice":
        return False
    heard = normalize(text)
    return any(
        heard == normalize(name)
        for choice in question.choices
        for name in (choice.label.ja, choice.label.en, *choice.readings)
    )


def answer(flow: DialogFlow, session: Session, text: str, today: datetime.date, step: Step) -> None:
    """An answer to the current question: kept, read back, or explained and asked again."""
    question = flow.current_question(session)
    assert question is not None
    pending = session.pending
    if isinstance(pending, PendingAnswer) and pending.question_id == question.id:
        session.pending = None
        verdict = parse_yes_no(text)
        if verdict:
            keep(flow, session, question, pending.value, step)
            return
        if verdict is False:
            step.said = [said.info("readback_again"), flow.prompt(session)]
            return
    result = interpret(question, text, today, session.language)
    if isinstance(result, Problem) and question.type == "yesno":
        ordinal = parse_ordinal(text)
        if ordinal in (1, 2):  # the numbered yes/no buttons
            result = interpret(question, "yes" if ordinal == 1 else "no", today, session.language)
    if isinstance(result, Problem):
        step.said = [said.problem(f"problem.{result.code}", **result.params), flow.prompt(session)]
        return
    if step.unsure:
        # Heard unsurely: read it back before keeping it. For closed answers this matters
        # most: a grammar forces any speech onto one of its phrases, and the recogniser
        # says so only by a low confidence.
        session.pending = PendingAnswer(question.id, result.value)
        step.said = [said.ReadBackAnswer(question, result.value)]
        return
    keep(flow, session, question, result.value, step)


def keep(flow: DialogFlow, session: Session, question: Question, value: object, step: Step) -> None:
    """Take an answer, then go on to the next question (or the next one left open)."""
    session.answers[question.id] = value
    step.said = [said.Kept(question, value), flow.advance(session)]
