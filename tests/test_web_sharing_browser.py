"""Publishing offered to the user in the web chat (issue 16), in real Chromium by keyboard
alone: after delivery "Put it on the web" is a choice, it is read back, and a yes puts the
page on the facility's site, whose address in the chat is a link that opens it. axe-core finds
nothing on the chat with that link in it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import expect

from generators.browser import BrowserChecker
from testing.axe import axe_audit, describe_violations
from testing.browser import browser_checker
from testing.web_page import (
    WAIT_MS,
    WebServer,
    job_answers,
    make_it,
    press_choice,
    wait_delivered,
    walk_job,
    web_server,
)

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]  # real Chromium
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebServer]:
    async with web_server(
        tmp_path_factory.mktemp("web"), language="en", user_publish=True
    ) as running:
        yield running


async def test_a_user_puts_the_page_on_the_web_by_keyboard(
    browser: BrowserChecker, server: WebServer
) -> None:
    job = server.services.jobs.jobs["cafe_page"]
    # axe is added to the page as a script: the page's own CSP would refuse it.
    async with browser.open(server.page_url(lang="en"), bypass_csp=True) as session:
        page = session.page
        await expect(page.locator("#answer")).to_be_focused(timeout=WAIT_MS)
        await walk_job(page, job, "en", job_answers(job, "en"))
        await make_it(page)
        await wait_delivered(page)
        await expect(page.locator("#live")).to_contain_text(
            "put it on the facility's web site", timeout=WAIT_MS
        )

        await press_choice(page, "publish")
        await expect(page.locator("#live")).to_contain_text(
            "where anyone can open it. Shall I?", timeout=WAIT_MS
        )
        assert not list(server.services.settings.site_path.glob("*")), "nothing yet"
        await press_choice(page, "yes")

        link = page.locator("#log a", has_text="/site/")
        await expect(link).to_have_attribute(
            "href", re.compile(r"^http://127\.0\.0\.1:\d+/site/[a-z0-9-]+/$"), timeout=WAIT_MS
        )
        await expect(page.locator("#log li", has=page.locator("a"))).to_contain_text(
            "It is on the facility's web site now:"
        )
        # What next is asked again at once: its buttons, not the read-back's yes and no.
        await expect(page.locator("#choices button").last).to_have_text(
            re.compile("Put it on the web"), timeout=WAIT_MS
        )
        result = await axe_audit(page, TAGS)
        assert not result.violations, describe_violations(result.violations)

        href = await link.get_attribute("href")
        assert href is not None
        async with browser.open(href) as published:
            await expect(published.page.locator("h1")).to_contain_text(
                str(job_answers(job, "en")["shop_name"]), timeout=WAIT_MS
            )
