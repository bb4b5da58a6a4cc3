"""The charts screen in real Chromium with the console's own CSP enforced (issue 16, part
K2): Chart.js is loaded from the console, every canvas gets its chart, the browser logs no
CSP violation nor any other error, and axe-core (WCAG 2.0-2.2 A and AA) finds nothing, in
English and Japanese, signed in by keyboard as a viewer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from generators.browser import BrowserChecker
from testing.axe import AXE_PATH
from testing.staff_console import PASSWORD, running_console
from tests.test_staff_browser import WAIT_MS, assert_accessible, type_into_next_field
from tests.test_staff_charts_k2 import speak_and_type

pytestmark = [
    pytest.mark.slow,  # real Chromium
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    async with running_console(tmp_path / "data") as (app, services):
        await speak_and_type(services)
        running = TestServer(app, host="127.0.0.1")
        await running.start_server()
        yield running
        await running.close()


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_charts_are_drawn_by_chart_js_under_the_csp_and_pass_axe(
    browser: BrowserChecker, server: TestServer, language: str
) -> None:
    url = str(server.make_url(f"/staff/charts?days=7&lang={language}"))
    async with browser.open(url) as session:  # the CSP is enforced: no bypass
        page = session.page
        await type_into_next_field(page, "name", "vic")
        await type_into_next_field(page, "password", PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator("#heard-table-1")).to_be_visible(timeout=WAIT_MS)

        canvases = page.locator("canvas[data-chart]")
        count = await canvases.count()
        assert count >= 4  # per day, rates, where people stop, how well questions are heard
        # Chart.js is loaded and has a chart on every canvas (drawn once the page loaded).
        await page.wait_for_function(
            """() => typeof window.Chart === "function" &&
                 [...document.querySelectorAll("canvas[data-chart]")]
                   .every((c) => window.Chart.getChart(c) !== undefined)""",
            timeout=WAIT_MS,
        )
        heard = await page.evaluate(
            """() => {
                 const chart = window.Chart.getChart(
                   document.querySelector('canvas[data-chart="heard-data-1"]'));
                 return {labels: chart.data.labels, mean: chart.data.datasets[0].data};
               }"""
        )
        assert heard["labels"][:2] == ["shop_name", "menu_items"]
        assert heard["mean"][:2] == [82.5, 50.0]
        label = await page.locator('canvas[data-chart="heard-data-1"]').get_attribute("aria-label")
        assert label and "shop_name" in label

        # Nothing was refused by the CSP, nothing failed: checked before axe is injected.
        assert session.console_errors == (), session.console_errors
        await page.evaluate(AXE_PATH.read_text(encoding="utf-8"))  # evaluate: not under the CSP
        await assert_accessible(page, f"charts ({language})")
