"""The composition root's loading of jobs: the YAML files, and each job's template checked, so
a job whose template is missing is dropped with a reason rather than failing a delivery. Used by
the service at start, by ``assistant jobs`` and by the staff console's check of an edit."""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.config import Settings
from assistant.errors import JobDefinitionError
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.loader import load_jobs
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
