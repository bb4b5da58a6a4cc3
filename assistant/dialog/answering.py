"""Answering a question: what was heard, read back when unsure, kept, and on to the next.

The states that ask (``ask`` and ``edit``) share this: a pending read-back is settled by a yes
or no first, then the words are interpreted by the question's type, and a problem is said with
the question again. Kept apart from the flow, which decides which state handles a turn.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from assistant.dialog import utterances as said
from assistant.events import SessionState
from assistant.jobs.catalog import Question
from assistant.session import PendingAnswer, PendingValue, Session
from assistant.understanding.corrections import after_no
from assistant.understanding.interpret import (
    Problem,
    interpret,
    normalize,
    parse_ordinal,
    parse_yes_no,
)
from assistant.understanding.phrases import bare_yes_no

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow, Step


def names_a_choice(flow: DialogFlow, session: Session, text: str) -> bool:
    """Whether the words are one of the current question's choices (then never a command).

    After delivery "that's all" or 「おわり」 is the choice "finish", not a cancel.
    """
    question = flow.current_question(session)
    if question is None and session.state == SessionState.DELIVERED:
        question = flow.delivered_question
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
            fixed = after_no(text)  # "no, four": the right answer came with the no
            if fixed is None or isinstance(
                interpret(question, fixed, today, session.language), Problem
            ):
                step.said = [said.info("readback_again"), flow.prompt(session)]
                return
            text = fixed
    asked_for = isinstance(pending, PendingValue) and pending.question_id == question.id
    if isinstance(pending, PendingValue):
        session.pending = None  # held for one turn only, here or (after "back") elsewhere
    # After "yes, I have one" these words are the value, even if they are 「はい」 again.
    settled = not asked_for and _settle_optional(flow, session, question, text, step)
    if settled:
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


def _optional_words(question: Question) -> bool:
    """An optional question answered in free words (its prompt asks "is there ...?")."""
    return not question.required and question.type in ("text", "list")


def _settle_optional(
    flow: DialogFlow, session: Session, question: Question, text: str, step: Step
) -> bool:
    """「はい」 to 「ひとことはありますか？」 is no message: yes asks for it, no skips it."""
    if not _optional_words(question):
        return False
    verdict = bare_yes_no(text)
    if verdict is None:
        return False
    if verdict:
        session.pending = PendingValue(question.id)
        step.said = [said.info("optional_ask_value")]
    else:
        session.answers[question.id] = question.default
        step.said = [said.info("skipped"), flow.advance(session)]
    return True


def keep(flow: DialogFlow, session: Session, question: Question, value: object, step: Step) -> None:
    """Take an answer, then go on to the next question (or the next one left open)."""
    session.answers[question.id] = value
    step.said = [said.Kept(question, value), flow.advance(session)]
