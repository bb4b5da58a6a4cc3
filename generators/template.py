"""The template renderer: a job's jinja2 template filled with the confirmed answers.

Every job's template alone makes the guaranteed result; richer generators build on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from assistant.errors import GenerationError
from assistant.jobs.catalog import Job
from assistant.jobs.conditions import with_defaults
from assistant.session import GenerationRequest
from generators.palette import Palette
from generators.render import TEMPLATES_DIR, make_environment


def template_context(job: Job, request: GenerationRequest, palette: Palette) -> dict[str, Any]:
    """The variables every template receives (see README "Jobs: what staff edit")."""
    labels = {}
    for question in job.questions:
        if question.type == "choice":
            choice = question.choice(str(request.answers.get(question.id)))
            if choice is not None:
                labels[question.id] = choice.label.get(request.language)
    # A question a ``when:`` hid carries its default, whatever was stored for it.
    answers = with_defaults(job, request.answers)
    return {
        "answers": answers,
        "labels": labels,
        "lang": request.language,
        "title": job.title.get(request.language),
        "description": job.description.get(request.language),
        "run": job.language,
        "palette": palette,
        "link": request.link,  # the page's public link, when known before generation
        "enriched": None,  # the language model's additions, when it helped (generators/enrich)
        "photos": {},  # question id -> {src, alt, width, height}: answered photos (issue 15, U)
    }


class TemplateRenderer:
    """Renders templates from ``generators/templates`` (or another folder, for tests)."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.templates_dir = templates_dir
        self.environment = make_environment(templates_dir)

    def has_template(self, job: Job) -> bool:
        """Whether the job's template file exists (checked by ``assistant jobs validate``)."""
        return (self.templates_dir / job.template).is_file()

    def render(
        self,
        job: Job,
        request: GenerationRequest,
        template: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, Palette]:
        """One rendered file and the palette that recorded its colour choices."""
        name = template or job.template
        palette = Palette()
        context = {**template_context(job, request, palette), **(extra or {})}
        try:
            text = self.environment.get_template(name).render(context)
        except jinja2.TemplateNotFound as err:
            raise GenerationError(
                f"{job.source}: template {name} not found", code="template_missing"
            ) from err
        except jinja2.TemplateError as err:
            raise GenerationError(f"template {name} failed: {err}", code="template_failed") from err
        return text, palette
