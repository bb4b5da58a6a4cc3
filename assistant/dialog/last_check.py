"""The last check and what follows it: make it, change answer N, then what next.

At the last check every answer has been read back; "yes" (or "make it") queues the job with
its defaults filled in, a number opens that answer for a change. After delivery the person
changes the answers (a new version), makes another thing, or finishes. Kept apart from the
flow, which decides which state handles a turn.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.dialog import sharing
from assistant.dialog import utterances as said
from assistant.events import ReplyKind, SessionState
from assistant.jobs.catalog import Job
from assistant.jobs.conditions import with_defaults
from assistant.session import SHARE_KINDS, GenerationRequest, Session
from assistant.understanding.interpret import match_choice, normalize, parse_ordinal, parse_yes_no

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow, Step


def confirm(flow: DialogFlow, session: Session, text: str, step: Step) -> None:
    """The last check answered: make it, change answer N, or say which."""
    job = flow.job(session)
    shown = flow.shown(session)
    count = len(shown)
    yes = parse_yes_no(text)
    if yes is None and normalize(text) in flow.make_words:
        yes = True
    if yes:
        start_generation(flow, session, job, step)
        return
    if yes is False:
        step.said = [said.info("confirm_which", count=count)]
        return
    number = parse_ordinal(text)
    if number is None or not 1 <= number <= count:
        step.said = [said.problem("confirm_not_understood", count=count)]
        return
    session.state = SessionState.EDIT
    session.edit_id = shown[number - 1].id
    step.said = [said.info("edit_intro", number=number), flow.prompt(session)]


def start_generation(flow: DialogFlow, session: Session, job: Job, step: Step) -> None:
    """Queue the job with every answer it needs; the manager hands the request on."""
    # Skipped optional questions, and those a ``when:`` hid, carry their default.
    session.answers = {**session.answers, **with_defaults(job, session.answers)}
    if session.series is None:
        session.series = secrets.token_hex(8)
    session.state = SessionState.GENERATING
    request = GenerationRequest(
        session_key=session.key,
        job_id=job.id,
        language=session.language,
        answers=dict(session.answers),
        series=session.series,
        version=session.version + 1,
        look=dict(session.look),
    )
    step.effects = replace(step.effects, enqueue=request)
    step.said = [said.Generating(job, "generating_version" if session.version else "generating")]


def after_delivery(flow: DialogFlow, session: Session, text: str, step: Step) -> None:
    """After delivery: change the answers, make another thing, or finish (an edit in words
    was tried first: assistant/dialog/edits.py)."""
    choice = match_choice(text, flow.delivered_question, session.language)
    if choice == "change":
        session.state = SessionState.CONFIRM
        step.said = [flow.prompt(session)]
    elif choice == "another":
        flow.reset(session)
        session.state = SessionState.CHOOSE_JOB
        step.said = [flow.prompt(session)]
    elif choice in SHARE_KINDS:
        sharing.offer(flow, session, choice, step)
    elif choice == "finish":
        session.state = SessionState.ENDED
        step.said = [said.Phrase("goodbye", kind=ReplyKind.GOODBYE)]
    else:
        step.said = [said.problem("delivered_not_understood"), flow.prompt(session)]
