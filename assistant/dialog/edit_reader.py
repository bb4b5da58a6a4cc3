"""An edit after delivery in words the phrase tables do not know, read by the language model.

"Could the shop's name be in larger letters at the top?" names the title and a size, but in no
phrasing the tables hold. The model is asked only when the tables found no edit and the words
are not one of the what-next choices; its answer is checked like any other: the part must be a
part, the question one of the job's (never a photo or a section's gate), and a value must pass
the question's own checks, or the question is asked instead. When it fails, is late or says
"none", the usual "please say a change, or make another, or finish" follows.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from assistant.dialog.answering import names_a_choice
from assistant.dialog.edits import has_look
from assistant.dialog.flow import LOW_CONFIDENCE, DialogFlow
from assistant.dialog.model_ask import ModelQuestion
from assistant.events import SessionState, Turn
from assistant.jobs.catalog import Job
from assistant.ports import INTERACTIVE_TIMEOUT_S, LanguageModel
from assistant.session import LOOK_PARTS, Session
from assistant.understanding.edits import (
    AnswerEdit,
    Edit,
    LookEdit,
    UndoEdit,
    editable,
    understand_edit,
)
from assistant.understanding.interpret import Answer, detect_command, interpret, match_choice

MAX_EDIT_TEXT = 300  # an edit is said in a sentence or two


def wants_model(flow: DialogFlow, session: Session, turn: Turn) -> bool:
    """Whether these words after delivery are for the model: free words that are no command,
    no what-next choice and no edit the phrase tables know, heard surely."""
    text = (turn.text or "").strip()
    if session.state != SessionState.DELIVERED or session.paused or session.pending is not None:
        return False
    if not text or len(text) > MAX_EDIT_TEXT or turn.event is not None or turn.command:
        return False
    if turn.confidence is not None and turn.confidence < LOW_CONFIDENCE:
        return False
    if detect_command(text) is not None or names_a_choice(flow, session, text):
        return False
    if match_choice(text, flow.delivered_question, session.language) is not None:
        return False
    job = flow.job(session)
    return understand_edit(job, text, session.language, flow.today(), looks=has_look(job)) is None


class EditReader(ModelQuestion):
    """Asks the model which change the words mean; None when it cannot say."""

    def __init__(
        self,
        model: LanguageModel,
        prompt_path: Path | None = None,
        timeout: float = INTERACTIVE_TIMEOUT_S,
    ) -> None:
        super().__init__(model, "edit_reading", prompt_path, timeout)

    async def read(
        self,
        job: Job,
        text: str,
        language: str,
        today: datetime.date,
        answers: dict[str, Any],
        *,
        looks: bool,
    ) -> Edit | None:
        questions = editable(job)
        ids = [q.id for q in questions]
        parts = list(LOOK_PARTS) if looks else []
        offered = {
            "questions": [
                {"id": q.id, "is": (q.name or q.prompt).get(language), "now": answers.get(q.id)}
                for q in questions
            ],
            "parts": parts,
        }
        schema = {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["look", "answer", "undo", "none"]},
                "part": {"type": ["string", "null"], "enum": [*parts, None]},
                "way": {"type": ["string", "null"], "enum": ["bigger", "smaller", None]},
                "question": {"type": ["string", "null"], "enum": [*ids, None]},
                "value": {"type": ["string", "null"], "maxLength": 200},
            },
            "required": ["kind", "part", "way", "question", "value"],
        }
        data = await self.ask(
            "What can change", offered, text[:MAX_EDIT_TEXT], schema, "edit not read"
        )
        if data is None:
            return None
        edit = _checked(job, data, parts, today, language)
        self.log_found(f"edit {edit} read")
        return edit

    def wanted(self, flow: DialogFlow, session: Session, turn: Turn) -> bool:
        """Whether to ask the model about this turn: it answers lately, and the words are
        for it (``wants_model``)."""
        return not self.model.recently_unreachable() and wants_model(flow, session, turn)

    async def read_after_delivery(
        self, flow: DialogFlow, session: Session, text: str
    ) -> Edit | None:
        """The edit the words mean for the session's delivered job."""
        job = flow.job(session)
        return await self.read(
            job, text, session.language, flow.today(), session.answers, looks=has_look(job)
        )


def _checked(
    job: Job, data: Any, parts: list[str], today: datetime.date, language: str
) -> Edit | None:
    """The model's answer as an edit, only where it holds (a server may ignore the schema)."""
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    if kind == "undo":
        return UndoEdit()
    if kind == "look" and data.get("part") in parts and data.get("way") in ("bigger", "smaller"):
        return LookEdit(str(data["part"]), 1 if data["way"] == "bigger" else -1)
    if kind != "answer":
        return None
    question = next((q for q in editable(job) if q.id == data.get("question")), None)
    if question is None:
        return None
    value = data.get("value")
    if isinstance(value, str) and value.strip():
        result = interpret(question, value, today, language)
        if isinstance(result, Answer):
            return AnswerEdit(question.id, result.value, True)
    return AnswerEdit(question.id)
