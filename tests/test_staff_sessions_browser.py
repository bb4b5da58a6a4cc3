"""The live sessions screen in real Chromium (issue 16, part S), by keyboard alone, with
axe-core (WCAG 2.0-2.2 A and AA) finding nothing on the list and on a transcript with its
forms. The whole service is served on a real socket; people are driven through the dialog
manager as the web chat drives it."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import expect

from assistant.compose import Services
from assistant.events import Turn
from generators.browser import BrowserChecker
from testing.staff_browser import tab_to
from testing.staff_console import PASSWORD
from tests.test_staff_browser import WAIT_MS, assert_accessible, type_into_next_field

pytestmark = [
    pytest.mark.slow,  # real Chromium
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]
STUCK = ("", "4", "Animal quiz", "banana", "lots", "purple")  # three misses at "topic"


async def _person(services: Services, key: str, texts: tuple[str, ...]) -> None:
    for text in texts:
        await services.manager.handle(
            Turn(session_key=key, text=text, language="en", channel="web")
        )


async def test_staff_find_a_stuck_person_and_send_a_message_by_keyboard(
    browser: BrowserChecker, served: tuple[TestServer, Services]
) -> None:
    server, services = served
    await _person(services, "web:stuck-one", STUCK)
    await _person(services, "web:going-well", STUCK[:3])
    url = str(server.make_url("/staff/sessions?lang=en"))
    async with browser.open(url, bypass_csp=True) as session:
        page = session.page
        await expect(page.locator("h1")).to_be_visible(timeout=WAIT_MS)
        await type_into_next_field(page, "name", "sam")
        await type_into_next_field(page, "password", PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("Live sessions", timeout=WAIT_MS)
        first = page.locator("#sessions tbody tr").first
        await expect(first).to_contain_text("web:stuck-one")  # needing help comes first
        await expect(first).to_contain_text("the last three answers were not understood")
        await assert_accessible(page, "live sessions")

        # Someone new gets stuck while the page is open: the list says so by itself.
        await _person(services, "web:stuck-two", STUCK)
        await expect(page.locator("#announce")).to_contain_text(
            "Needs help now: web:stuck-two", timeout=WAIT_MS
        )

        await tab_to(page, 'a[href*="web%3Astuck-one"]')
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("Session web:stuck-one", timeout=WAIT_MS)
        await expect(page.locator("#transcript")).to_contain_text("purple")
        await assert_accessible(page, "transcript")

        await tab_to(page, "#message-text")
        await page.keyboard.type("Say 1 for animals")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_have_text(
            "The message was sent.", timeout=WAIT_MS
        )
        await expect(page.locator("#transcript tr.by-staff")).to_contain_text(
            "From staff: Say 1 for animals"
        )
        await assert_accessible(page, "transcript after a message")

        # The person answers; the transcript shows it without a reload.
        await _person(services, "web:stuck-one", ("1",))
        await expect(page.locator("#transcript")).to_contain_text(
            "Got it: animals.", timeout=WAIT_MS
        )
