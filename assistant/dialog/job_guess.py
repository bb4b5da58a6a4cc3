"""A job named in the person's own words: the three stages put together, the model last.

``understand_job`` is what the menu does with free words (issue 14): the deterministic and
meaning stages (``assistant/understanding/job_choice.py``) first, in a worker thread, and the
model below only when they are unsure. When the model names the job the other stages only
thought likely, two opinions agree and the job starts; any other guess is asked back.

"I'd like something for my bakery's customers to see online" names no menu item, but a model
can tell it means the web page. Its guess is never acted on directly: the session holds it
for a yes or no ("I heard “Web page”. Is that right?"), exactly like a job heard unsurely, so
a wrong guess costs one "no". The model is asked only after the deterministic path found
nothing, only at the menu, and within the interactive bound; when it fails, is late or names
nothing on the menu, the menu's usual "I did not understand" follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from assistant.dialog.flow import LOW_CONFIDENCE, DialogFlow
from assistant.dialog.model_ask import ModelQuestion
from assistant.events import SessionState, Turn
from assistant.jobs.catalog import Job
from assistant.ports import INTERACTIVE_TIMEOUT_S, LanguageModel
from assistant.session import PendingJob, Session
from assistant.understanding.interpret import detect_command, parse_yes_no
from assistant.understanding.job_choice import JobChooser, JobUnderstanding, Verdict

MAX_GUESS_TEXT = 300  # a job is named in a sentence or two; longer text is not a job name


def names_job(flow: DialogFlow, session: Session, turn: Turn) -> bool:
    """Whether this menu turn is free words that may name a job: not a command, not an
    yes or no to a read-back, not silence, not a recogniser's unsure guess (read back as is)."""
    text = (turn.text or "").strip()
    if session.state != SessionState.CHOOSE_JOB or session.paused:
        return False
    if session.pending is not None and (
        not isinstance(session.pending, PendingJob) or parse_yes_no(text) is not None
    ):
        return False
    if not text or len(text) > MAX_GUESS_TEXT or turn.event is not None or turn.command:
        return False
    if turn.confidence is not None and turn.confidence < LOW_CONFIDENCE:
        return False
    return detect_command(text) is None


async def understand_job(
    chooser: JobChooser,
    guesser: JobGuesser | None,
    text: str,
    language: str,
    menu_match: str | None,
    before_model: Callable[[], Awaitable[None]] | None = None,
) -> JobUnderstanding:
    """Stages 1-2 in a worker thread, then the model when they are unsure and it answers.

    ``before_model`` runs just before the model is asked (the manager says "one moment")."""
    found = await asyncio.to_thread(chooser.understand, text, language, menu_match=menu_match)
    if found.sure or guesser is None or guesser.model.recently_unreachable():
        return found
    if before_model is not None:
        await before_model()
    guessed = await guesser.guess(text, chooser.jobs, language)
    if guessed is None:
        return found
    if guessed == found.job_id:  # the model agrees with what was only likely
        return JobUnderstanding(Verdict.START, guessed, "model", found.score)
    return JobUnderstanding(Verdict.ASK, guessed, "model", found.score)


class JobGuesser(ModelQuestion):
    """Asks the model which menu item the words mean; None when it cannot say."""

    def __init__(
        self,
        model: LanguageModel,
        prompt_path: Path | None = None,
        timeout: float = INTERACTIVE_TIMEOUT_S,
    ) -> None:
        super().__init__(model, "job_choice", prompt_path, timeout)

    async def guess(self, text: str, jobs: Sequence[Job], language: str) -> str | None:
        ids = [job.id for job in jobs]
        menu = [
            {"id": j.id, "title": j.title.get(language), "makes": j.description.get(language)}
            for j in jobs
        ]
        schema = {
            "type": "object",
            "properties": {"job": {"type": ["string", "null"], "enum": [*ids, None]}},
            "required": ["job"],
        }
        data = await self.ask("The menu", menu, text[:MAX_GUESS_TEXT], schema, "job not guessed")
        job_id = data.get("job") if isinstance(data, dict) else None
        if job_id not in ids:  # a server that ignored the schema
            return None
        self.log_found(f"job {job_id} guessed")
        return str(job_id)
