"""The staff sign-in in real Chromium (issue 16, part A): by keyboard alone, in both
languages, with axe-core (WCAG 2.0-2.2 A and AA) finding nothing on the sign-in page, its
error and the home page. The service's app with the console mounted, on a real socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from assistant.config import Settings
from assistant.jobs.catalog import JobCatalog
from assistant.staff.accounts import StaffAccounts
from assistant.store.sqlite import SQLiteStore
from assistant.store.staff_accounts import SQLiteStaffAccounts
from generators.browser import BrowserChecker
from testing.axe import axe_audit, describe_violations
from testing.staff_console import CHEAP_HASHER, PASSWORD
from tests.test_staff_signin import build_app

pytestmark = [
    pytest.mark.slow,  # real Chromium
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
WAIT_MS = 10_000


@pytest_asyncio.fixture
async def server(tmp_path: Path, catalog: JobCatalog) -> AsyncIterator[TestServer]:
    store = SQLiteStore(tmp_path / "assistant.db")
    await store.open()
    accounts = StaffAccounts(SQLiteStaffAccounts(store), hasher=CHEAP_HASHER)
    await accounts.add("sam", "staff", PASSWORD)
    settings = replace(Settings(), data_dir=tmp_path / "data")
    running = TestServer(build_app(store, catalog, settings), host="127.0.0.1")
    await running.start_server()
    yield running
    await running.close()
    await store.close()


async def assert_accessible(page: Page, where: str) -> None:
    audit = await axe_audit(page, TAGS)
    assert not audit.violations, f"{where}:\n{describe_violations(audit.violations)}"


async def type_into_next_field(page: Page, field: str, text: str) -> None:
    """Tab until ``field`` has the focus (as a keyboard user would), then type."""
    for _ in range(8):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.id") == field:
            await page.keyboard.type(text)
            return
    raise AssertionError(f"Tab never reached #{field}")


@pytest.mark.parametrize(
    ("language", "wrong", "signed_in"),
    [
        ("en", "The account name or password is wrong.", "Signed in as sam (staff)."),
        (
            "ja",
            "アカウント名かパスワードがちがいます。",
            "sam（スタッフ）としてサインインしています。",
        ),
    ],
)
async def test_signing_in_by_keyboard_passes_axe(
    browser: BrowserChecker, server: TestServer, language: str, wrong: str, signed_in: str
) -> None:
    url = str(server.make_url(f"/staff/?lang={language}"))
    async with browser.open(url, bypass_csp=True) as session:
        page = session.page
        await expect(page.locator("h1")).to_be_visible(timeout=WAIT_MS)
        assert await page.get_attribute("html", "lang") == language
        await assert_accessible(page, "sign-in page")

        await type_into_next_field(page, "name", "sam")
        await type_into_next_field(page, "password", "not the password")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("alert")).to_have_text(wrong, timeout=WAIT_MS)
        await assert_accessible(page, "wrong password")

        await page.locator("#password").focus()
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator("#who")).to_have_text(signed_in, timeout=WAIT_MS)
        await assert_accessible(page, "home page")

        sign_out = page.get_by_role("button")
        for _ in range(12):
            await page.keyboard.press("Tab")
            if await sign_out.evaluate("(el) => el === document.activeElement"):
                break
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_be_visible(timeout=WAIT_MS)
        assert page.url.split("?")[0].endswith("/staff/login")
