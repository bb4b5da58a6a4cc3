"""The composition root: builds the store, the dialog, the queue and the generators.

Only this module and ``cli`` may import ``channels`` and ``generators``; everything else in
``assistant`` sees them through the ports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from assistant.config import Settings
from assistant.dialog import DialogManager
from assistant.errors import JobDefinitionError
from assistant.i18n import Phrases, load_phrases
from assistant.jobs import JobCatalog, load_jobs
from assistant.queue import GenerationQueue
from assistant.store import SQLiteStore
from generators.template import TemplateGenerator

_LOGGER = logging.getLogger(__name__)


def check_templates(catalog: JobCatalog, generator: TemplateGenerator) -> list[JobDefinitionError]:
    """Jobs whose template file is missing, as job errors (the job is dropped from the catalog)."""
    errors = []
    for job in list(catalog.jobs.values()):
        if not generator.has_template(job):
            errors.append(
                JobDefinitionError(
                    job.source, "template", f"{job.template} not found in generators/templates"
                )
            )
            del catalog.jobs[job.id]
    return errors


def load_catalog(settings: Settings, generator: TemplateGenerator) -> JobCatalog:
    """Jobs that load and have a template; problems are logged, not fatal."""
    catalog = load_jobs(settings.jobs_dir)
    catalog.errors.extend(check_templates(catalog, generator))
    for error in catalog.errors:
        _LOGGER.error("job not loaded: %s", error.message)
    return catalog


@dataclass
class Services:
    """Everything a running assistant needs, wired together."""

    settings: Settings
    jobs: JobCatalog
    phrases: Phrases
    store: SQLiteStore
    manager: DialogManager
    queue: GenerationQueue

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Wire the parts; nothing is opened or started yet."""
        generator = TemplateGenerator()
        jobs = load_catalog(settings, generator)
        phrases = load_phrases(settings.locales_dir)
        store = SQLiteStore(settings.database_path)
        manager = DialogManager(
            jobs=jobs, phrases=phrases, store=store, default_language=settings.language
        )
        queue = GenerationQueue(
            store=store,
            jobs=jobs,
            generators={"page": generator, "program": generator},
            artifacts_dir=settings.artifacts_dir,
            on_delivered=manager.deliver,
            on_failed=manager.generation_failed,
            workers=settings.workers,
            timeout=settings.generation_timeout,
        )
        manager.on_enqueue = queue.wake
        return cls(settings, jobs, phrases, store, manager, queue)

    async def start(self) -> None:
        """Open the database and start the generation workers."""
        await self.store.open()
        await self.queue.start()

    async def stop(self) -> None:
        """Stop the workers and close the database."""
        await self.queue.stop()
        await self.store.close()
