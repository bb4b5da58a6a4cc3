"""Settling the dialog's own "are you sure?" before answers are wiped (issue 14, part H).

"Cancel" (or 「おわり」, "I'm done") at a question with answers given asks first: yes wipes the
answers and goes to the menu, no carries on where the user was. "Repeat", "help" and the
speech settings leave the question open; anything else is taken as usual (an answer, "back")
and the cancel is dropped, so nobody is stuck on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.dialog import utterances as said
from assistant.events import Command, CommandName, SessionState
from assistant.session import PendingCancel, Session
from assistant.understanding.interpret import parse_ordinal, parse_yes_no

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow, Step

# Where a cancel loses answers the user gave (after delivery the result is kept, and while
# generating a cancel stops the work and keeps the answers).
_LOSES_ANSWERS = frozenset(
    {SessionState.ASK, SessionState.EDIT, SessionState.CONFIRM, SessionState.DESCRIBE}
)
CANCEL_QUESTION = said.AskYesNo("cancel_confirm")
# Commands that leave the question open: "repeat" or "slower" is asked again afterwards.
_KEEP_ASKING = frozenset(
    {CommandName.REPEAT, CommandName.HELP, CommandName.STOP, CommandName.PAUSE,
     CommandName.RESUME, CommandName.SLOWER, CommandName.FASTER, CommandName.LOUDER,
     CommandName.QUIETER, CommandName.WAIT_LONGER, CommandName.WAIT_SHORTER,
     CommandName.SWITCH_LANGUAGE}
)  # fmt: skip


def holds_cancel(session: Session) -> bool:
    """Whether the session waits for the answer to "are you sure?"."""
    return isinstance(session.pending, PendingCancel)


def needs_confirmation(session: Session) -> bool:
    """Whether a cancel now would throw away answers, and so is asked about first."""
    return session.state in _LOSES_ANSWERS and bool(session.answers)


def ask(session: Session, step: Step) -> None:
    """Hold the cancel and ask whether to go ahead."""
    session.pending = PendingCancel()
    step.said = [CANCEL_QUESTION]


def wipe(flow: DialogFlow, session: Session, step: Step) -> None:
    """The answers cleared and the menu again."""
    session.pending = None
    flow.reset(session)
    session.state = SessionState.CHOOSE_JOB
    step.said = [said.info("cancelled"), flow.prompt(session)]


def settle(
    flow: DialogFlow, session: Session, text: str, command: Command | None, step: Step
) -> bool:
    """The reply to "are you sure?"; False when none is held, or the turn is something else,
    to be taken as usual (the held cancel is dropped then)."""
    if not holds_cancel(session):
        return False
    session.pending = None
    if command is not None:
        if command.name == CommandName.CANCEL:  # said twice: that is a yes
            wipe(flow, session, step)
            return True
        if command.name in _KEEP_ASKING:
            session.pending = PendingCancel()
        return False
    if not text:
        session.pending = PendingCancel()
        step.said = [CANCEL_QUESTION]
        return True
    verdict = parse_yes_no(text)
    if verdict is None and parse_ordinal(text) in (1, 2):  # the numbered yes/no buttons
        verdict = parse_ordinal(text) == 1
    if verdict:
        wipe(flow, session, step)
    elif verdict is False:
        step.said = [said.info("cancel_kept"), flow.prompt(session)]
    return verdict is not None
