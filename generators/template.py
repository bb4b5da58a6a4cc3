"""The template generator: a job's jinja2 template rendered with the confirmed answers.

This is the guaranteed result every job has; richer generators build on it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import jinja2

from assistant.errors import GenerationError
from assistant.jobs import Job
from assistant.ports import GeneratedFiles
from assistant.session import GenerationRequest
from generators.render import TEMPLATES_DIR, make_environment, output_name


def template_context(job: Job, request: GenerationRequest) -> dict[str, Any]:
    """The variables every template receives (see generators/templates/README.md)."""
    labels = {}
    for question in job.questions:
        if question.type == "choice":
            choice = question.choice(str(request.answers.get(question.id)))
            if choice is not None:
                labels[question.id] = choice.label.get(request.language)
    answers = {q.id: request.answers.get(q.id, q.default) for q in job.questions}
    return {
        "answers": answers,
        "labels": labels,
        "lang": request.language,
        "title": job.title.get(request.language),
    }


class TemplateGenerator:
    """Renders ``job.template`` into the artifact folder."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.templates_dir = templates_dir
        self.environment = make_environment(templates_dir)

    def has_template(self, job: Job) -> bool:
        """Whether the job's template file exists (checked by ``assistant jobs validate``)."""
        return (self.templates_dir / job.template).is_file()

    def render(self, job: Job, request: GenerationRequest) -> str:
        """The rendered main file (blocking)."""
        try:
            template = self.environment.get_template(job.template)
            return template.render(template_context(job, request))
        except jinja2.TemplateNotFound as err:
            raise GenerationError(
                f"{job.source}: template {job.template} not found", code="template_missing"
            ) from err
        except jinja2.TemplateError as err:
            raise GenerationError(
                f"template {job.template} failed: {err}", code="template_failed"
            ) from err

    def _write(self, job: Job, request: GenerationRequest, folder: Path) -> GeneratedFiles:
        name = output_name(job.template)
        (folder / name).write_text(self.render(job, request), encoding="utf-8")
        return GeneratedFiles(files=(name,), details={"renderer": "jinja2"})

    async def generate(self, job: Job, request: GenerationRequest, folder: Path) -> GeneratedFiles:
        """Render off the event loop and write the file."""
        return await asyncio.to_thread(self._write, job, request, folder)
