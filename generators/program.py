"""The program generator: Python or JavaScript from a template, with a README, run and checked.

Python runs its own ``--self-test`` in the sandbox; JavaScript passes ``node --check``, and a
browser program also loads in Chromium without errors. A Python program gets a preview page
showing its README, its code and what it prints when started.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

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
from generators.sandbox import run_sandboxed, sandbox_python
from generators.template import TemplateRenderer

README_TEMPLATE = "program/README.md.j2"
PREVIEW_TEMPLATE = "preview/program.html.j2"


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
        """Render the program and its README, then check and try it."""
        main = output_name(job.template)
        code, palette = await asyncio.to_thread(self.renderer.render, job, request, None, extra)
        readme, _ = await asyncio.to_thread(self.renderer.render, job, request, README_TEMPLATE)
        await write_text(folder, main, code)
        await write_text(folder, "README.md", readme)
        checks: list[CheckResult] = []
        skipped: list[str] = []
        details: dict[str, object] = {"notes": palette_notes(palette)}
        if main.endswith(".py"):
            checks.append(await check_python(folder, main))
            if checks[-1].passed:
                sample = await self._sample_run(folder, main)
                extra = {"code": code, "readme": readme, "sample_run": sample}
                preview, _ = await asyncio.to_thread(
                    self.renderer.render, job, request, PREVIEW_TEMPLATE, extra
                )
                await write_text(folder, "preview.html", preview)
        else:
            checks.append(await check_javascript(folder / main))
            if main.endswith(".html"):
                checks.append(check_html(code))
                if self.browser is not None:
                    interact = interaction_for(job.template)
                    checks.append(await self.browser.check(folder / main, interact=interact))
                else:
                    skipped.append("browser: Chromium is not installed (apt-get install chromium)")
        details = conclude(checks, skipped, details)
        return GeneratedFiles(files=(main, "README.md"), details=details)

    @staticmethod
    async def _sample_run(folder: Path, main: str) -> str:
        """What the program prints when started and given nothing: its greeting and usage."""
        result = await run_sandboxed(
            [sandbox_python(), "-s", "-B", main], files_from=folder, timeout=5.0, stdin=b""
        )
        return result.stdout[-4000:]
