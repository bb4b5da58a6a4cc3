"""The jobs screen in real Chromium (issue 16, part J): signed in as an admin by keyboard,
the list, a job's page and its edit page pass axe-core (WCAG 2.0-2.2 A and AA); an edit made
in the page changes the next session's question with no restart, a broken one is refused in
an alert, and the history's "Restore v1" brings the old question back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from assistant.compose import Services
from assistant.events import Turn
from generators.browser import BrowserChecker
from testing.staff_browser import tab_to
from testing.staff_console import PASSWORD, running_console
from tests.test_staff_browser import WAIT_MS, assert_accessible
from tests.test_staff_jobs import NEW_PROMPT, OLD_PROMPT, copy_dialogs

pytestmark = [
    pytest.mark.slow,  # real Chromium
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]


@pytest_asyncio.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[TestServer, Services]]:
    async with running_console(tmp_path / "data", dialogs_dir=copy_dialogs(tmp_path)) as (
        app,
        services,
    ):
        running = TestServer(app, host="127.0.0.1")
        await running.start_server()
        yield running, services
        await running.close()


async def first_question(services: Services, key: str) -> str:
    await services.manager.handle(Turn(key, text="hello", language="en", channel="web"))
    replies = await services.manager.handle(
        Turn(key, text="business card", language="en", channel="web")
    )
    return "\n".join(reply.text for reply in replies)


async def test_editing_a_job_in_the_browser_and_rolling_it_back(
    browser: BrowserChecker, served: tuple[TestServer, Services]
) -> None:
    server, services = served
    async with browser.open(str(server.make_url("/staff/jobs?lang=en")), bypass_csp=True) as s:
        page = s.page
        await tab_to(page, "#name")
        await page.keyboard.type("ana")
        await tab_to(page, "#password")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("Jobs", timeout=WAIT_MS)
        await assert_accessible(page, "jobs list")

        await tab_to(page, 'a[href^="/staff/jobs/business_card"]')
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("Job: Business card", timeout=WAIT_MS)
        await assert_accessible(page, "job page")
        await tab_to(page, 'a[href^="/staff/jobs/business_card/edit"]')
        await page.keyboard.press("Enter")
        box = page.locator("#text")
        await expect(box).to_be_visible(timeout=WAIT_MS)
        original = await box.input_value()

        await box.fill(original.replace("generator: page", "generator: poster"))
        await tab_to(page, 'button[type="submit"]', presses=5)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("alert")).to_contain_text(
            "business_card.yaml: generator:", timeout=WAIT_MS
        )
        await assert_accessible(page, "refused edit")

        await box.fill(original.replace(OLD_PROMPT, NEW_PROMPT))
        await tab_to(page, "#note", presses=5)
        await page.keyboard.type("friendlier")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("Saved as v2", timeout=WAIT_MS)
        await expect(page.get_by_role("cell", name="friendlier")).to_be_visible()
        assert NEW_PROMPT in await first_question(services, "web:next")
        await page.goto(str(server.make_url("/staff/jobs/business_card?lang=en&version=2")))
        await expect(page.locator("pre.diff")).to_contain_text(f'+      en: "{NEW_PROMPT}"')
        await assert_accessible(page, "job page with history and diff")

        await tab_to(page, "text=Restore v1")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("cell", name="rollback to v1")).to_be_visible(timeout=WAIT_MS)
        assert OLD_PROMPT in await first_question(services, "web:after-rollback")
