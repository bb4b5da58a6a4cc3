"""The page generator: a job's HTML template, checked as markup and its scripts by node.

Pages are not loaded in Chromium before delivery (browser programs are): that keeps a page
within its 200 ms budget, and the test suite loads every page template in Chromium instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from assistant.jobs.catalog import Job
from assistant.photos import PhotoStore
from assistant.ports import GeneratedFiles, ReportProgress
from assistant.session import GenerationRequest
from generators.artifact import conclude, palette_notes, write_text
from generators.checks.html import check_html
from generators.checks.javascript import check_javascript
from generators.photos import copy_photos
from generators.template import TemplateRenderer


class PageGenerator:
    """HTML and CSS (with JavaScript where the job needs it) in one self-contained file."""

    def __init__(self, renderer: TemplateRenderer, photos: PhotoStore | None = None) -> None:
        self.renderer = renderer
        self.photos = photos  # where the user's pictures wait (issue 15, part U)

    async def generate(
        self,
        job: Job,
        request: GenerationRequest,
        folder: Path,
        progress: ReportProgress | None = None,
        extra: dict[str, Any] | None = None,
    ) -> GeneratedFiles:
        """Copy the answered photos, render ``index.html``, then check its markup and any
        inline script."""
        photos = await asyncio.to_thread(copy_photos, self.photos, job, request, folder)
        extra = {**(extra or {}), "photos": photos.context}
        text, palette = await asyncio.to_thread(self.renderer.render, job, request, None, extra)
        await write_text(folder, "index.html", text)
        checks = [check_html(text)]
        if "<script" in text:
            checks.append(await check_javascript(folder / "index.html"))
        details = conclude(checks, [], {"notes": palette_notes(palette)})
        if photos.files:
            details["inputs"] = {"photos": list(photos.files)}
        return GeneratedFiles(files=("index.html", *photos.files), details=details)
