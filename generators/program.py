"""The program generator: Python or JavaScript from a template, with a README, run and checked.

Python runs its own ``--self-test`` in the sandbox; JavaScript passes ``node --check``, and a
browser program also loads in Chromium without errors and is used there as a person would
(``generators/interactions.py``). A Python program whose template has a web twin
(``program/shopping.py.j2`` -> ``program/shopping.html.j2``) also delivers that web version
as ``index.html``, so it runs on a phone; the web version is then the preview. A Python
program's own preview (``preview.html``) shows a real session with it as a terminal
transcript, its README as HTML and its code, folded.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from assistant.jobs.catalog import Job
from assistant.ports import GeneratedFiles, ReportProgress
from assistant.session import GenerationRequest
from generators.artifact import conclude, palette_notes, write_text
from generators.browser import BrowserChecker
from generators.checks.html import check_html
from generators.checks.javascript import check_javascript
from generators.checks.python import check_python
from generators.checks.result import CheckResult
from generators.interactions import interaction_for
from generators.render import output_name
from generators.template import TemplateRenderer
from generators.transcript import run_transcript, session_script

README_TEMPLATE = "program/README.md.j2"
PREVIEW_TEMPLATE = "preview/program.html.j2"
WEB_VERSION = "index.html"


def web_twin(template: str) -> str | None:
    """The web version's template of a Python program's template, by name."""
    return template[: -len(".py.j2")] + ".html.j2" if template.endswith(".py.j2") else None


def readme_html(readme: str) -> str:
    """The README as HTML for the preview: CommonMark with raw HTML escaped, never passed."""
    return MarkdownIt("commonmark", {"html": False}).render(readme)


class ProgramGenerator:
    """A program users can run at home, that runs as it is and explains itself."""

    def __init__(self, renderer: TemplateRenderer, browser: BrowserChecker | None) -> None:
        self.renderer = renderer
        self.browser = browser

    async def generate(
        self,
        job: Job,
        request: GenerationRequest,
        folder: Path,
        progress: ReportProgress | None = None,
        extra: dict[str, Any] | None = None,
    ) -> GeneratedFiles:
        """Render the program (and its web version) and its README, then check and try them."""
        main = output_name(job.template)
        twin = web_twin(job.template)
        if twin is not None and not (self.renderer.templates_dir / twin).is_file():
            twin = None
        code, palette = await asyncio.to_thread(self.renderer.render, job, request, None, extra)
        readme_extra = {"web_version": twin is not None}
        readme, _ = await asyncio.to_thread(
            self.renderer.render, job, request, README_TEMPLATE, readme_extra
        )
        await write_text(folder, main, code)
        await write_text(folder, "README.md", readme)
        files = [main, "README.md"]
        checks: list[CheckResult] = []
        skipped: list[str] = []
        details: dict[str, object] = {"notes": palette_notes(palette)}
        if main.endswith(".py"):
            checks.append(await check_python(folder, main))
            if checks[-1].passed:
                await self._preview(job, request, folder, main, code, readme)
        else:
            await self._check_page(job.template, folder, main, code, checks, skipped)
        if twin is not None:
            page, _ = await asyncio.to_thread(self.renderer.render, job, request, twin, extra)
            await write_text(folder, WEB_VERSION, page)
            files.insert(0, WEB_VERSION)
            await self._check_page(twin, folder, WEB_VERSION, page, checks, skipped)
        details = conclude(checks, skipped, details)
        return GeneratedFiles(files=tuple(files), details=details)

    async def _check_page(
        self,
        template: str,
        folder: Path,
        name: str,
        text: str,
        checks: list[CheckResult],
        skipped: list[str],
    ) -> None:
        """A browser program: its scripts parse, its HTML is clean, and it works in Chromium."""
        checks.append(await check_javascript(folder / name))
        if not name.endswith(".html"):
            return
        checks.append(check_html(text))
        if self.browser is None:
            skipped.append("browser: Chromium is not installed (apt-get install chromium)")
            return
        checks.append(await self.browser.check(folder / name, interact=interaction_for(template)))

    async def _preview(
        self, job: Job, request: GenerationRequest, folder: Path, main: str, code: str, readme: str
    ) -> None:
        """``preview.html``: a real session with the program, its README and its code."""
        script = session_script(job.template, request.answers)
        transcript = await run_transcript(folder, script or [])
        extra = {
            "code": code,
            "readme_html": readme_html(readme),
            "transcript": transcript,
            "main": main,
        }
        preview, _ = await asyncio.to_thread(
            self.renderer.render, job, request, PREVIEW_TEMPLATE, extra
        )
        await write_text(folder, "preview.html", preview)
