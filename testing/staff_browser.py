"""The staff console's screens in real Chromium (issue 16): the browser with axe-core at hand,
the whole service served on a real socket, and Tab as a keyboard user presses it.

Import the fixtures into a test module (``from testing.staff_browser import browser, served``)
so every screen's browser test starts the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from assistant.compose import Services
from generators.browser import BrowserChecker
from testing.axe import AXE_MISSING, AXE_PATH
from testing.browser import browser_checker
from testing.staff_console import running_console


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[BrowserChecker]:
    """Chromium, with axe-core installed (its absence fails: the audits are the point)."""
    if not AXE_PATH.is_file():
        pytest.fail(AXE_MISSING, pytrace=False)
    async with browser_checker() as checker:
        yield checker


@pytest_asyncio.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[TestServer, Services]]:
    """The whole service with the console, one account per role, on 127.0.0.1."""
    async with running_console(tmp_path / "data") as (app, services):
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield server, services
        finally:
            await server.close()


async def tab_to(page: Page, selector: str, presses: int = 60) -> None:
    """Press Tab until ``selector`` has the focus, as a keyboard user would."""
    target = page.locator(selector)
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await target.evaluate("(el) => el === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {selector}")
