"""The preview works as the download does: the to-do list adds a task inside the preview, in
the web chat's iframe and at ``/p/<token>/`` alike, while the origin stays ``null``; and the
pre-delivery check uses a browser program, so one whose form is dead is not delivered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from assistant.jobs.catalog import JobCatalog
from assistant.session import GenerationRequest
from generators.browser import BrowserChecker
from generators.interactions import SAMPLE_TASK, add_item_and_total, add_task
from generators.program import ProgramGenerator
from generators.template import TemplateRenderer
from testing.browser import browser_checker, write_page
from testing.web_page import (
    WAIT_MS,
    WebServer,
    job_answers,
    make_it,
    wait_delivered,
    walk_job,
    web_server,
)

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]  # real Chromium


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebServer]:
    async with web_server(tmp_path_factory.mktemp("preview-forms"), language="en") as running:
        yield running


async def test_the_todo_list_adds_a_task_in_the_chat_preview_and_at_its_own_address(
    browser: BrowserChecker, server: WebServer
) -> None:
    job = server.services.jobs.jobs["todo_list"]
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await walk_job(page, job, "en", job_answers(job, "en"))
        await make_it(page)
        await wait_delivered(page)
        frame = page.frame_locator("#preview")
        await frame.locator("#new-item").fill("water the plants")
        await frame.locator("#new-item").press("Enter")
        await expect(frame.locator("#items")).to_contain_text("water the plants", timeout=WAIT_MS)
        origin = await page.frames[1].evaluate("() => String(self.origin)")
        preview = await page.locator("#preview").get_attribute("src")
        assert session.console_errors == ()
    assert origin == "null", "the preview cannot reach the service"
    async with browser.open(server.url + str(preview)) as session:
        page = session.page
        await add_task(page)  # the same use the pre-delivery check makes
        await expect(page.locator("#items")).to_contain_text(SAMPLE_TASK)
        assert await page.evaluate("() => String(self.origin)") == "null"
        assert session.console_errors == () and session.blocked_requests == ()


async def test_a_todo_list_whose_form_is_dead_is_not_delivered(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    (templates / "program").mkdir(parents=True)
    source = Path("generators/templates/program")
    for name in ("todo.html.j2", "README.md.j2"):
        text = (source / name).read_text(encoding="utf-8")
        if name == "todo.html.j2":  # the form's handler never runs: a page that loads but fails
            text = text.replace('form.addEventListener("submit"', 'form.addEventListener("x"')
        (templates / "program" / name).write_text(text, encoding="utf-8")
    generator = ProgramGenerator(TemplateRenderer(templates), browser)
    job = catalog.jobs["todo_list"]
    request = GenerationRequest("s", "todo_list", "en", job_answers(job, "en"), "dead", 1)
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(Exception, match="adding a task did not happen"):
        await generator.generate(job, request, folder)


async def test_the_check_reports_a_failed_use_of_the_page(
    browser: BrowserChecker, tmp_path: Path
) -> None:
    index = write_page(tmp_path, '<form id="add-form"><input id="new-item"></form><ul id="items">')
    result = await browser.check(index, interact=add_task)
    assert not result.passed and "using the page: adding a task did not happen" in result.detail


async def test_a_python_program_is_previewed_as_its_web_version_and_its_session_is_beside_it(
    browser: BrowserChecker, server: WebServer
) -> None:
    job = server.services.jobs.jobs["shopping_total"]
    request = GenerationRequest("s", job.id, "en", job_answers(job, "en"), "till", 1)
    artifact = await server.services.queue.make_now(request)
    assert not isinstance(artifact, Exception), artifact
    async with browser.open(f"{server.url}/p/{artifact.token}/", viewport=(360, 740)) as session:
        await add_item_and_total(session.page)  # the web app works in the sandboxed preview
        assert await session.page.evaluate("() => String(self.origin)") == "null"
        await session.page.goto(f"{server.url}/p/{artifact.token}/preview.html")
        await expect(session.page.locator("pre.transcript kbd").first).to_be_visible()
        assert session.console_errors == () and session.blocked_requests == ()
