"""Auto and hybrid modes in the dialog: which turn is a description, and where its answers lead.

``auto`` asks the language model to pick answers out of a description; this module decides
what the dialog does with them: everything understood is read back, the questions left open
are asked one by one, and a model that could not help means the plain questions after all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.dialog import utterances as said
from assistant.events import SessionState, Turn
from assistant.jobs.conditions import drop_hidden, visible_questions
from assistant.session import Session
from assistant.understanding.interpret import detect_command

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow


def is_description(session: Session, turn: Turn, max_length: int) -> bool:
    """Whether this turn is a description for the model to fill answers from."""
    text = (turn.text or "").strip()
    if session.state != SessionState.DESCRIBE or not text or session.paused or session.pending:
        return False
    if turn.event is not None or turn.command is not None or len(text) > max_length:
        return False
    return detect_command(text) is None


def apply_description(
    flow: DialogFlow, session: Session, kept: dict[str, object] | None
) -> list[said.Utterance]:
    """Answers picked out of a description (None: the model could not help)."""
    job = flow.job(session)
    if kept is None:
        session.state = SessionState.ASK
        session.index = 0
        return [said.info("describe_failed"), flow.prompt(session)]
    session.answers.update(kept)
    drop_hidden(job, session.answers)  # a section the description did not open is not asked
    shown = visible_questions(job, session.answers)
    # An optional photo (issue 15) cannot be described: it stays unanswered, read back as
    # "none" at the last check, where it can be changed, and is not asked on the way.
    missing = [
        q.id for q in shown if q.id not in session.answers and (q.required or q.type != "photo")
    ]
    understood = tuple(q.id for q in shown if q.id in kept)
    utterances: list[said.Utterance] = [said.Described(job, understood)] if understood else []
    if not missing:
        session.state = SessionState.CONFIRM
        return [*utterances, flow.prompt(session)]
    session.state = SessionState.EDIT
    session.edit_id, session.ask_next = missing[0], missing[1:]
    key = "described_rest" if understood else "described_nothing"
    return [*utterances, said.info(key), flow.prompt(session)]
