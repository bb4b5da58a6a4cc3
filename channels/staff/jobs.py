"""The staff console's jobs screen (issue 16, part J): status, editing, history, rollback.

Viewers see every job and every file that failed to load, a job's YAML, a preview of its
questions in both languages and its history with diffs; only admins edit or roll back. An
edit is checked by the real loader before anything changes (``assistant/staff/
job_editing.py``); a good one is saved as a version and the running service reloads its
jobs at once, while sessions already in the job finish with the version they started.
"""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

from aiohttp import web
from aiohttp_session import get_session

from assistant.errors import JobDefinitionError
from assistant.jobs.catalog import Job
from assistant.staff.audit import AuditAction
from assistant.staff.job_editing import (
    JobEditor,
    JobRefusedError,
    JobVersion,
    read_with_time,
    unified_diff,
)
from channels.staff import app as console_app
from channels.staff.guard import STAFF_KEY, csrf_token, language, require_role, say
from channels.staff.parts import ConsoleParts, parts

# One save or rollback at a time: each checks, writes and reloads against the folder as
# the one before it left it.
_SAVING = web.AppKey("staff_jobs_saving", asyncio.Lock)


def _editor(console: ConsoleParts) -> JobEditor:
    if console.load_jobs_from is None or console.reload_jobs is None:
        raise web.HTTPServiceUnavailable(text="jobs cannot be reloaded in this console")
    return JobEditor(
        console.jobs_dir,
        console.store.job_versions(),
        console.load_jobs_from,
        console.reload_jobs,
    )


def _job(request: web.Request) -> tuple[ConsoleParts, Job, Path]:
    console = parts(request)
    job = console.jobs.jobs.get(request.match_info["job_id"])
    if job is None:
        raise web.HTTPNotFound(text=say(request, "jobs.unknown"))
    return console, job, Path(job.source)


async def _text_of(path: Path) -> str:
    """A job file's text as it is on disk ("" when it is gone)."""
    found = await asyncio.to_thread(read_with_time, path)
    return found[0] if found else ""


@require_role("viewer")
async def job_list(request: web.Request) -> web.Response:
    """Every job with its status, and every file that failed to load with its problems."""
    console = parts(request)
    return console_app.render(
        request,
        "jobs.html",
        title=say(request, "jobs.title"),
        jobs=console.jobs.ordered(),
        errors=console.jobs.errors,
        name_of=lambda source: Path(source).name,
    )


def _diff_of(history: list[JobVersion], number: int) -> str:
    """The change a version made to the one before it ("" for the first)."""
    by_number = {version.version: version for version in history}
    if number not in by_number or number - 1 not in by_number:
        return ""
    before, after = by_number[number - 1], by_number[number]
    return unified_diff(before.text, after.text, f"v{before.version}", f"v{after.version}")


@require_role("viewer")
async def job_page(request: web.Request) -> web.Response:
    """A job's YAML, its questions in both languages, its versions and a diff."""
    console, job, path = _job(request)
    history = await _editor(console).history(job.id)
    try:
        shown = int(request.query.get("version", history[-1].version if history else 0))
    except ValueError:
        shown = 0
    account = request[STAFF_KEY]
    return console_app.render(
        request,
        "jobs_job.html",
        title=say(request, "jobs.job_title", job=job.title.get(language(request))),
        job=job,
        text=await _text_of(path),
        history=list(reversed(history)),
        shown=shown,
        diff=_diff_of(history, shown),
        can_edit=account.role == "admin",
        saved=request.query.get("saved", "")[:6]
        if request.query.get("saved", "").isdigit()
        else "",
        when=lambda at: datetime.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M"),
        csrf=csrf_token(await get_session(request)),
    )


async def _edit_page(
    request: web.Request,
    job: Job,
    text: str,
    note: str = "",
    errors: list[JobDefinitionError] | None = None,
) -> web.Response:
    """The edit form; with ``errors`` it is a refusal (422) and keeps the text as sent."""
    return console_app.render(
        request,
        "jobs_edit.html",
        status=422 if errors else 200,
        title=say(request, "jobs.edit_title", job=job.id),
        job=job,
        text=text,
        note=note,
        errors=errors or [],
        csrf=csrf_token(await get_session(request)),
    )


@require_role("admin")
async def edit_form(request: web.Request) -> web.Response:
    """The job's YAML in a text box."""
    _, job, path = _job(request)
    return await _edit_page(request, job, await _text_of(path))


async def _record(request: web.Request, action: str, job_id: str, version: int, note: str) -> None:
    account = request[STAFF_KEY]
    await parts(request).audit.record(
        account.name,
        account.role,
        action,
        address=request.remote or "",
        detail={"job": job_id, "version": version, "note": note},
    )


@require_role("admin")
async def edit(request: web.Request) -> web.Response:
    """Save the YAML as a new version, or refuse it with every problem (422, text kept)."""
    console, job, path = _job(request)
    form = await request.post()
    text, note = str(form.get("text", "")), str(form.get("note", ""))[:200]
    try:
        async with request.config_dict[_SAVING]:
            saved = await _editor(console).save(job.id, path, text, request[STAFF_KEY].name, note)
    except JobRefusedError as refused:
        return await _edit_page(request, job, text, note, refused.errors)
    await _record(request, AuditAction.JOB_SAVED, job.id, saved.version, note)
    raise web.HTTPSeeOther(f"/staff/jobs/{job.id}?lang={language(request)}&saved={saved.version}")


@require_role("admin")
async def roll_back(request: web.Request) -> web.Response:
    """That version's text again, as a new version (checked and reloaded like an edit)."""
    console, job, path = _job(request)
    try:
        number = int(request.match_info["version"])
        async with request.config_dict[_SAVING]:
            saved = await _editor(console).roll_back(job.id, path, number, request[STAFF_KEY].name)
    except (ValueError, KeyError) as err:
        raise web.HTTPNotFound(text=say(request, "jobs.unknown_version")) from err
    except JobRefusedError as refused:
        return await _edit_page(request, job, await _text_of(path), "", refused.errors)
    await _record(request, AuditAction.JOB_ROLLED_BACK, job.id, saved.version, saved.note)
    raise web.HTTPSeeOther(f"/staff/jobs/{job.id}?lang={language(request)}&saved={saved.version}")


def add_routes(app: web.Application) -> None:
    """The jobs screen's routes, in the console app (mounted at ``/staff/``)."""
    app[_SAVING] = asyncio.Lock()
    app.router.add_get("/jobs", job_list)
    app.router.add_get("/jobs/{job_id}", job_page)
    app.router.add_get("/jobs/{job_id}/edit", edit_form)
    app.router.add_post("/jobs/{job_id}/edit", edit)
    app.router.add_post("/jobs/{job_id}/rollback/{version}", roll_back)
