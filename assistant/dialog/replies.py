"""Building replies: every sentence the dialog shows or says, from the phrase files.

Kept apart from the state machine so the flow reads as decisions and this file as wording.
``text`` is for eyes (numbered choices come as ``Reply.choices``); ``speech`` is for ears and
reads the choices out, never a link.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from assistant.dialog import utterances as said
from assistant.dialog.answer_box import change_label, expects, typed_answer
from assistant.dialog.delivery_replies import DeliveryReplies
from assistant.dialog.values import said_value
from assistant.dialog.wording import sentences, types
from assistant.events import ArtifactLink, Choice, Progress, Reply, ReplyKind
from assistant.jobs.catalog import Job, JobChoice, LocalizedText, Question
from assistant.jobs.conditions import visible_questions
from assistant.jobs.phrases import LANGUAGES, Phrases
from assistant.session import SHARE_KINDS, Session

DELIVERED_CHOICES = ("change", "another", "finish")
_LOGGER = logging.getLogger(__name__)


class ReplyWriter(DeliveryReplies):
    """Turns the state of a session into replies in the session's language."""

    def __init__(
        self,
        phrases: Phrases,
        base_url: str = "http://127.0.0.1:8080",
        share_kinds: Sequence[str] = (),
    ) -> None:
        self.phrases = phrases
        self.base_url = base_url.rstrip("/")
        # Publishing and sending follow the three choices where the facility allows them,
        # so the numbers people know (3 is "finish") stay.
        self.share_kinds = tuple(kind for kind in SHARE_KINDS if kind in share_kinds)
        self.delivered_question = self._phrase_question(
            "delivered_choices", (*DELIVERED_CHOICES, *self.share_kinds)
        )
        self.make_label = {
            language: phrases.say(language, "confirm_choices.make.label") for language in LANGUAGES
        }
        self.make_words = tuple(
            word
            for language in LANGUAGES
            for word in phrases.words(language, "confirm_choices.make.readings")
        )

    def _phrase_question(self, prefix: str, ids: Sequence[str]) -> Question:
        """A choice question made of locale phrases, so the same matcher understands it."""
        choices = []
        for choice_id in ids:
            key = f"{prefix}.{choice_id}"
            label = LocalizedText(
                ja=self.phrases.say("ja", f"{key}.label"), en=self.phrases.say("en", f"{key}.label")
            )
            readings = (
                *self.phrases.words("ja", f"{key}.readings"),
                *self.phrases.words("en", f"{key}.readings"),
            )
            choices.append(JobChoice(id=choice_id, label=label, readings=readings))
        return Question(
            id=f"_{prefix}",
            type="choice",
            prompt=LocalizedText(ja=prefix, en=prefix),
            choices=tuple(choices),
        )

    # -- rendering what the dialog decided --------------------------------------------------

    def render(self, session: Session, utterances: Sequence[said.Utterance]) -> list[Reply]:
        """Every utterance of a turn as a reply, in the session's language and final state."""
        return [self._render(session, utterance) for utterance in utterances]

    def _render(self, session: Session, utterance: said.Utterance) -> Reply:
        match utterance:
            case said.Phrase(key, params, kind):
                return self.reply(session, kind, self.say(session, key, **params))
            case said.Stopped():
                text = self.say(session, "stopped")
                return self.reply(session, ReplyKind.INFO, text, speech="", stop=True)
            case said.Menu(jobs):
                return self.menu(session, jobs)
            case said.AskQuestion(job, question):
                return self.question(session, job, question)
            case said.ReadBackJob(job, guessed):
                title = job.title.get(session.language)
                key = "job_did_you_mean" if guessed else "readback"
                return self.confirm_heard(session, title, key)
            case said.ReadBackAnswer(question, value):
                return self.confirm_heard(session, self.format_value(session, question, value))
            case said.AskYesNo(key, params):
                return self.yes_no_question(session, self.say(session, key, **params))
            case said.Kept(question, value):
                value_said = self.format_value(session, question, value)
                return self.info(session, "kept", value=value_said)
            case said.AboutAnswer(key, question, value):
                name = (question.name or question.prompt).get(session.language)
                return self.info(
                    session, key, name=name, value=self.format_value(session, question, value)
                )
            case said.DescribePrompt(job):
                return self.describe(session, job)
            case said.Described(job, question_ids):
                return self.described(session, job, question_ids)
            case said.ConfirmAnswers(job):
                return self.confirm(session, job)
            case said.Generating(job, key):
                return self.generating(session, job, key)
            case said.Delivery(job, artifact):
                return self.delivery(session, job, artifact)
            case said.DeliveredNext():
                return self.delivered_next(session)
            case said.Help(question_help, key):
                parts = [question_help.get(session.language)] if question_help else []
                if key is not None:
                    parts.append(self.say(session, key))
                parts.append(self.say(session, "help_general"))
                return self.reply(session, ReplyKind.HELP, sentences(parts))
            case said.KnowledgeFound(found):
                source = self.say(session, "knowledge_source", title=found.title)
                text = f"{found.text} {source}"
                return self.reply(session, ReplyKind.HELP, text, speech=found.text)
        raise TypeError(f"not an utterance: {utterance!r}")

    # -- small pieces -----------------------------------------------------------------------

    def say(self, session: Session, key: str, **params: Any) -> str:
        """One phrase in the session's language, worded for how the person answers."""
        return self.phrases.say(session.language, key, typed=types(session), **params)

    def reply(
        self,
        session: Session,
        kind: ReplyKind,
        text: str,
        *,
        speech: str | None = None,
        question_id: str | None = None,
        choices: tuple[Choice, ...] = (),
        progress: Progress | None = None,
        links: tuple[ArtifactLink, ...] = (),
        stop: bool = False,
    ) -> Reply:
        """A reply stamped with the session's language and state."""
        return Reply(
            kind=kind,
            text=text,
            speech=text if speech is None else speech,
            language=session.language,
            state=session.state,
            question_id=question_id,
            choices=choices,
            progress=progress,
            links=links,
            stop=stop,
        )

    def info(self, session: Session, key: str, **params: Any) -> Reply:
        """A short statement (kept, skipped, switched...)."""
        return self.reply(session, ReplyKind.INFO, self.say(session, key, **params))

    def confirm_heard(self, session: Session, heard: str, key: str = "readback") -> Reply:
        """ "I heard X. Is that right?" (or another yes-or-no ``key``), with yes and no."""
        return self.yes_no_question(session, self.say(session, key, heard=heard))

    def yes_no_question(self, session: Session, text: str) -> Reply:
        """A question answered yes or no, with both to press."""
        choices = (
            Choice(id="yes", label=self.say(session, "word_yes"), number=1),
            Choice(id="no", label=self.say(session, "word_no"), number=2),
        )
        return self.reply(session, ReplyKind.QUESTION, text, choices=choices)

    def problem(self, session: Session, key: str, **params: Any) -> Reply:
        """A plain explanation of why an answer was not taken."""
        return self.reply(session, ReplyKind.PROBLEM, self.say(session, key, **params))

    def _spoken_choices(self, session: Session, choices: Sequence[Choice]) -> str:
        return sentences(
            [self.say(session, "choice_line", number=c.number, label=c.label) for c in choices]
        )

    def format_value(self, session: Session, question: Question, value: Any) -> str:
        """An answer as a person would say it back (``assistant/dialog/values.py``)."""
        return said_value(question, value, session.language, partial(self.say, session))

    # -- whole prompts ----------------------------------------------------------------------

    def menu(self, session: Session, jobs: Sequence[Job]) -> Reply:
        """The list of things that can be made."""
        if not jobs:
            return self.reply(session, ReplyKind.MENU, self.say(session, "no_jobs"))
        choices = tuple(
            Choice(id=job.id, label=job.title.get(session.language), number=i)
            for i, job in enumerate(jobs, start=1)
        )
        text = self.say(session, "menu")
        speech = f"{text} {self._spoken_choices(session, choices)}"
        return self.reply(session, ReplyKind.MENU, text, speech=speech, choices=choices)

    def question_choices(self, session: Session, question: Question) -> tuple[Choice, ...]:
        """Numbered options of a question, when it has a closed set of answers."""
        if question.type == "choice":
            return tuple(
                Choice(id=c.id, label=c.label.get(session.language), number=i)
                for i, c in enumerate(question.choices, start=1)
            )
        if question.type == "yesno":
            return (
                Choice(id="yes", label=self.say(session, "word_yes"), number=1),
                Choice(id="no", label=self.say(session, "word_no"), number=2),
            )
        return ()

    def question(self, session: Session, job: Job, question: Question) -> Reply:
        """One question, with its number, its hints and its choices."""
        shown = visible_questions(job, session.answers)
        number = shown.index(question) + 1 if question in shown else len(shown)
        parts = [
            self.say(session, "question_number", number=number, count=len(shown)),
            question.prompt.get(session.language),
        ]
        hints = []
        if question.type == "choice":
            hints.append(self.say(session, "hint_choices"))
        elif question.type == "yesno":
            hints.append(self.say(session, "hint_yesno"))
        elif question.type == "list":
            hints.append(self.say(session, "hint_list"))
        elif question.type == "photo":
            hints.append(self.say(session, "hint_photo"))
        if not question.required:
            hints.append(self.say(session, "hint_optional"))
            if question.default is not None:
                value = self.format_value(session, question, question.default)
                hints.append(self.say(session, "hint_default", value=value))
        text = sentences([*parts, *hints])
        choices = self.question_choices(session, question)
        speech = sentences([*parts, self._spoken_choices(session, choices), *hints])
        reply = self.reply(
            session,
            ReplyKind.QUESTION,
            text,
            speech=speech,
            question_id=question.id,
            choices=choices,
        )
        yes, no = self.say(session, "word_yes"), self.say(session, "word_no")
        previous = typed_answer(
            question, session.answers.get(question.id), session.language, yes=yes, no=no
        )
        return dataclasses.replace(
            reply, previous=previous, expects=expects(question, session.language)
        )

    def confirm(self, session: Session, job: Job) -> Reply:
        """Every answer read back, then the question whether to make it."""
        lines = [self.say(session, "confirm_intro")]
        shown = visible_questions(job, session.answers)  # a hidden section is not read back
        for number, question in enumerate(shown, start=1):
            value = self.format_value(session, question, session.answers.get(question.id))
            lines.append(
                self.say(
                    session,
                    "confirm_item",
                    number=number,
                    question=question.prompt.get(session.language),
                    value=value,
                )
            )
        lines.append(self.say(session, "confirm_ask"))
        # Buttons for screens and chats: make it, or change answer N (N is what the user says).
        choices = (
            Choice(id="make", label=self.make_label[session.language], number=0),
            *(
                Choice(
                    id=question.id,
                    label=change_label(self.phrases, session.language, question, number),
                    number=number,
                )
                for number, question in enumerate(shown, start=1)
            ),
        )
        return self.reply(
            session, ReplyKind.CONFIRM, "\n".join(lines), speech=" ".join(lines), choices=choices
        )

    def generating(self, session: Session, job: Job, key: str = "generating") -> Reply:
        """Generation has started or is still running."""
        text = self.say(
            session, key, title=job.title.get(session.language), version=session.version + 1
        )
        return self.reply(session, ReplyKind.PROGRESS, text, progress=Progress(stage="queued"))

    def describe(self, session: Session, job: Job) -> Reply:
        """Auto mode's one question: everything at once, in the user's own words."""
        return self.reply(
            session,
            ReplyKind.QUESTION,
            self.say(session, "describe_prompt", title=job.title.get(session.language)),
        )

    def described(self, session: Session, job: Job, question_ids: Sequence[str]) -> Reply:
        """The answers the model picked out of a description, read back in one sentence."""
        items = sentences(
            [
                self.say(
                    session,
                    "described_item",
                    question=q.prompt.get(session.language),
                    value=self.format_value(session, q, session.answers.get(q.id)),
                )
                for q in job.questions
                if q.id in question_ids
            ]
        )
        return self.info(session, "described", items=items)
