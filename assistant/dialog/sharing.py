"""Publishing and sending offered to the user after delivery (issue 16), always read back.

When the facility allows it (``user_publish``, ``user_send``), "what next?" offers to put the
artifact on the facility's web site or to send its link by e-mail. Nothing happens on the
choice alone: publishing is read back ("anyone will be able to open it; shall I?"), sending
first asks for the address, then reads it back. Only a sure yes makes the turn carry a
``ShareRequest``, which the manager hands to the desk once the turn is stored; a no, or
anything else, leaves the artifact as it was and says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.dialog import utterances as said
from assistant.events import Command, CommandName
from assistant.session import PendingShare, Session, ShareRequest
from assistant.understanding.addresses import find_address
from assistant.understanding.interpret import parse_ordinal, parse_yes_no

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow, Step

PUBLISH = "publish"
SEND = "send"
# Commands that leave the read-back open: "repeat" or "slower" asks it again afterwards.
_KEEP_ASKING = frozenset(
    {CommandName.REPEAT, CommandName.HELP, CommandName.STOP, CommandName.PAUSE,
     CommandName.RESUME, CommandName.SLOWER, CommandName.FASTER, CommandName.LOUDER,
     CommandName.QUIETER, CommandName.WAIT_LONGER, CommandName.WAIT_SHORTER}
)  # fmt: skip


def offer(flow: DialogFlow, session: Session, kind: str, step: Step) -> None:
    """The user chose to publish or send: hold it, then read it back or ask the address."""
    session.pending = PendingShare(kind)
    step.said = [prompt(flow, session)]


def holds_share(session: Session) -> bool:
    """Whether the session waits for a yes to a share, or for its address."""
    return isinstance(session.pending, PendingShare)


def prompt(flow: DialogFlow, session: Session) -> said.Utterance:
    """The read-back, or the question for the address."""
    pending = session.pending
    assert isinstance(pending, PendingShare)
    title = flow.job(session).title.get(session.language)
    if pending.kind == PUBLISH:
        return said.AskYesNo("share_publish_confirm", {"title": title})
    if not pending.address:
        return said.Phrase("share_ask_address")
    return said.AskYesNo("share_send_confirm", {"title": title, "address": pending.address})


def settle(
    flow: DialogFlow, session: Session, text: str, command: Command | None, step: Step
) -> bool:
    """A turn while a share is held; False when none is, or the turn is a command to run as
    usual (a "repeat" keeps the share held; "back" or "cancel" drops it)."""
    pending = session.pending
    if not isinstance(pending, PendingShare):
        return False
    if command is not None:
        if command.name in _KEEP_ASKING:
            return False
        _drop(flow, session, step)
        return True
    if not text:
        step.said = [prompt(flow, session)]
        return True
    address = find_address(text) if pending.kind == SEND else None
    if address is not None:  # the address, or a corrected one at the read-back
        session.pending = PendingShare(SEND, address)
        step.said = [prompt(flow, session)]
        return True
    verdict = parse_yes_no(text)
    if verdict is None and parse_ordinal(text) in (1, 2):  # the numbered yes/no buttons
        verdict = parse_ordinal(text) == 1
    if verdict is False:
        _drop(flow, session, step)
    elif pending.kind == SEND and not pending.address:
        step.said = [said.problem("share_address_invalid"), prompt(flow, session)]
    elif verdict is None or step.unsure:
        # Publishing shows the page to anyone: only a yes heard surely does it.
        step.said = [said.problem("share_yes_no"), prompt(flow, session)]
    else:
        _go(session, pending, step)
    return True


def _go(session: Session, pending: PendingShare, step: Step) -> None:
    """The yes: the request travels with the turn; the address leaves the session."""
    assert session.artifact_id is not None
    session.pending = None
    request = ShareRequest(
        pending.kind, session.key, session.artifact_id, session.language, pending.address
    )
    step.effects = replace(step.effects, share=request)
    # What next is asked at once, so no screen keeps the read-back's yes and no while the
    # desk works; the result follows in its own reply.
    doing = said.info("share_publishing" if pending.kind == PUBLISH else "share_sending")
    step.said = [doing, said.DeliveredNext()]


def _drop(flow: DialogFlow, session: Session, step: Step) -> None:
    session.pending = None
    step.said = [said.info("share_not_done"), flow.prompt(session)]
