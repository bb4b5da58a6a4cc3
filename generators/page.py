"""The page generator: a job's HTML template, checked as markup and its scripts by node.

Pages are not loaded in Chromium before delivery (browser programs are): that keeps a page
within its 200 ms budget, and the test suite loads every page template in Chromium instead.
A page whose job asks for an event day and start time also gets ``event.ics``, its "add to
calendar" file (generators/calendar.py), from the same answers the page shows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.jobs.catalog import Job
from assistant.photos import PhotoStore
from assistant.ports import GeneratedFiles, ReportProgress
from assistant.session import GenerationRequest
from generators.artifact import conclude, palette_notes
from generators.calendar import DEFAULT_TIME_ZONE, calendar_for
from generators.checks.html import check_html
from generators.checks.javascript import check_javascript
from generators.checks.result import CheckResult
from generators.look import with_look
from generators.palette import Palette
from generators.photos import copy_photos
from generators.template import TemplateRenderer

CALENDAR_FILE = "event.ics"
EVENT_QUESTIONS = {"event_date", "start_time"}


@dataclass(frozen=True, slots=True)
class _Built:
    """What the worker-thread trip made: the page, its colours, its markup check, its files."""

    text: str
    palette: Palette
    markup: CheckResult
    files: tuple[str, ...]
    photos: tuple[str, ...]


class PageGenerator:
    """HTML and CSS (with JavaScript where the job needs it) in one self-contained file."""

    def __init__(
        self,
        renderer: TemplateRenderer,
        time_zone: str = DEFAULT_TIME_ZONE,
        photos: PhotoStore | None = None,
    ) -> None:
        self.renderer = renderer
        self.time_zone = time_zone
        self.photos = photos  # where the user's pictures wait (issue 15, part U)

    async def generate(
        self,
        job: Job,
        request: GenerationRequest,
        folder: Path,
        progress: ReportProgress | None = None,
        extra: dict[str, Any] | None = None,
    ) -> GeneratedFiles:
        """Copy the answered photos, render ``index.html`` (and an event's calendar file), then
        check its markup and any inline script."""
        built = await asyncio.to_thread(self._render, job, request, folder, extra)
        checks = [built.markup]
        if "<script" in built.text:
            checks.append(await check_javascript(folder / "index.html"))
        details = conclude(checks, [], {"notes": palette_notes(built.palette)})
        if built.photos:
            details["inputs"] = {"photos": list(built.photos)}
        return GeneratedFiles(files=(*built.files, *built.photos), details=details)

    def _render(
        self, job: Job, request: GenerationRequest, folder: Path, extra: dict[str, Any] | None
    ) -> _Built:
        """Everything up to the script check in one trip to a worker thread: in a burst of
        deliveries each trip waits its turn on a busy event loop, and the markup check is a
        millisecond of parsing the loop need not do."""
        photos = copy_photos(self.photos, job, request, folder)
        text, palette = self.renderer.render(
            job, request, None, {**(extra or {}), "photos": photos.context}
        )
        text = with_look(text, request.look)  # "make the title bigger", after delivery
        (folder / "index.html").write_text(text, encoding="utf-8")
        files = ["index.html"]
        calendar = self.calendar(job, request)
        if calendar is not None:
            (folder / CALENDAR_FILE).write_bytes(calendar)
            files.append(CALENDAR_FILE)
        return _Built(text, palette, check_html(text), tuple(files), tuple(photos.files))

    def calendar(self, job: Job, request: GenerationRequest) -> bytes | None:
        """The .ics for an event job; one UID for every version of the artifact (its series),
        so a corrected version updates the entry a calendar already holds."""
        if not EVENT_QUESTIONS.issubset(question.id for question in job.questions):
            return None
        answers = {q.id: request.answers.get(q.id, q.default) for q in job.questions}
        return calendar_for(
            answers,
            request.language,
            uid=f"{request.series}@facility-assistant",
            sequence=request.version - 1,
            time_zone=self.time_zone,
            link=request.link,
        )
