"""The dialog's state machine: one turn applied to one session, with no I/O at all.

Kept apart from the manager (locks, the store, listeners) so every decision can be read, and
tested, as plain synchronous code: a session and a turn in, the changed session and what to
say out. What to say is data (``utterances``); ``ReplyWriter`` words it once, afterwards.
Commands live in ``commands``, auto mode's steps in ``describing``, the last check and what
follows it in ``last_check``.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from assistant.dialog import (
    answering,
    commands,
    confirming,
    edits,
    last_check,
    menu,
    photo_answer,
    sharing,
)
from assistant.dialog import utterances as said
from assistant.dialog.describing import apply_description
from assistant.events import CommandName, ReplyKind, SessionState, Turn, TurnEvent
from assistant.jobs.catalog import Job, JobCatalog, Question
from assistant.jobs.conditions import drop_hidden, is_shown, visible_questions
from assistant.ports import KnowledgeAnswer, TurnEffects
from assistant.session import PendingJob, Session, asks_yes_no, new_code
from assistant.understanding.edits import Edit
from assistant.understanding.expectation import Expectation, expected_phrases, yes_no
from assistant.understanding.expectation import commands as command_words
from assistant.understanding.interpret import (
    detect_command,
    is_help_question,
    match_choice,
    normalize,
)
from assistant.understanding.job_choice import JobChooser, JobUnderstanding

_LOGGER = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 1000
# Below this recogniser confidence an answer (free or closed) is read back before it is kept.
LOW_CONFIDENCE = 0.6
# Commands that only wake a paused session: it resumes and says where the user was.
_RESUMING = frozenset({CommandName.RESUME, CommandName.PAUSE, CommandName.REPEAT})
UNSURE_ASKS_AGAIN = frozenset(
    {SessionState.CHOOSE_JOB, SessionState.CONFIRM, SessionState.DELIVERED}
)


@dataclass(slots=True)
class Step:
    """What one turn decided: what to say, and what the store must do besides saving."""

    said: list[said.Utterance] = field(default_factory=list)
    effects: TurnEffects = field(default_factory=TurnEffects)
    confidence: float | None = None

    @property
    def unsure(self) -> bool:
        """Whether the recogniser was unsure of what it heard (typed and pressed turns are
        sure)."""
        return self.confidence is not None and self.confidence < LOW_CONFIDENCE


class DialogFlow:
    """Decides, for one session and one turn, the next state and what to say."""

    def __init__(
        self,
        jobs: JobCatalog,
        delivered_question: Question,
        make_words: Collection[str],
        clock: Callable[[], float] = time.time,
        chooser: JobChooser | None = None,
    ) -> None:
        self.jobs = jobs
        # A job named in one's own words (issue 14): by words alone unless the composition
        # root gives readings and an embedder.
        self.chooser = chooser or JobChooser(jobs.ordered())
        self.clock = clock
        # What can be said after delivery, and the words for "make it" at the last check:
        # locale phrases, understood like a question's choices.
        self.delivered_question = delivered_question
        self.make_words = frozenset(normalize(word) for word in make_words)
        self._menu_question = menu.as_question(jobs.ordered())
        # Whether a job's description can be filled by the language model right now (the
        # manager knows; auto and hybrid jobs ask for a description only then).
        self.can_describe: Callable[[Job], bool] = lambda job: False

    @property
    def menu_question(self) -> Question:
        """The job list as a choice question (a job is matched like a choice answer)."""
        return self._menu_question

    def apply(
        self,
        session: Session,
        turn: Turn,
        *,
        understood: JobUnderstanding | None = None,
        edit: Edit | None = None,
    ) -> Step:
        """One turn: the session is changed in place; the step holds what to say and effects.

        ``understood``: at the menu, the job the words name as the manager worked it out off
        the event loop (embeddings, the model); without it the flow asks the chooser itself.
        ``edit``: after delivery, the change the model read from the words (dialog/edits)."""
        step = Step(confidence=turn.confidence)
        text = (turn.text or "").strip()
        if turn.event is not None and session.state not in (
            SessionState.WELCOME,
            SessionState.ENDED,
        ):
            self._silence(session, turn.event, step)
            return step
        if len(text) > MAX_TEXT_LENGTH:
            step.said = [said.problem("too_long_input", max=MAX_TEXT_LENGTH), self.prompt(session)]
            return step
        if session.job_id is not None and session.job_id not in self.jobs.jobs:
            _LOGGER.warning("session %s used job %s, which is gone", session.key, session.job_id)
            self.reset(session)
            session.state = SessionState.CHOOSE_JOB
            step.said = [said.Menu(tuple(self.jobs.ordered()))]
            return step
        if session.state in (SessionState.WELCOME, SessionState.ENDED):
            step.said = self.welcome(session)
            return step
        command = turn.command
        if command is None and text:
            command = detect_command(text)
            if command is not None and answering.names_a_choice(self, session, text):
                command = None  # a choice labelled "English" is an answer, not a language switch
            elif command is not None and command.name not in commands.HARMLESS and step.unsure:
                # Speech outside the grammar is forced onto its nearest phrase, commands
                # included: an unsure "cancel" or "wait a minute" is not run; the user is
                # asked again.
                command = None
                if not session.paused:
                    step.said = [said.info("unsure_command"), self.prompt(session)]
                    return step
        if photo_answer.is_photo_turn(turn):
            photo_answer.received(self, session, turn, step)
            return step
        if session.paused:
            session.paused = False
            if command is None or command.name in _RESUMING:
                step.said = [said.info("resumed"), self.prompt(session)]
                return step
        if confirming.settle(self, session, text, command, step):
            return step  # "are you sure?" answered
        if sharing.settle(self, session, text, command, step):
            return step  # a publishing or sending read back, or its address
        if command is not None:
            commands.run(self, session, command, step)
            return step
        if not text:
            step.said = [self.prompt(session)]
            return step
        if (
            step.unsure
            and session.state in UNSURE_ASKS_AGAIN
            and not _job_read_back(session)
            and not edits.heard_clearly(self, session, text)
        ):
            # The menu, the last check and what-next: closed answers that act at once (a job is
            # chosen, generation starts), so an unsure one is not acted on. A job heard unsurely
            # is read back (a yes is easier to hear than a menu item, so nobody is stuck at the
            # menu); the others are asked again.
            if session.state == SessionState.CHOOSE_JOB and self._read_back_job(session, text):
                step.said = [self.prompt(session)]
                return step
            step.said = [said.info("unsure_command"), self.prompt(session)]
            return step
        if session.state == SessionState.CHOOSE_JOB:
            menu.choose_job(self, session, text, step, understood)
            return step
        if session.state == SessionState.CONFIRM:
            last_check.confirm(self, session, text, step)
            return step
        if session.state == SessionState.DELIVERED:
            edits.after_delivery(self, session, text, step, edit)
            return step
        handler = {
            SessionState.DESCRIBE: self._describe_without_model,
            SessionState.ASK: self._answer,
            SessionState.EDIT: self._answer,
            SessionState.GENERATING: self._still_generating,
        }[session.state]
        handler(session, text, step)
        return step

    def welcome(self, session: Session) -> list[said.Utterance]:
        """A fresh start: the greeting and the menu.

        A session that had ended starts again with a new code: the old one ended with it, so
        whoever saw it (on a screen, over a shoulder) cannot follow what comes next.
        """
        if session.state == SessionState.ENDED:
            session.code = new_code()
        self.reset(session)
        session.state = SessionState.CHOOSE_JOB
        return [said.Phrase("welcome", kind=ReplyKind.WELCOME), self.prompt(session)]

    @staticmethod
    def reset(session: Session) -> None:
        """Forget the job and its answers (the language and preferences stay)."""
        session.job_id = None
        session.job_digest = None
        session.index = 0
        session.answers = {}
        session.edit_id = None
        session.series = None
        session.version = 0
        session.artifact_id = None
        session.generation_id = None
        session.ask_next = []
        session.look = {}
        session.undo = []

    def job(self, session: Session) -> Job:
        """The session's job (only called where one is chosen)."""
        assert session.job_id is not None
        return self.jobs.for_session(session.key, session.job_id)

    def current_question(self, session: Session) -> Question | None:
        """The question being asked or changed, if any."""
        if session.job_id is None:
            return None
        job = self.job(session)
        if session.state == SessionState.EDIT and session.edit_id:
            return job.question(session.edit_id)
        if session.state == SessionState.ASK and session.index < len(job.questions):
            return job.questions[session.index]
        return None

    def prompt(self, session: Session) -> said.Utterance:
        """What the user is being asked right now (used by repeat, resume and after problems)."""
        state = session.state
        if confirming.holds_cancel(session):
            return confirming.CANCEL_QUESTION
        if sharing.holds_share(session):
            return sharing.prompt(self, session)
        if state == SessionState.CHOOSE_JOB and isinstance(session.pending, PendingJob):
            pending = session.pending
            return said.ReadBackJob(self.jobs.jobs[pending.job_id], pending.guessed)
        if state in (SessionState.WELCOME, SessionState.CHOOSE_JOB):
            return said.Menu(tuple(self.jobs.ordered()))
        if state == SessionState.ENDED:
            return said.info("ended")
        job = self.job(session)
        if state == SessionState.DESCRIBE:
            return said.DescribePrompt(job)
        question = self.current_question(session)
        if photo_answer.waiting_for_alt(session, question) is not None:
            return photo_answer.ALT_PROMPT
        if question is not None:
            return said.AskQuestion(job, question)
        if state == SessionState.GENERATING:
            return said.Generating(job, "still_generating")
        if state == SessionState.DELIVERED:
            return said.DeliveredNext()
        return said.ConfirmAnswers(job)

    def expectation(self, session: Session) -> Expectation:
        """What to listen for next: the grammar of the current question, or free speech."""
        language = session.language
        if asks_yes_no(session.pending):  # "I heard X. Is that right?"
            return Expectation(
                language, tuple(dict.fromkeys([*yes_no(language), *command_words(language)]))
            )
        job = self.jobs.find_for_session(session.key, session.job_id)
        delivered = [
            word
            for choice in self.delivered_question.choices
            for word in (choice.label.get(language), *choice.readings)
        ]
        phrases = expected_phrases(
            session.state, job, self.current_question(session) if job else None, language,
            self.jobs.ordered(), delivered,
        )  # fmt: skip
        return Expectation(language, phrases, free=session.state == SessionState.DELIVERED)

    # -- the knowledge base (the manager asks it before ``apply``) --------------------------

    def asks_for_help(self, session: Session, turn: Turn) -> bool:
        """Whether this turn is a "how do I ..." question for the knowledge base."""
        text = (turn.text or "").strip()
        if not text or session.paused or session.pending or turn.event is not None:
            return False
        if session.state in (SessionState.WELCOME, SessionState.ENDED):
            return False
        return detect_command(text) is None and is_help_question(text)

    def knowledge_reply(self, session: Session, found: KnowledgeAnswer) -> Step:
        """The answer, where it came from, and then the question the user was at."""
        return Step([said.KnowledgeFound(found), self.prompt(session)])

    # -- states -----------------------------------------------------------------------------

    def _silence(self, session: Session, event: TurnEvent, step: Step) -> None:
        """No hard time limits: after silence ask again gently; after a long one, wait."""
        if session.paused:
            step.said = []
        elif event == TurnEvent.LONG_SILENCE:
            session.paused = True
            step.said = [said.info("paused_silence")]
        else:
            step.said = [said.info("still_there"), self.prompt(session)]

    def _read_back_job(self, session: Session, text: str) -> bool:
        """Hold the job heard unsurely for a yes or no; False when the text names none."""
        job_id = match_choice(text, self._menu_question, session.language)
        if job_id is None or job_id not in self.jobs.jobs:
            return False
        session.pending = PendingJob(job_id)
        return True

    def _answer(self, session: Session, text: str, step: Step) -> None:
        question = self.current_question(session)
        if question is not None and question.type == "photo":
            photo_answer.answer(self, session, question, text, step)
            return
        answering.answer(self, session, text, self.today(), step)

    def advance(self, session: Session) -> said.Utterance:
        """On to the next question, or to the last check after the last one."""
        job = self.job(session)
        drop_hidden(job, session.answers)  # a changed yes/no or choice may hide a section
        if session.state == SessionState.EDIT:
            # A change that opened a section: its questions are asked next. Only questions
            # behind a condition can be opened; an optional photo left out after a
            # description stays left out.
            opened = [
                q.id
                for q in visible_questions(job, session.answers)
                if q.when is not None
                and q.id not in session.answers
                and q.id not in session.ask_next
                and q.id != session.edit_id
            ]
            still = [(i, job.question(i)) for i in session.ask_next]
            session.ask_next = [
                *(i for i, q in still if q is not None and is_shown(job, q, session.answers)),
                *opened,
            ]
            self.next_edit(session)
            return self.prompt(session)
        session.index = self.next_shown(session, session.index + 1)
        if session.index >= len(job.questions):
            session.state = SessionState.CONFIRM
        return self.prompt(session)

    def next_shown(self, session: Session, index: int, step: int = 1) -> int:
        """The first question at ``index`` or beyond (before, with ``step=-1``) that is asked
        for the answers so far; past the end (or -1) when there is none."""
        job = self.job(session)
        while 0 <= index < len(job.questions) and not is_shown(
            job, job.questions[index], session.answers
        ):
            index += step
        return index

    def shown(self, session: Session) -> tuple[Question, ...]:
        """The questions asked and read back for the session's answers (``when:``)."""
        return visible_questions(self.job(session), session.answers)

    @staticmethod
    def next_edit(session: Session) -> None:
        """After a changed answer: the next question a description left open, or confirm."""
        if session.ask_next:
            session.edit_id = session.ask_next.pop(0)
            return
        session.state = SessionState.CONFIRM
        session.edit_id = None

    def _describe_without_model(self, session: Session, text: str, step: Step) -> None:
        step.said = apply_description(self, session, None)

    def _still_generating(self, session: Session, text: str, step: Step) -> None:
        step.said = [self.prompt(session)]

    def today(self) -> datetime.date:
        return datetime.date.fromtimestamp(self.clock())


def _job_read_back(session: Session) -> bool:
    """Whether the menu waits for a yes or no to a job it heard unsurely."""
    return session.state == SessionState.CHOOSE_JOB and isinstance(session.pending, PendingJob)
