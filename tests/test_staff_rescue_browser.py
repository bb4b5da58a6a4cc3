"""A stuck web user helped by staff, end to end in two real Chromium pages (issue 16, "In
Chromium: a stuck web user gets a staff message and finishes the job").

One served service (``testing.staff_browser``): the user's web chat page and the staff
console, each in its own browser context, both by keyboard alone. The user misses the quiz's
topic three times; staff find the session first in the live list, open it and send a message;
the user's page shows it marked as from staff, in the log and the live region a screen reader
reads; the user answers, confirms and gets the delivery; the console shows the delivery without
a reload, stops flagging the session, names who is helping and clears it on the hand-back.
"""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from assistant.compose import Services
from assistant.events import Turn
from generators.browser import BrowserChecker
from testing.staff_browser import tab_to
from testing.staff_console import PASSWORD
from testing.web_page import (
    WAIT_MS,
    make_it,
    press_choice,
    type_answer,
    wait_delivered,
    wait_question,
    wait_state,
)
from tests.test_staff_browser import assert_accessible, type_into_next_field

pytestmark = [
    pytest.mark.slow,  # real Chromium
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]
SESSION_KEY_JS = "() => localStorage.getItem('facility-assistant.session')"
MISSES = {"en": ("banana", "lots", "purple"), "ja": ("バナナ", "えんぴつ", "いす")}


async def _say(page: Page, text: str) -> None:
    """Type ``text`` as the answer and wait for the service's replies to it in the log."""
    said = page.locator("#log li.user")
    before = await said.count()
    await type_answer(page, text)
    await expect(said).to_have_count(before + 1, timeout=WAIT_MS)
    await expect(page.locator("#log li").last).not_to_have_class(
        re.compile(r"\buser\b"), timeout=WAIT_MS
    )


async def _stuck_in_the_quiz(page: Page, services: Services, language: str) -> str:
    """By keyboard: the quiz chosen, a title given, the topic missed three times. Returns the
    page's session key."""
    job = services.jobs.jobs["quiz_game"]
    title, topic = job.questions[:2]
    await wait_state(page, "choose_job")
    await press_choice(page, job.id)
    await wait_question(page, title.prompt.get(language))
    await _say(page, "どうぶつクイズ" if language == "ja" else "Animal quiz")
    await wait_question(page, topic.prompt.get(language))
    not_a_choice = services.phrases.say(language, "problem.not_a_choice", typed=True)
    for text in MISSES[language]:
        await _say(page, text)
        await expect(page.locator("#alert")).to_have_text(not_a_choice, timeout=WAIT_MS)
    key = await page.evaluate(SESSION_KEY_JS)
    assert isinstance(key, str) and key.startswith("web:"), key
    return key


async def _sign_in_as_sam(page: Page, heading: str) -> None:
    """The console's sign-in form by keyboard; it leads on to the page first asked for."""
    await expect(page.locator("h1")).to_be_visible(timeout=WAIT_MS)
    await type_into_next_field(page, "name", "sam")
    await type_into_next_field(page, "password", PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.locator("h1")).to_have_text(heading, timeout=WAIT_MS)


async def _staff_message(page: Page, text: str) -> None:
    """On a transcript: the message box, typed into, and its button, all by keyboard."""
    await tab_to(page, "#message-text")
    await page.keyboard.type(text)
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")


async def _shown_as_from_staff(page: Page, sentence: str) -> None:
    """The user's page shows the staff message, and puts it where a screen reader reads it:
    the conversation log and the polite live region."""
    await expect(page.locator("#info")).to_contain_text(sentence, timeout=WAIT_MS)
    await expect(page.locator("#info")).to_be_visible()
    await expect(page.locator("#log li").last).to_have_text(sentence, timeout=WAIT_MS)
    await expect(page.locator("#live")).to_have_text(sentence, timeout=WAIT_MS)
    assert await page.locator("#live").get_attribute("aria-live") == "polite"


async def test_a_stuck_web_user_gets_a_staff_message_and_finishes_the_job(
    browser: BrowserChecker, served: tuple[TestServer, Services]
) -> None:
    server, services = served
    # Someone else, going well, who has been quiet longer: "needs help" must still come first.
    for text in ("", "1", "Blue Bakery"):
        await services.manager.handle(
            Turn(session_key="web:going-well", text=text, language="en", channel="web")
        )
    job = services.jobs.jobs["quiz_game"]
    user_url = str(server.make_url("/?lang=en"))
    staff_url = str(server.make_url("/staff/sessions?lang=en"))
    async with browser.open(user_url, bypass_csp=True) as user_session:
        user = user_session.page
        key = await _stuck_in_the_quiz(user, services, "en")
        async with browser.open(staff_url, bypass_csp=True) as staff_session:
            staff = staff_session.page
            await _sign_in_as_sam(staff, "Live sessions")
            first = staff.locator("#sessions tbody tr").first
            await expect(first).to_have_attribute("data-key", key, timeout=WAIT_MS)
            await expect(first).to_contain_text("Needs help")
            await expect(first).to_contain_text("the last three answers were not understood")
            await expect(staff.locator("#sessions tbody tr")).to_have_count(2)

            await tab_to(staff, f'#sessions a[href^="/staff/sessions/{key.replace(":", "%3A")}"]')
            await staff.keyboard.press("Enter")
            await expect(staff.locator("h1")).to_have_text(f"Session {key}", timeout=WAIT_MS)
            await expect(staff.locator("#transcript")).to_contain_text("purple")
            await expect(staff.locator("#transcript")).to_contain_text("Answering a question")
            await expect(staff.locator("#helping")).to_be_hidden()

            await _staff_message(staff, "Press 1 for animals")
            await expect(staff.get_by_role("status")).to_have_text(
                "The message was sent.", timeout=WAIT_MS
            )
            await expect(staff.locator("#helping")).to_have_text("Helping: sam")
            await _shown_as_from_staff(user, "From staff: Press 1 for animals")
            await assert_accessible(user, "the user's page with a staff message")

            # The user carries on by keyboard, to the end of the job.
            await press_choice(user, "animals")
            await wait_question(user, job.questions[2].prompt.get("en"))
            await _say(user, "5")
            await wait_question(user, job.questions[3].prompt.get("en"))
            await press_choice(user, "yes")
            await make_it(user)
            await wait_delivered(user)
            delivered = (await user.locator("#question").text_content() or "").strip()
            assert delivered == "Your Quiz game is ready!", delivered

            # The transcript (still open, never reloaded) shows the delivery.
            await expect(staff.locator("#transcript")).to_contain_text(delivered, timeout=WAIT_MS)
            await expect(staff.locator("#transcript tbody tr").last).to_contain_text("Delivered")
            await expect(staff.locator("#summary")).to_contain_text("State: Delivered.")
            await expect(staff.locator("#helping")).to_have_text("Helping: sam")

            # Back to the list: no longer flagged; sam is still named until the hand-back.
            await tab_to(staff, 'nav a[href="/staff/sessions?lang=en"]')
            await staff.keyboard.press("Enter")
            await expect(staff.locator("h1")).to_have_text("Live sessions", timeout=WAIT_MS)
            row = staff.locator(f'#sessions tbody tr[data-key="{key}"]')
            await expect(row).to_have_attribute("data-help", "", timeout=WAIT_MS)
            await expect(row).to_contain_text("Going well")
            await expect(row).to_contain_text("Helping: sam")
            await expect(row).not_to_contain_text("Needs help")
            await assert_accessible(staff, "live sessions with a helper named")

            await tab_to(staff, f'#sessions a[href^="/staff/sessions/{key.replace(":", "%3A")}"]')
            await staff.keyboard.press("Enter")
            await tab_to(staff, 'form[action*="/hand-back"] button')
            await staff.keyboard.press("Enter")
            await expect(staff.get_by_role("status")).to_have_text(
                "The session was handed back; the user was told they can carry on.",
                timeout=WAIT_MS,
            )
            await expect(staff.locator("#helping")).to_be_hidden()
            await expect(user.locator("#log li").last).to_have_text(
                "You can carry on.", timeout=WAIT_MS
            )
            assert not user_session.console_errors, user_session.console_errors
            assert not staff_session.console_errors, staff_session.console_errors


async def test_the_staff_message_in_japanese(
    browser: BrowserChecker, served: tuple[TestServer, Services]
) -> None:
    server, services = served
    job = services.jobs.jobs["quiz_game"]
    async with browser.open(str(server.make_url("/?lang=ja")), bypass_csp=True) as user_session:
        user = user_session.page
        key = await _stuck_in_the_quiz(user, services, "ja")
        staff_url = str(server.make_url("/staff/sessions?lang=ja"))
        async with browser.open(staff_url, bypass_csp=True) as staff_session:
            staff = staff_session.page
            await _sign_in_as_sam(staff, "進行中のセッション")
            first = staff.locator("#sessions tbody tr").first
            await expect(first).to_have_attribute("data-key", key, timeout=WAIT_MS)
            await expect(first).to_contain_text("直近の3回の答えが聞き取れませんでした")
            await tab_to(staff, f'#sessions a[href^="/staff/sessions/{key.replace(":", "%3A")}"]')
            await staff.keyboard.press("Enter")
            await expect(staff.locator("h1")).to_have_text(f"セッション {key}", timeout=WAIT_MS)
            await expect(staff.locator("#transcript")).to_contain_text("質問に答えている")

            await _staff_message(staff, "1番の「どうぶつ」を選んでください")
            await expect(staff.get_by_role("status")).to_have_text(
                "メッセージを送りました。", timeout=WAIT_MS
            )
            await expect(staff.locator("#helping")).to_have_text("対応中：sam")
            await _shown_as_from_staff(user, "スタッフから：1番の「どうぶつ」を選んでください")
            await assert_accessible(user, "the user's page with a staff message, in Japanese")

            await press_choice(user, "animals")
            await wait_question(user, job.questions[2].prompt.get("ja"))
            assert not user_session.console_errors, user_session.console_errors
