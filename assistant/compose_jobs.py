"""The composition root's loading of jobs: the YAML files, and each job's template checked, so
a job whose template is missing is dropped with a reason rather than failing a delivery. Used by
the service at start, by ``assistant jobs`` and by the staff console's check of an edit.

At start it also finds again the versions that sessions in progress started (issue 16, part
J): the catalog holds those only in memory, and a restart must not move a session onto a
job whose questions changed under it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from assistant.config import Settings
from assistant.errors import JobDefinitionError
from assistant.jobs.catalog import Job, JobCatalog
from assistant.jobs.loader import job_digest, load_jobs, parse_job_text
from assistant.staff.job_editing import JobVersion, JobVersionStore
from generators.template import TemplateRenderer

_LOGGER = logging.getLogger(__name__)


def check_templates(catalog: JobCatalog, renderer: TemplateRenderer) -> list[JobDefinitionError]:
    """Jobs whose template file is missing, as job errors (the job is dropped from the catalog)."""
    errors = []
    for job in list(catalog.jobs.values()):
        if not renderer.has_template(job):
            errors.append(
                JobDefinitionError(
                    job.source, "template", f"{job.template} not found in generators/templates"
                )
            )
            del catalog.jobs[job.id]
    return errors


def checked_jobs(directory: Path, renderer: TemplateRenderer | None = None) -> JobCatalog:
    """The jobs of ``directory`` that load and have a template, with the problems of the
    rest (the service's loading, and the console's check of an edit in a copy)."""
    catalog = load_jobs(directory)
    catalog.errors.extend(check_templates(catalog, renderer or TemplateRenderer()))
    return catalog


def load_catalog(settings: Settings, renderer: TemplateRenderer) -> JobCatalog:
    """Jobs that load and have a template; problems are logged, not fatal."""
    catalog = checked_jobs(settings.jobs_dir, renderer)
    for error in catalog.errors:
        _LOGGER.error("job not loaded: %s", error.message)
    return catalog


def started_version(
    current: Job, digest: str, versions: Sequence[JobVersion], renderer: TemplateRenderer
) -> Job | str:
    """The job as the version with ``digest`` reads, or why it cannot serve (blocking)."""
    text = next((v.text for v in versions if job_digest(v.text) == digest), None)
    if text is None:
        return "its text is not among the saved versions (changed on disk by hand?)"
    try:
        job = parse_job_text(text, current.source)
    except JobDefinitionError as err:
        return f"it no longer loads: {err.message}"
    if job.id != current.id:
        return f"it names the job {job.id!r}"
    if not renderer.has_template(job):
        return f"its template {job.template} is gone from generators/templates"
    return job


async def hold_started_versions(
    catalog: JobCatalog, versions: JobVersionStore, renderer: TemplateRenderer | None = None
) -> int:
    """Put back in ``catalog.held`` the version each session in progress started, where its
    job changed since (read from the saved versions); returns how many sessions are held. A
    version that cannot serve is logged once and its sessions go on with the job as it is."""
    waiting: dict[tuple[str, str], list[str]] = {}
    for key, job_id, digest in await versions.started():
        current = catalog.jobs.get(job_id)
        # A job gone altogether sends its sessions to the menu (the flow); an unchanged one
        # needs nothing held.
        if current is not None and current.digest != digest:
            waiting.setdefault((job_id, digest), []).append(key)
    if not waiting:
        return 0
    renderer = renderer or TemplateRenderer()
    saved: dict[str, list[JobVersion]] = {}
    held = 0
    for (job_id, digest), keys in waiting.items():
        if job_id not in saved:
            saved[job_id] = await versions.versions(job_id)
        current = catalog.jobs[job_id]
        found = await asyncio.to_thread(started_version, current, digest, saved[job_id], renderer)
        if isinstance(found, str):
            _LOGGER.warning(
                "%d session(s) in job %s go on with its current version, not the one they "
                "started (%s): %s",
                len(keys), job_id, digest[:12], found,
            )  # fmt: skip
            continue
        if found == current:
            continue  # the text changed, the job did not (a comment)
        for key in keys:
            catalog.hold(key, found)
        held += len(keys)
    if held:
        _LOGGER.info("%d session(s) finish with the job version they started", held)
    return held
