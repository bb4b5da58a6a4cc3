"""The artifacts screen in real Chromium (issue 16, part A): signed in and driven by keyboard
alone, axe-core (WCAG 2.0-2.2 A and AA) finds nothing on the list, on an artifact's page with
its preview, or on the page after approving it. The whole service, on a real socket."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from assistant.compose import Services
from generators.browser import BrowserChecker
from testing.staff_browser import tab_to
from testing.staff_console import PASSWORD
from tests.test_staff_artifacts import made
from tests.test_staff_browser import WAIT_MS, assert_accessible, type_into_next_field

pytestmark = [
    pytest.mark.slow,  # real Chromium
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]


@pytest.mark.parametrize(
    ("language", "approved"),
    [
        ("en", "Approved. It may now be published and sent."),
        ("ja", "承認しました。公開や送信ができるようになりました。"),
    ],
)
async def test_the_list_and_an_artifact_by_keyboard_pass_axe(
    browser: BrowserChecker, served: tuple[TestServer, Services], language: str, approved: str
) -> None:
    server, services = served
    cafe = await made(services, "web:browser", "Blue Harbor Café")
    url = str(server.make_url(f"/staff/artifacts?lang={language}"))
    async with browser.open(url, bypass_csp=True) as session:
        page = session.page
        await type_into_next_field(page, "name", "sam")
        await type_into_next_field(page, "password", PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator("table")).to_contain_text("Blue Harbor Café", timeout=WAIT_MS)
        assert await page.get_attribute("html", "lang") == language
        await assert_accessible(page, "artifact list")

        await tab_to(page, f'a[href^="/staff/artifacts/{cafe.id}"]')
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("Blue Harbor Café (Café web page)",
                                                      timeout=WAIT_MS)  # fmt: skip
        frame = page.frame_locator("iframe.preview")
        await expect(frame.locator("body")).to_contain_text("Blue Harbor", timeout=WAIT_MS)
        await assert_accessible(page, "artifact page")

        await tab_to(page, 'form[action*="/approve"] button')
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_have_text(approved, timeout=WAIT_MS)
        await assert_accessible(page, "artifact page after approving")
    review = await services.artifact_desk().review(cafe.id)
    assert review is not None and review.status == "approved" and review.by == "sam"
