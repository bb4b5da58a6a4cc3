"""Edits in words after delivery: each one a new version, with "undo" going back one.

After delivery a person says what to change ("make the title bigger", 「色を緑にして」,
"add our phone number") rather than walking the answers again. An edit that carries its
value is made at once and said back as it starts ("Changing the main colour to green"); one
without a value ("add our phone number") asks that one question, then reads the answers back
as any change does. Before anything changes, the delivered version's inputs are kept, so
"undo" builds the version before again as a new version: a calendar that holds the event
replaces its entry only when the sequence grows, and every link already given stays valid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.dialog import last_check
from assistant.dialog import utterances as said
from assistant.dialog.answering import names_a_choice
from assistant.events import SessionState
from assistant.jobs.catalog import Job, Question
from assistant.jobs.conditions import drop_hidden, is_shown
from assistant.session import Session, clamp_look_step, clean_look
from assistant.understanding.edits import AnswerEdit, Edit, LookEdit, UndoEdit, understand_edit
from assistant.understanding.interpret import match_choice

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow, Step

UNDO_DEPTH = 20  # versions a session can step back through


def has_look(job: Job) -> bool:
    """Whether the job's artifact is a page whose sizes an edit can change."""
    return job.generator == "page"


def after_delivery(
    flow: DialogFlow, session: Session, text: str, step: Step, read: Edit | None = None
) -> None:
    """An edit in words, or else one of the three choices (change, another, finish).

    ``read``: the edit the language model read from words the tables did not know."""
    if names_a_choice(flow, session, text):  # 「直す」 or "finish" said alone
        if match_choice(text, flow.delivered_question, session.language) == "change":
            remember(session)
    else:
        job = flow.job(session)
        edit = read or understand_edit(
            job, text, session.language, flow.today(), looks=has_look(job)
        )
        if edit is not None:
            apply_edit(flow, session, job, edit, step)
            return
    last_check.after_delivery(flow, session, text, step)


def heard_clearly(flow: DialogFlow, session: Session, text: str) -> bool:
    """Words after delivery that need no "please say it again" however unsure the recogniser
    was: one of the three choices ("Finish", 「終わります」), or an edit the tables read.

    After delivery the recogniser listens freely (no grammar), and a short word heard freely
    gets a low score even when it is right, as "Finish" did at 0.45 on the kiosk. Nothing is
    forced onto a phrase there, so words that read as a choice or an edit were heard; an edit
    is undone with "undo"."""
    if session.state != SessionState.DELIVERED or session.job_id is None:
        return False
    if match_choice(text, flow.delivered_question, session.language) is not None:
        return True  # 「終わります」 for 終わる, as the menu's own matching reads it
    job = flow.job(session)
    edit = understand_edit(job, text, session.language, flow.today(), looks=has_look(job))
    return edit is not None


def apply_edit(flow: DialogFlow, session: Session, job: Job, edit: Edit, step: Step) -> None:
    """Make the edit: a new version at once, or the one question it needs asked."""
    if isinstance(edit, UndoEdit):
        _undo(flow, session, job, step)
    elif isinstance(edit, LookEdit):
        _look(flow, session, job, edit, step)
    else:
        question = job.question(edit.question_id)
        assert question is not None
        _answer(flow, session, job, question, edit, step)


def remember(session: Session) -> None:
    """Keep the delivered version's inputs before they change (also before "change
    something"), so "undo" can build it again."""
    kept = _inputs(session)
    if session.undo and session.undo[-1] == kept:
        return
    session.undo = [*session.undo, kept][-UNDO_DEPTH:]


def _inputs(session: Session) -> dict[str, Any]:
    return {"answers": dict(session.answers), "look": dict(session.look)}


def _undo(flow: DialogFlow, session: Session, job: Job, step: Step) -> None:
    """The newest kept inputs that differ from today's, built as the next version."""
    current = _inputs(session)
    stack = list(session.undo)
    while stack and stack[-1] == current:
        stack.pop()  # a change begun and left unmade kept what is still the case
    if not stack:
        session.undo = []
        step.said = [said.info("undo_nothing"), flow.prompt(session)]
        return
    before = stack.pop()
    session.undo = stack
    session.answers = dict(before.get("answers") or {})
    session.look = clean_look(before.get("look"))
    last_check.start_generation(flow, session, job, step)
    step.said = [said.info("undo_done"), *step.said]


def _look(flow: DialogFlow, session: Session, job: Job, edit: LookEdit, step: Step) -> None:
    """One size step for a part of the page; at the limit, say so and change nothing."""
    now = session.look.get(edit.part, 0)
    wanted = clamp_look_step(now + edit.step)
    way = "bigger" if edit.step > 0 else "smaller"
    if wanted == now:
        step.said = [said.problem(f"edit_look_limit_{way}"), flow.prompt(session)]
        return
    remember(session)
    session.look = clean_look({**session.look, edit.part: wanted})
    last_check.start_generation(flow, session, job, step)
    step.said = [said.info(f"edit_look_{edit.part}_{way}"), *step.said]


def _answer(
    flow: DialogFlow,
    session: Session,
    job: Job,
    question: Question,
    edit: AnswerEdit,
    step: Step,
) -> None:
    """A new answer, made at once; without a value, that one question is asked."""
    remember(session)
    _reveal(job, question, session.answers)
    if not edit.has_value:
        session.state = SessionState.EDIT
        session.edit_id = question.id
        session.ask_next = []
        step.said = [
            said.AboutAnswer(
                "edit_ask", question, session.answers.get(question.id, question.default)
            ),
            flow.prompt(session),
        ]
        return
    session.answers[question.id] = edit.value
    drop_hidden(job, session.answers)  # a changed choice may hide a section
    last_check.start_generation(flow, session, job, step)
    step.said = [said.AboutAnswer("edit_answer", question, edit.value), *step.said]


def _reveal(job: Job, question: Question, answers: dict[str, Any]) -> None:
    """Open the section a question belongs to ("add our phone number" on a page made without
    the extras): its gate is answered yes, and the section's other questions count as
    skipped, so only the one named is asked."""
    if is_shown(job, question, answers):
        return
    before = {q.id for q in job.questions if is_shown(job, q, answers)}
    current: Question | None = question
    while current is not None and current.when is not None:
        answers[current.when.question] = current.when.value
        current = job.question(current.when.question)
    for other in job.questions:
        opened = other.id not in before and is_shown(job, other, answers)
        if opened and other.id != question.id and other.id not in answers:
            answers[other.id] = other.default
