"""The knowledge, charts and audit screens in real Chromium (issue 16, part K): signed in by
keyboard as an admin, each screen in English and Japanese passes axe-core (WCAG 2.0-2.2 A
and AA) with its tables, forms and charts filled; the audit filter works from the keyboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from assistant.events import Turn
from assistant.knowledge.documents import KnowledgeDocuments, documents_folder
from generators.browser import BrowserChecker
from testing.staff_console import PASSWORD, running_console
from tests.test_staff_browser import WAIT_MS, assert_accessible, type_into_next_field

pytestmark = [
    pytest.mark.slow,  # real Chromium
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    data = tmp_path / "data"
    async with running_console(data) as (app, services):
        for key, texts in (("web:a", ("", "1", "Blue Bakery")), ("web:b", ("", "1"))):
            for text in texts:
                await services.manager.handle(
                    Turn(session_key=key, text=text, language="en", channel="web")
                )
        KnowledgeDocuments(documents_folder(data)).save("hours.md", b"# Hours\nOpen at nine.")
        running = TestServer(app, host="127.0.0.1")
        await running.start_server()
        yield running
        await running.close()


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_knowledge_charts_and_audit_pass_axe(
    browser: BrowserChecker, server: TestServer, language: str
) -> None:
    url = str(server.make_url(f"/staff/knowledge?lang={language}"))
    async with browser.open(url, bypass_csp=True) as session:
        page = session.page
        await expect(page.locator("h1")).to_be_visible(timeout=WAIT_MS)
        await type_into_next_field(page, "name", "ana")
        await type_into_next_field(page, "password", PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator("#documents")).to_be_visible(timeout=WAIT_MS)
        await expect(page.get_by_role("row", name="hours.md")).to_be_visible()
        await assert_accessible(page, "knowledge")

        await page.goto(str(server.make_url(f"/staff/charts?days=30&lang={language}")))
        await expect(page.locator("#days-table tbody tr td").nth(1)).to_have_text("2")
        await expect(page.get_by_role("img").first).to_be_visible()
        await assert_accessible(page, "charts")

        await page.goto(str(server.make_url(f"/staff/audit?lang={language}")))
        await page.locator("#who").focus()
        await page.keyboard.type("nobody-at-all")
        await page.keyboard.press("Enter")
        await expect(page.locator("#entries tbody tr")).to_have_count(1, timeout=WAIT_MS)
        assert "who=nobody-at-all" in page.url
        await assert_accessible(page, "audit log")
