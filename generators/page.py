"""The page generator: a job's HTML template, checked as markup and its scripts by node.

Pages are not loaded in Chromium before delivery (browser programs are): that keeps a page
within its 200 ms budget, and the test suite loads every page template in Chromium instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from assistant.jobs.catalog import Job
from assistant.ports import GeneratedFiles, ReportProgress
from assistant.session import GenerationRequest
from generators.artifact import conclude, palette_notes
from generators.checks.html import check_html
from generators.checks.javascript import check_javascript
from generators.checks.result import CheckResult
from generators.palette import Palette
from generators.template import TemplateRenderer


class PageGenerator:
    """HTML and CSS (with JavaScript where the job needs it) in one self-contained file."""

    def __init__(self, renderer: TemplateRenderer) -> None:
        self.renderer = renderer

    async def generate(
        self,
        job: Job,
        request: GenerationRequest,
        folder: Path,
        progress: ReportProgress | None = None,
        extra: dict[str, Any] | None = None,
    ) -> GeneratedFiles:
        """Render ``index.html``, then check its markup and any inline script."""
        text, palette, markup = await asyncio.to_thread(self._render, job, request, folder, extra)
        checks = [markup]
        if "<script" in text:
            checks.append(await check_javascript(folder / "index.html"))
        details = conclude(checks, [], {"notes": palette_notes(palette)})
        return GeneratedFiles(files=("index.html",), details=details)

    def _render(
        self, job: Job, request: GenerationRequest, folder: Path, extra: dict[str, Any] | None
    ) -> tuple[str, Palette, CheckResult]:
        """Render, write and check the markup in one trip to a worker thread: in a burst of
        deliveries each trip waits its turn on a busy event loop, and the markup check is a
        millisecond of parsing the loop need not do."""
        text, palette = self.renderer.render(job, request, None, extra)
        (folder / "index.html").write_text(text, encoding="utf-8")
        return text, palette, check_html(text)
