"""The menu: a job chosen by number, by name or in the person's own words (issue 14).

What the words name is worked out by ``assistant/understanding/job_choice.py`` (and, in the
manager, the model); here the verdict is acted on: a clear winner starts its job, a close call
is asked back ("Did you mean “Café web page”?": yes starts it, no lists the menu), a clear
miss lists the menu. A read-back of a job heard unsurely by the recogniser is settled first.
Kept apart from the flow, which decides which state handles a turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.dialog import utterances as said
from assistant.events import SessionState
from assistant.jobs.catalog import Job, JobChoice, LocalizedText, Question
from assistant.session import PendingJob, Session
from assistant.understanding.interpret import match_choice, parse_yes_no
from assistant.understanding.job_choice import JobUnderstanding, Verdict

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow, Step


def settle_read_back(flow: DialogFlow, session: Session, text: str, step: Step) -> str | None:
    """A yes or no to a job held at the menu: the job on yes; on no, what to say is set.

    Anything else (another job's name, say) drops the held job and is understood afresh."""
    held, session.pending = session.pending, None
    assert isinstance(held, PendingJob)
    verdict = parse_yes_no(text)
    if verdict is False:
        # "Did you mean …?" "No.": the list, rather than "say it again".
        key = "job_guess_declined" if held.guessed else "readback_again"
        step.said = [said.info(key), flow.prompt(session)]
    elif verdict and held.job_id in flow.jobs.jobs:
        return held.job_id
    return None


def choose_job(
    flow: DialogFlow,
    session: Session,
    text: str,
    step: Step,
    understood: JobUnderstanding | None = None,
) -> None:
    """One turn at the menu: start a job, ask back a close call, or list the menu."""
    jobs = flow.jobs.ordered()
    job_id = None
    if isinstance(session.pending, PendingJob):  # "I heard “Quiz program”. Is that right?"
        job_id = settle_read_back(flow, session, text, step)
        if step.said:
            return
    if job_id is None and jobs:
        if understood is None:
            understood = by_words(flow, session, text)
        if understood.job_id in flow.jobs.jobs:
            if understood.verdict == Verdict.ASK:
                assert understood.job_id is not None
                session.pending = PendingJob(understood.job_id, guessed=True)
                step.said = [flow.prompt(session)]
                return
            if understood.verdict == Verdict.START:
                job_id = understood.job_id
    if job_id is None:
        step.said = [said.problem("menu_not_understood", count=len(jobs)), flow.prompt(session)]
        return
    start_job(flow, session, job_id, step)


def start_job(flow: DialogFlow, session: Session, job_id: str, step: Step) -> None:
    """The chosen job begins: its first question, or its description prompt."""
    flow.reset(session)
    flow.jobs.release(session.key)  # a job started now is the job as it is now
    session.job_id = job_id
    session.state = SessionState.ASK
    job = flow.job(session)
    session.job_digest = job.digest  # the version it finishes with, after a restart too
    if flow.can_describe(job) and session.preferences.get("answer_mode") != "dialog":
        session.state = SessionState.DESCRIBE
    title = job.title.get(session.language)
    step.said = [
        said.info("job_chosen", title=title, count=len(flow.shown(session))),
        flow.prompt(session),
    ]


def by_words(flow: DialogFlow, session: Session, text: str) -> JobUnderstanding:
    """The job the words alone name (number, name, example, reading), the menu's own
    matching (``match_choice``) first, as always.

    Never by meaning here: this runs on the event loop, and the embedder may be busy
    with the start-up warm-up for a minute (its lock held), which froze every session and
    Ctrl-C with it. Meaning and the model are the manager's, off the loop, for the turns
    it judges worth it (``job_guess.names_job``); an unsure hearing is not guessed."""
    menu_match = match_choice(text, flow.menu_question, session.language)
    return flow.chooser.by_words(text, session.language, menu_match=menu_match)


def as_question(jobs: list[Job]) -> Question:
    """The job list as a choice question, so jobs are picked by number or name like answers."""
    choices = tuple(
        JobChoice(id=job.id, label=job.title, readings=(job.id.replace("_", " "),)) for job in jobs
    )
    placeholder = LocalizedText(ja="", en="")
    return Question(id="_job", type="choice", prompt=placeholder, choices=choices)
