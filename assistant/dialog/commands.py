"""The command interpreter: help, back, cancel, skip, pause, language and speech settings.

A command works the same in every state and is decided before any answer is read; each one
changes the session through the flow's own helpers and says what happened, then where the user
stands. Kept apart from the flow so the state machine reads as answers and this as commands.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.dialog import confirming
from assistant.dialog import utterances as said
from assistant.events import Command, CommandName, ReplyKind, SessionState
from assistant.preferences import SpeechPreferences
from assistant.session import PendingPhoto, Session

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow, Step

# Commands run even when heard unsurely: they lose nothing, and a short "stop" is often
# scored low by the recogniser, yet must stop speech at once.
HARMLESS = frozenset({CommandName.STOP, CommandName.REPEAT, CommandName.HELP})
# Commands that leave a photo question: a photo still waiting for its alt text is dropped.
_LEAVES_PHOTO = frozenset(
    {CommandName.SKIP, CommandName.BACK, CommandName.CANCEL, CommandName.START_OVER}
)
# Commands a channel may send as a button press rather than words.
BUTTON_COMMANDS = frozenset(CommandName) - {CommandName.WAIT_LONGER, CommandName.WAIT_SHORTER}
_SPEECH_COMMANDS = frozenset(
    {CommandName.SLOWER, CommandName.FASTER, CommandName.LOUDER, CommandName.QUIETER,
     CommandName.WAIT_LONGER, CommandName.WAIT_SHORTER}
)  # fmt: skip


def run(flow: DialogFlow, session: Session, command: Command, step: Step) -> None:
    """Apply ``command`` to the session; ``step.said`` gets what to say."""
    name = command.name
    if isinstance(session.pending, PendingPhoto) and name in _LEAVES_PHOTO:
        session.pending = None  # the photo waiting for its alt text is not kept
    if name == CommandName.HELP:
        step.said = [_help(flow, session), flow.prompt(session)]
    elif name in (CommandName.REPEAT, CommandName.RESUME):
        step.said = [flow.prompt(session)]
    elif name == CommandName.BACK:
        step.said = _back(flow, session)
    elif name == CommandName.START_OVER:
        if session.job_id is None:
            step.said = [flow.prompt(session)]
            return
        _cancel_generation(session, step)
        job_id, digest = session.job_id, session.job_digest
        flow.reset(session)
        session.job_id, session.job_digest = job_id, digest  # the same version, from its start
        session.state = SessionState.ASK
        session.pending = None
        if flow.can_describe(flow.job(session)) and session.preferences.get("answer_mode") != (
            "dialog"
        ):
            session.state = SessionState.DESCRIBE  # from its start, as when it was chosen
        step.said = [said.info("start_over"), flow.prompt(session)]
    elif name == CommandName.CANCEL:
        _cancel(flow, session, command, step)
    elif name == CommandName.SKIP:
        step.said = _skip(flow, session)
    elif name == CommandName.SWITCH_LANGUAGE:
        wanted = command.argument
        if wanted not in ("ja", "en"):
            wanted = "en" if session.language == "ja" else "ja"
        session.language = wanted
        step.said = [said.info("language_switched"), flow.prompt(session)]
    elif name == CommandName.PAUSE:
        session.paused = True
        step.said = [said.info("paused")]
    elif name in _SPEECH_COMMANDS:
        step.said = [_speech_preference(session, name)]
    elif name == CommandName.ONE_BY_ONE:
        step.said = _one_by_one(flow, session)
    elif name == CommandName.DESCRIBE:
        step.said = _describe_again(flow, session)
    elif name == CommandName.STOP:
        step.said = [said.Stopped()]
    else:  # a command the understanding knows but the dialog does not use
        step.said = [flow.prompt(session)]


def _one_by_one(flow: DialogFlow, session: Session) -> list[said.Utterance]:
    """The user would rather answer each question: remembered for their next jobs too."""
    session.preferences = {**session.preferences, "answer_mode": "dialog"}
    if session.state == SessionState.DESCRIBE:
        session.state = SessionState.ASK
        session.index = 0
    return [said.info("one_by_one"), flow.prompt(session)]


def _describe_again(flow: DialogFlow, session: Session) -> list[said.Utterance]:
    job = flow.jobs.find_for_session(session.key, session.job_id)
    session.preferences = {k: v for k, v in session.preferences.items() if k != "answer_mode"}
    describable = (SessionState.ASK, SessionState.EDIT, SessionState.CONFIRM)
    if job is None or not flow.can_describe(job) or session.state not in describable:
        return [said.info("describe_unavailable"), flow.prompt(session)]
    session.state = SessionState.DESCRIBE
    session.edit_id = None
    session.ask_next = []
    return [flow.prompt(session)]


def _help(flow: DialogFlow, session: Session) -> said.Help:
    state = session.state
    question = flow.current_question(session)
    if question is not None and question.help is not None:
        return said.Help(question_help=question.help)
    key = {
        SessionState.CHOOSE_JOB: "help_menu",
        SessionState.WELCOME: "help_menu",
        SessionState.CONFIRM: "help_confirm",
        SessionState.GENERATING: "help_generating",
        SessionState.DELIVERED: "help_delivered",
    }.get(state)
    return said.Help(key=key)


def _back(flow: DialogFlow, session: Session) -> list[said.Utterance]:
    state = session.state
    if state == SessionState.ASK and session.index > 0:
        # The question before, passing over those a ``when:`` hides.
        session.index = max(0, flow.next_shown(session, session.index - 1, step=-1))
    elif state == SessionState.ASK:
        flow.reset(session)
        session.state = SessionState.CHOOSE_JOB
        return [said.info("back_to_menu"), flow.prompt(session)]
    elif state == SessionState.CONFIRM:
        session.state = SessionState.ASK
        session.index = flow.next_shown(session, len(flow.job(session).questions) - 1, step=-1)
    elif state == SessionState.EDIT and (
        session.ask_next or session.edit_id not in session.answers
    ):
        session.state = SessionState.DESCRIBE  # a description left this open: describe again
        session.edit_id = None
        session.ask_next = []
    elif state == SessionState.DESCRIBE:
        flow.reset(session)
        session.state = SessionState.CHOOSE_JOB
        return [said.info("back_to_menu"), flow.prompt(session)]
    elif state in (SessionState.EDIT, SessionState.DELIVERED):
        session.state = SessionState.CONFIRM
        session.edit_id = None
    elif state == SessionState.CHOOSE_JOB:
        return [said.info("back_nothing"), flow.prompt(session)]
    return [flow.prompt(session)]


def _cancel(flow: DialogFlow, session: Session, command: Command, step: Step) -> None:
    if session.state == SessionState.GENERATING:
        _cancel_generation(session, step)
        session.state = SessionState.CONFIRM
        step.said = [said.info("generation_cancelled"), flow.prompt(session)]
        return
    if session.state == SessionState.CHOOSE_JOB and command.argument == "menu":
        step.said = [flow.prompt(session)]  # "menu" at the menu: the list again
        return
    if session.state == SessionState.CHOOSE_JOB:
        session.state = SessionState.ENDED
        step.said = [said.Phrase("goodbye", kind=ReplyKind.GOODBYE)]
        return
    if confirming.needs_confirmation(session):
        confirming.ask(session, step)  # "are you sure? Your answers will be lost"
        return
    confirming.wipe(flow, session, step)


def _cancel_generation(session: Session, step: Step) -> None:
    if session.generation_id is not None:
        step.effects = replace(step.effects, cancel_generation=session.generation_id)
        session.generation_id = None


def _skip(flow: DialogFlow, session: Session) -> list[said.Utterance]:
    question = flow.current_question(session)
    if question is None:
        return [said.info("skip_nothing"), flow.prompt(session)]
    if question.required:
        return [said.problem("skip_required"), flow.prompt(session)]
    session.answers[question.id] = question.default
    return [said.info("skipped"), flow.advance(session)]


def _speech_preference(session: Session, name: CommandName) -> said.Phrase:
    """One step slower, louder, longer...: the new value said, or that the limit is reached."""
    changed = SpeechPreferences.from_preferences(session.preferences).stepped(name)
    if changed is None:
        return said.info("speech_limit")
    key, value = changed
    session.preferences = {**session.preferences, key: value}
    return said.info(f"speech_{name}", seconds=f"{value:g}")
