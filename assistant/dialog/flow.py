"""The dialog's state machine: one turn applied to one session, with no I/O at all.

Kept apart from the manager (locks, the store, listeners) so every decision can be read, and
tested, as plain synchronous code: a session and a turn in, the changed session and replies out.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from assistant.dialog.replies import ReplyWriter
from assistant.events import Reply, ReplyKind, SessionState, Turn
from assistant.jobs.catalog import Job, JobCatalog, JobChoice, LocalizedText, Question
from assistant.ports import KnowledgeAnswer, TurnEffects
from assistant.session import GenerationRequest, Session
from assistant.understanding.expectation import Expectation, commands, expected_phrases, yes_no
from assistant.understanding.interpret import (
    Command,
    Problem,
    detect_command,
    interpret,
    is_help_question,
    match_choice,
    normalize,
    parse_ordinal,
    parse_yes_no,
)

_LOGGER = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 1000
# Below this recogniser confidence an answer (free or closed) is read back before it is kept.
LOW_CONFIDENCE = 0.6
# Commands run even when heard unsurely: they lose nothing, and a short "stop" is often
# scored low by the recogniser, yet must stop speech at once.
HARMLESS_COMMANDS = frozenset({"stop", "repeat", "help"})
UNSURE_ASKS_AGAIN = frozenset(
    {SessionState.CHOOSE_JOB, SessionState.CONFIRM, SessionState.DELIVERED}
)
RATE_STEPS = (0.6, 0.8, 1.0, 1.25, 1.5)
VOLUME_STEPS = (0.4, 0.6, 0.8, 1.0)
# End-of-speech silence in seconds ("wait longer" / 「待ち時間を短く」), within 0.25-5 s.
SILENCE_STEPS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
# Speech starts at normal rate and below full volume, so "louder" has somewhere to go.
SPEECH_DEFAULTS = {"rate": 1.0, "volume": 0.8, "silence": 1.0}


@dataclass(slots=True)
class Step:
    """What one turn produced: the replies, and what the store must do besides saving."""

    replies: list[Reply] = field(default_factory=list)
    effects: TurnEffects = field(default_factory=TurnEffects)
    confidence: float | None = None


class DialogFlow:
    """Decides, for one session and one turn, the next state and what to say."""

    def __init__(
        self, jobs: JobCatalog, writer: ReplyWriter, clock: Callable[[], float] = time.time
    ) -> None:
        self.jobs = jobs
        self.writer = writer
        self.clock = clock
        self._menu_question = _menu_question(jobs.ordered())
        # Whether a job's description can be filled by the language model right now (the
        # manager knows; auto and hybrid jobs ask for a description only then).
        self.can_describe: Callable[[Job], bool] = lambda job: False
        self._make_words = frozenset(normalize(word) for word in writer.make_words)

    def apply(self, session: Session, turn: Turn) -> Step:
        """One turn: the session is changed in place; the step holds replies and effects."""
        step = Step(confidence=turn.confidence)
        text = (turn.text or "").strip()
        event = turn.data.get("event") if turn.data else None
        if event in ("silence", "long_silence") and session.state not in (
            SessionState.WELCOME,
            SessionState.ENDED,
        ):
            self._silence(session, event, step)
            return step
        if turn.text is None and turn.audio is not None:
            step.replies = [
                self.writer.problem(session, "audio_unsupported"),
                *self.prompt(session),
            ]
            return step
        if len(text) > MAX_TEXT_LENGTH:
            step.replies = [
                self.writer.problem(session, "too_long_input", max=MAX_TEXT_LENGTH),
                *self.prompt(session),
            ]
            return step
        if session.job_id is not None and session.job_id not in self.jobs.jobs:
            _LOGGER.warning("session %s used job %s, which is gone", session.key, session.job_id)
            self.reset(session)
            session.state = SessionState.CHOOSE_JOB
            step.replies = [self.writer.menu(session, self.jobs.ordered())]
            return step
        if session.state in (SessionState.WELCOME, SessionState.ENDED):
            step.replies = self.welcome(session)
            return step
        command = _data_command(turn)
        if command is None and text:
            command = detect_command(text)
            if command is not None and self._names_a_choice(session, text):
                command = None  # a choice labelled "English" is an answer, not a language switch
        if (
            command is not None
            and command.name not in HARMLESS_COMMANDS
            and _data_command(turn) is None
            and _unsure(step)
        ):
            # Speech outside the grammar is forced onto its nearest phrase, commands included:
            # an unsure "cancel" or "wait a minute" is not run; the user is asked again.
            command = None
            if not session.paused:
                step.replies = [self.writer.info(session, "unsure_command"), *self.prompt(session)]
                return step
        if session.paused:
            session.paused = False
            if command is None or command.name in ("resume", "pause", "repeat"):
                step.replies = [self.writer.info(session, "resumed"), *self.prompt(session)]
                return step
        if command is not None:
            self._command(session, command, step)
            return step
        if not text:
            step.replies = self.prompt(session)
            return step
        if _unsure(step) and session.state in UNSURE_ASKS_AGAIN and not _job_read_back(session):
            # The menu, the last check and what-next: closed answers that act at once (a job is
            # chosen, generation starts), so an unsure one is not acted on. A job heard unsurely
            # is read back (a yes is easier to hear than a menu item, so nobody is stuck at the
            # menu); the others are asked again.
            if session.state == SessionState.CHOOSE_JOB and self._read_back_job(session, text):
                step.replies = self.prompt(session)
                return step
            step.replies = [self.writer.info(session, "unsure_command"), *self.prompt(session)]
            return step
        handler = {
            SessionState.CHOOSE_JOB: self._choose_job,
            SessionState.DESCRIBE: self._describe_without_model,
            SessionState.ASK: self._answer,
            SessionState.EDIT: self._answer,
            SessionState.CONFIRM: self._confirm,
            SessionState.GENERATING: self._still_generating,
            SessionState.DELIVERED: self._after_delivery,
        }[session.state]
        handler(session, text, step)
        return step

    def _names_a_choice(self, session: Session, text: str) -> bool:
        question = self._current_question(session)
        if question is None or question.type != "choice":
            return False
        said = normalize(text)
        return any(
            said == normalize(name)
            for choice in question.choices
            for name in (choice.label.ja, choice.label.en, *choice.readings)
        )

    def welcome(self, session: Session) -> list[Reply]:
        self.reset(session)
        session.state = SessionState.CHOOSE_JOB
        return [
            self.writer.reply(session, ReplyKind.WELCOME, self.writer.say(session, "welcome")),
            self.writer.menu(session, self.jobs.ordered()),
        ]

    @staticmethod
    def reset(session: Session) -> None:
        session.job_id = None
        session.index = 0
        session.answers = {}
        session.edit_id = None
        session.series = None
        session.version = 0
        session.artifact_id = None
        session.generation_id = None
        session.ask_next = []

    def _job(self, session: Session) -> Job:
        assert session.job_id is not None
        return self.jobs.jobs[session.job_id]

    def _current_question(self, session: Session) -> Question | None:
        if session.job_id is None:
            return None
        job = self._job(session)
        if session.state == SessionState.EDIT and session.edit_id:
            return job.question(session.edit_id)
        if session.state == SessionState.ASK and session.index < len(job.questions):
            return job.questions[session.index]
        return None

    def prompt(self, session: Session) -> list[Reply]:
        """What the user is being asked right now (used by repeat, resume and after problems)."""
        state = session.state
        if state == SessionState.CHOOSE_JOB and _job_read_back(session):
            title = self.jobs.jobs[session.pending["job"]].title.get(session.language)
            return [self.writer.confirm_heard(session, title)]
        if state in (SessionState.WELCOME, SessionState.CHOOSE_JOB):
            return [self.writer.menu(session, self.jobs.ordered())]
        if state == SessionState.ENDED:
            return [self.writer.info(session, "ended")]
        job = self._job(session)
        if state == SessionState.DESCRIBE:
            return [self.writer.describe(session, job)]
        question = self._current_question(session)
        if question is not None:
            return [self.writer.question(session, job, question)]
        if state == SessionState.GENERATING:
            return [self.writer.generating(session, job, "still_generating")]
        if state == SessionState.DELIVERED:
            return [self.writer.delivered_next(session)]
        return [self.writer.confirm(session, job)]

    # -- commands ---------------------------------------------------------------------------

    def _command(self, session: Session, command: Command, step: Step) -> None:
        name = command.name
        writer = self.writer
        if name == "help":
            step.replies = [*self._help(session), *self.prompt(session)]
        elif name in ("repeat", "resume"):
            step.replies = self.prompt(session)
        elif name == "back":
            self._back(session, step)
        elif name == "start_over":
            if session.job_id is None:
                step.replies = self.prompt(session)
                return
            self._cancel_generation(session, step)
            job_id = session.job_id
            self.reset(session)
            session.job_id = job_id
            session.state = SessionState.ASK
            step.replies = [writer.info(session, "start_over"), *self.prompt(session)]
        elif name == "cancel":
            self._cancel(session, step)
        elif name == "skip":
            self._skip(session, step)
        elif name == "switch_language":
            wanted = command.argument
            if wanted not in ("ja", "en"):
                wanted = "en" if session.language == "ja" else "ja"
            session.language = wanted
            step.replies = [writer.info(session, "language_switched"), *self.prompt(session)]
        elif name == "pause":
            session.paused = True
            step.replies = [writer.info(session, "paused")]
        elif name in ("slower", "faster", "louder", "quieter", "wait_longer", "wait_shorter"):
            step.replies = [self._speech_preference(session, name)]
        elif name == "one_by_one":
            self._one_by_one(session, step)
        elif name == "describe":
            self._describe_again(session, step)
        elif name == "stop":
            step.replies = [
                writer.reply(session, ReplyKind.INFO, writer.say(session, "stopped"), speech="")
            ]
        else:  # a command the understanding knows but the dialog does not use
            step.replies = self.prompt(session)

    def _one_by_one(self, session: Session, step: Step) -> None:
        """The user would rather answer each question: remembered for their next jobs too."""
        session.preferences = {**session.preferences, "answer_mode": "dialog"}
        if session.state == SessionState.DESCRIBE:
            session.state = SessionState.ASK
            session.index = 0
        step.replies = [self.writer.info(session, "one_by_one"), *self.prompt(session)]

    def _describe_again(self, session: Session, step: Step) -> None:
        job = self.jobs.jobs.get(session.job_id) if session.job_id else None
        preferences = {k: v for k, v in session.preferences.items() if k != "answer_mode"}
        session.preferences = preferences
        if (
            job is None
            or not self.can_describe(job)
            or session.state
            not in (
                SessionState.ASK,
                SessionState.EDIT,
                SessionState.CONFIRM,
            )
        ):
            step.replies = [
                self.writer.info(session, "describe_unavailable"),
                *self.prompt(session),
            ]
            return
        session.state = SessionState.DESCRIBE
        session.edit_id = None
        session.ask_next = []
        step.replies = self.prompt(session)

    def _help(self, session: Session) -> list[Reply]:
        state = session.state
        parts: list[str] = []
        question = self._current_question(session)
        if question is not None and question.help is not None:
            parts.append(question.help.get(session.language))
        elif state in (SessionState.CHOOSE_JOB, SessionState.WELCOME):
            parts.append(self.writer.say(session, "help_menu"))
        elif state == SessionState.CONFIRM:
            parts.append(self.writer.say(session, "help_confirm"))
        elif state == SessionState.GENERATING:
            parts.append(self.writer.say(session, "help_generating"))
        elif state == SessionState.DELIVERED:
            parts.append(self.writer.say(session, "help_delivered"))
        parts.append(self.writer.say(session, "help_general"))
        return [self.writer.reply(session, ReplyKind.HELP, " ".join(parts))]

    def _back(self, session: Session, step: Step) -> None:
        state = session.state
        if state == SessionState.ASK and session.index > 0:
            session.index -= 1
        elif state == SessionState.ASK:
            self.reset(session)
            session.state = SessionState.CHOOSE_JOB
            step.replies = [self.writer.info(session, "back_to_menu"), *self.prompt(session)]
            return
        elif state == SessionState.CONFIRM:
            session.state = SessionState.ASK
            session.index = len(self._job(session).questions) - 1
        elif state == SessionState.EDIT and (
            session.ask_next or session.edit_id not in session.answers
        ):
            session.state = SessionState.DESCRIBE  # a description left this open: describe again
            session.edit_id = None
            session.ask_next = []
        elif state == SessionState.DESCRIBE:
            self.reset(session)
            session.state = SessionState.CHOOSE_JOB
            step.replies = [self.writer.info(session, "back_to_menu"), *self.prompt(session)]
            return
        elif state in (SessionState.EDIT, SessionState.DELIVERED):
            session.state = SessionState.CONFIRM
            session.edit_id = None
        elif state == SessionState.CHOOSE_JOB:
            step.replies = [self.writer.info(session, "back_nothing"), *self.prompt(session)]
            return
        step.replies = self.prompt(session)

    def _cancel(self, session: Session, step: Step) -> None:
        if session.state == SessionState.GENERATING:
            self._cancel_generation(session, step)
            session.state = SessionState.CONFIRM
            step.replies = [
                self.writer.info(session, "generation_cancelled"),
                *self.prompt(session),
            ]
            return
        if session.state == SessionState.CHOOSE_JOB:
            session.state = SessionState.ENDED
            step.replies = [
                self.writer.reply(session, ReplyKind.GOODBYE, self.writer.say(session, "goodbye"))
            ]
            return
        self.reset(session)
        session.state = SessionState.CHOOSE_JOB
        step.replies = [self.writer.info(session, "cancelled"), *self.prompt(session)]

    @staticmethod
    def _cancel_generation(session: Session, step: Step) -> None:
        if session.generation_id is not None:
            step.effects = replace(step.effects, cancel_generation=session.generation_id)
            session.generation_id = None

    def _skip(self, session: Session, step: Step) -> None:
        question = self._current_question(session)
        if question is None:
            step.replies = [self.writer.info(session, "skip_nothing"), *self.prompt(session)]
        elif question.required:
            step.replies = [self.writer.problem(session, "skip_required"), *self.prompt(session)]
        else:
            session.answers[question.id] = question.default
            step.replies = [self.writer.info(session, "skipped"), *self._advance(session)]

    def _speech_preference(self, session: Session, name: str) -> Reply:
        key, steps = {
            "slower": ("rate", RATE_STEPS), "faster": ("rate", RATE_STEPS),
            "louder": ("volume", VOLUME_STEPS), "quieter": ("volume", VOLUME_STEPS),
            "wait_longer": ("silence", SILENCE_STEPS), "wait_shorter": ("silence", SILENCE_STEPS),
        }[name]  # fmt: skip
        try:
            current = float(session.preferences.get(key, SPEECH_DEFAULTS[key]))
        except (TypeError, ValueError):  # a damaged preference: start from the default
            current = SPEECH_DEFAULTS[key]
        position = min(range(len(steps)), key=lambda i: abs(steps[i] - current))
        position += 1 if name in ("faster", "louder", "wait_longer") else -1
        if not 0 <= position < len(steps):
            return self.writer.info(session, "speech_limit")
        session.preferences = {**session.preferences, key: steps[position]}
        return self.writer.info(session, f"speech_{name}", seconds=f"{steps[position]:g}")

    # -- states -----------------------------------------------------------------------------

    def _read_back_job(self, session: Session, text: str) -> bool:
        """Hold the job heard unsurely for a yes or no; False when the text names none."""
        job_id = match_choice(text, self._menu_question, session.language)
        if job_id is None or job_id not in self.jobs.jobs:
            return False
        session.pending = {"job": job_id}
        return True

    def _choose_job(self, session: Session, text: str, step: Step) -> None:
        jobs = self.jobs.ordered()
        job_id = None
        if _job_read_back(session):  # "I heard “Quiz program”. Is that right?"
            held, session.pending = session.pending["job"], None
            verdict = parse_yes_no(text)
            if verdict is False:
                step.replies = [self.writer.info(session, "readback_again"), *self.prompt(session)]
                return
            if verdict and held in self.jobs.jobs:
                job_id = held
        if job_id is None:
            job_id = match_choice(text, self._menu_question, session.language) if jobs else None
        if job_id is None:
            step.replies = [
                self.writer.problem(session, "menu_not_understood", count=len(jobs)),
                *self.prompt(session),
            ]
            return
        self.reset(session)
        session.job_id = job_id
        session.state = SessionState.ASK
        job = self._job(session)
        if self.can_describe(job) and session.preferences.get("answer_mode") != "dialog":
            session.state = SessionState.DESCRIBE
        step.replies = [
            self.writer.info(
                session,
                "job_chosen",
                title=job.title.get(session.language),
                count=len(job.questions),
            ),
            *self.prompt(session),
        ]

    def expectation(self, session: Session) -> Expectation:
        """What to listen for next: the grammar of the current question, or free speech."""
        language = session.language
        if session.pending:  # "I heard X. Is that right?"
            return Expectation(
                language, tuple(dict.fromkeys([*yes_no(language), *commands(language)]))
            )
        job = self.jobs.jobs.get(session.job_id) if session.job_id else None
        delivered = [
            word
            for choice in self.writer.delivered_question.choices
            for word in (choice.label.get(language), *choice.readings)
        ]
        phrases = expected_phrases(
            session.state, job, self._current_question(session) if job else None, language,
            self.jobs.ordered(), delivered,
        )  # fmt: skip
        return Expectation(language, phrases)

    def _silence(self, session: Session, event: str, step: Step) -> None:
        """No hard time limits: after silence ask again gently; after a long one, wait."""
        if session.paused:
            step.replies = []
        elif event == "long_silence":
            session.paused = True
            step.replies = [self.writer.info(session, "paused_silence")]
        else:
            step.replies = [self.writer.info(session, "still_there"), *self.prompt(session)]

    def _answer(self, session: Session, text: str, step: Step) -> None:
        question = self._current_question(session)
        assert question is not None
        pending = session.pending
        if pending and pending.get("question") == question.id:
            session.pending = None
            verdict = parse_yes_no(text)
            if verdict:
                self._keep(session, question, pending["value"], step)
                return
            if verdict is False:
                step.replies = [self.writer.info(session, "readback_again"), *self.prompt(session)]
                return
        result = interpret(question, text, self._today(), session.language)
        if isinstance(result, Problem) and question.type == "yesno":
            ordinal = parse_ordinal(text)
            if ordinal in (1, 2):  # the numbered yes/no buttons
                result = interpret(
                    question, "yes" if ordinal == 1 else "no", self._today(), session.language
                )
        if isinstance(result, Problem):
            step.replies = [
                self.writer.problem(session, f"problem.{result.code}", **result.params),
                *self.prompt(session),
            ]
            return
        if _unsure(step):
            # Heard unsurely: read it back before keeping it. For closed answers this matters
            # most: a grammar forces any speech onto one of its phrases, and the recogniser
            # says so only by a low confidence.
            session.pending = {"question": question.id, "value": result.value}
            heard = self.writer.format_value(session, question, result.value)
            step.replies = [self.writer.confirm_heard(session, heard)]
            return
        self._keep(session, question, result.value, step)

    def _keep(self, session: Session, question: Question, value: object, step: Step) -> None:
        session.answers[question.id] = value
        kept = self.writer.info(
            session, "kept", value=self.writer.format_value(session, question, value)
        )
        if session.state == SessionState.EDIT:
            self._next_edit(session)
            step.replies = [kept, *self.prompt(session)]
        else:
            step.replies = [kept, *self._advance(session)]

    def _advance(self, session: Session) -> list[Reply]:
        if session.state == SessionState.EDIT:
            self._next_edit(session)
            return self.prompt(session)
        session.index += 1
        if session.index >= len(self._job(session).questions):
            session.state = SessionState.CONFIRM
        return self.prompt(session)

    def _next_edit(self, session: Session) -> None:
        """After a changed answer: the next question a description left open, or confirm."""
        if session.ask_next:
            session.edit_id = session.ask_next.pop(0)
            return
        session.state = SessionState.CONFIRM
        session.edit_id = None

    # -- auto and hybrid modes --------------------------------------------------------------

    def describing(self, session: Session, turn: Turn) -> bool:
        """Whether this turn is a description for the model to fill answers from."""
        text = (turn.text or "").strip()
        if session.state != SessionState.DESCRIBE or not text or session.paused:
            return False
        if turn.data.get("event") or turn.data.get("command") or len(text) > MAX_TEXT_LENGTH:
            return False
        return detect_command(text) is None

    def asks_for_help(self, session: Session, turn: Turn) -> bool:
        """Whether this turn is a "how do I ..." question for the knowledge base."""
        text = (turn.text or "").strip()
        if not text or session.paused or session.pending or turn.data.get("event"):
            return False
        if session.state in (SessionState.WELCOME, SessionState.ENDED):
            return False
        return detect_command(text) is None and is_help_question(text)

    def knowledge_reply(self, session: Session, found: KnowledgeAnswer) -> Step:
        """The answer, where it came from, and then the question the user was at."""
        source = self.writer.say(session, "knowledge_source", title=found.title)
        reply = self.writer.reply(
            session, ReplyKind.HELP, f"{found.text} {source}", speech=found.text
        )
        return Step([reply, *self.prompt(session)])

    def apply_description(self, session: Session, kept: dict[str, object] | None) -> Step:
        """Answers picked out of a description (None: the model could not help)."""
        step = Step()
        job = self._job(session)
        if kept is None:
            session.state = SessionState.ASK
            session.index = 0
            step.replies = [self.writer.info(session, "describe_failed"), *self.prompt(session)]
            return step
        session.answers.update(kept)
        missing = [q.id for q in job.questions if q.id not in session.answers]
        understood = [
            self.writer.say(
                session,
                "described_item",
                question=q.prompt.get(session.language),
                value=self.writer.format_value(session, q, session.answers[q.id]),
            )
            for q in job.questions
            if q.id in kept
        ]
        replies = []
        if understood:
            replies.append(self.writer.info(session, "described", items=" ".join(understood)))
        if not missing:
            session.state = SessionState.CONFIRM
            step.replies = [*replies, *self.prompt(session)]
            return step
        session.state = SessionState.EDIT
        session.edit_id, session.ask_next = missing[0], missing[1:]
        key = "described_rest" if understood else "described_nothing"
        step.replies = [*replies, self.writer.info(session, key), *self.prompt(session)]
        return step

    def _describe_without_model(self, session: Session, text: str, step: Step) -> None:
        step.replies = self.apply_description(session, None).replies

    def _confirm(self, session: Session, text: str, step: Step) -> None:
        job = self._job(session)
        count = len(job.questions)
        yes = parse_yes_no(text)
        if yes is None and normalize(text) in self._make_words:
            yes = True
        if yes:
            self._start_generation(session, job, step)
            return
        if yes is False:
            step.replies = [self.writer.info(session, "confirm_which", count=count)]
            return
        number = parse_ordinal(text)
        question = None
        if number is not None and 1 <= number <= count:
            question = job.questions[number - 1]
        if question is None:
            step.replies = [self.writer.problem(session, "confirm_not_understood", count=count)]
            return
        session.state = SessionState.EDIT
        session.edit_id = question.id
        step.replies = [
            self.writer.info(session, "edit_intro", number=number),
            *self.prompt(session),
        ]

    def _start_generation(self, session: Session, job: Job, step: Step) -> None:
        for question in job.questions:  # skipped optional questions carry their default
            session.answers.setdefault(question.id, question.default)
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
        )
        step.effects = replace(step.effects, enqueue=request)
        step.replies = [self.writer.generating(session, job)]

    def _still_generating(self, session: Session, text: str, step: Step) -> None:
        step.replies = self.prompt(session)

    def _after_delivery(self, session: Session, text: str, step: Step) -> None:
        choice = match_choice(text, self.writer.delivered_question, session.language)
        if choice == "change":
            session.state = SessionState.CONFIRM
            step.replies = self.prompt(session)
        elif choice == "another":
            self.reset(session)
            session.state = SessionState.CHOOSE_JOB
            step.replies = self.prompt(session)
        elif choice == "finish":
            session.state = SessionState.ENDED
            step.replies = [
                self.writer.reply(session, ReplyKind.GOODBYE, self.writer.say(session, "goodbye"))
            ]
        else:
            step.replies = [
                self.writer.problem(session, "delivered_not_understood"),
                *self.prompt(session),
            ]

    def _today(self) -> datetime.date:
        return datetime.date.fromtimestamp(self.clock())


# Commands a channel may send as a button press (``Turn.data["command"]``) rather than words.
BUTTON_COMMANDS = frozenset(
    {"help", "repeat", "back", "start_over", "cancel", "skip", "switch_language", "pause",
     "resume", "slower", "faster", "louder", "quieter", "stop", "one_by_one", "describe"}
)  # fmt: skip


def _data_command(turn: Turn) -> Command | None:
    """A command pressed as a button: no words to misread, and the same in every language."""
    name = turn.data.get("command") if turn.data else None
    if name not in BUTTON_COMMANDS:
        return None
    argument = turn.data.get("argument")
    return Command(name, argument if argument in ("ja", "en") else None)


def _menu_question(jobs: list[Job]) -> Question:
    """The job list as a choice question, so jobs are picked by number or name like answers."""
    choices = tuple(
        JobChoice(id=job.id, label=job.title, readings=(job.id.replace("_", " "),)) for job in jobs
    )
    placeholder = LocalizedText(ja="", en="")
    return Question(id="_job", type="choice", prompt=placeholder, choices=choices)


def _job_read_back(session: Session) -> bool:
    """Whether the menu waits for a yes or no to a job it heard unsurely."""
    return (
        session.state == SessionState.CHOOSE_JOB
        and session.pending is not None
        and "job" in session.pending
    )


def _unsure(step: Step) -> bool:
    """Whether the recogniser was unsure of what it heard (typed and pressed turns are sure)."""
    return step.confidence is not None and step.confidence < LOW_CONFIDENCE
