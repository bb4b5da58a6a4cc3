"""The web chat page in real headless Chromium, driven like its users drive it.

Every job is made from welcome to delivery with the keyboard alone (Tab, Shift+Tab, Enter,
Space and typing), because the page promises to work for people who cannot use a mouse. One
job is made by voice through the page's own microphone path, one by one-switch scanning; a
reload and a second device continue the session; the kiosk screen mirrors a kiosk session.

The server is the real service in this module's event loop (see ``testing/web_page.py``); one
browser serves every test of the module, each test in its own context (its own storage, so
its own session).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Page, WebSocket, expect

from assistant.dialog.manager import DialogManager
from assistant.events import Progress, Reply, ReplyKind, SessionState, Turn
from assistant.jobs.conditions import visible_questions
from assistant.speech.audio import silence, write_wav
from assistant.store.sqlite import SQLiteStore
from assistant.understanding.answers import check_answers
from channels.web.connection import FLOOD
from generators.browser import BrowserChecker, BrowserSession
from testing.browser import browser_checker, require_chromium
from testing.speech_audio import speak_en
from testing.web_page import (
    DELIVERY_MS,
    HOLD_MS,
    WAIT_MS,
    WebServer,
    answer_question,
    hold_switch,
    job_answers,
    make_it,
    pixels,
    press_choice,
    question_text,
    scan_choose,
    scan_key,
    scan_to,
    scanned,
    state,
    tab_to,
    type_answer,
    wait_delivered,
    wait_focus_on_answer,
    wait_question,
    wait_state,
    walk_job,
    web_server,
)

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]  # real Chromium

STORE_KEY = "facility-assistant.session"
# The jobs in the order the menu lists them, each walked in one language (both covered).
JOB_LANGUAGES = [
    ("cafe_page", "en"),
    ("event_page", "ja"),
    ("intro_page", "en"),
    ("quiz_game", "ja"),
    ("shopping_total", "en"),
    ("todo_list", "ja"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebServer]:
    # With speech: engines load on first use, so only the voice test pays for them.
    async with web_server(tmp_path_factory.mktemp("web"), voice=True) as running:
        yield running


def assert_quiet(session: BrowserSession) -> None:
    """The page threw nothing, logged no error and asked for nothing outside the server."""
    assert not session.console_errors, session.console_errors
    assert not session.blocked_requests, session.blocked_requests


async def session_key(session: BrowserSession) -> str:
    """The session this page shows (the page keeps it in its own storage)."""
    key = await session.page.evaluate(f"() => localStorage.getItem({STORE_KEY!r})")
    assert key and key.startswith("web:"), key
    return str(key)


@pytest.mark.parametrize(("job_id", "language"), JOB_LANGUAGES)
async def test_every_job_is_made_with_the_keyboard_alone(
    browser: BrowserChecker, server: WebServer, job_id: str, language: str
) -> None:
    job = server.services.jobs.jobs[job_id]
    answers = job_answers(job, language)
    # Half the jobs are worked with Space on buttons, half with Enter: both must press them.
    # Those also go one Tab too far each time and come back with Shift+Tab.
    odd = JOB_LANGUAGES.index((job_id, language)) % 2 == 1
    key = "Space" if odd else "Enter"
    async with browser.open(server.page_url(lang=language)) as session:
        page = session.page
        await expect(page.locator("#answer")).to_be_focused(timeout=WAIT_MS)
        await walk_job(page, job, language, answers, choose_key=key, overshoot=odd)
        await make_it(page, key, overshoot=odd)
        await wait_delivered(page)
        stored = await server.services.manager.session(await session_key(session))
        assert stored is not None
        today = datetime.date.today()
        assert stored.answers == check_answers(answers, job, language, today)
        assert_quiet(session)


async def test_the_language_button_switches_page_and_dialog(
    browser: BrowserChecker, server: WebServer
) -> None:
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        button = page.locator("#language")
        # The button names the other language in that language, marked so it is read right.
        await expect(button).to_have_text("日本語")
        await expect(button).to_have_attribute("lang", "ja")
        await tab_to(page, "language", backwards=True)
        await page.keyboard.press("Enter")
        await expect(page.locator("html")).to_have_attribute("lang", "ja", timeout=WAIT_MS)
        await expect(page.locator("#choices")).to_contain_text("カフェ")
        await expect(page.locator("#answer-form label")).to_have_text("あなたの答え")
        await expect(button).to_have_attribute("lang", "en")
        await expect(button).to_have_text("English")
        assert_quiet(session)


async def test_a_reply_that_only_informs_keeps_the_question_and_its_buttons(
    browser: BrowserChecker, server: WebServer
) -> None:
    """The command "slower" is answered with one sentence and no question: the buttons of the question
    still waiting must stay, or a switch user is left with nothing to press."""
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        menu = await question_text(page)
        log = page.locator("#log li")
        before = await log.count()
        await type_answer(page, "slower")
        await expect(log).to_have_count(
            before + 2, timeout=WAIT_MS
        )  # what was typed, and the answer
        assert await question_text(page) == menu
        await expect(page.locator("#choices button")).to_have_count(len(server.services.jobs.jobs))
        assert_quiet(session)


async def test_a_failed_generation_is_said_and_can_be_retried_from_the_keyboard(
    browser: BrowserChecker, server: WebServer
) -> None:
    """Never a dead end: after a failure the user hears why, the read-back is asked again with
    focus in the answer box, and the way on is its button, for keyboard and switch users too."""
    job = server.services.jobs.jobs["todo_list"]
    answers = {"list_title": "Today", "first_items": ["tea"], "save_in_browser": True}
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await walk_job(page, job, "en", answers)
        server.gate.failures = 1
        await make_it(page)
        failed = server.services.phrases.say("en", "generation_failed", typed=True)
        await expect(page.locator("#alert")).to_contain_text(failed, timeout=WAIT_MS)
        await expect(page.locator("#answer")).not_to_have_attribute("aria-invalid", "true")
        await wait_question(page, server.services.phrases.say("en", "confirm_intro"))
        await wait_state(page, "confirm")
        await wait_focus_on_answer(page)
        await make_it(page)  # the confirm's own "make it" button is offered again
        await wait_delivered(page)
        assert_quiet(session)


async def test_a_reload_and_other_devices_continue_at_the_same_question(
    browser: BrowserChecker, server: WebServer
) -> None:
    job = server.services.jobs.jobs["cafe_page"]
    answers = job_answers(job, "en")
    first_two, third, fourth = job.questions[:2], job.questions[2], job.questions[3]
    async with browser.open(server.page_url(lang="en")) as first:
        page = first.page
        await press_choice(page, job.id)
        for question in first_two:
            await wait_question(page, question.prompt.en)
            await answer_question(page, question, answers[question.id], "en")
        await wait_question(page, third.prompt.en)
        key = await session_key(first)

        await page.reload()
        await wait_question(page, third.prompt.en)
        await wait_focus_on_answer(page)
        assert await session_key(first) == key, "the reloaded page kept its session"
        code = (await page.locator("#code").text_content() or "").strip()
        assert len(code) == 6, code

        # A second device types the code into "Code from another device".
        async with browser.open(server.page_url(lang="en")) as second:
            other = second.page
            await wait_state(other, "choose_job")  # a new visitor starts at the menu
            await tab_to(other, "continue-code")
            await other.keyboard.type("ZZZZZZ")  # a wrong code: said plainly, nothing changes
            await other.keyboard.press("Enter")
            await expect(other.locator("#alert")).to_contain_text("ZZZZZZ", timeout=WAIT_MS)
            await expect(other.locator("#alert")).to_have_attribute("role", "alert")
            assert await state(other) == "choose_job"
            await tab_to(other, "continue-code")
            await other.keyboard.type(code.lower())  # codes are read aloud; case is no matter
            await other.keyboard.press("Enter")
            await wait_question(other, third.prompt.en)
            await wait_focus_on_answer(other)
            assert await session_key(second) == key
            await answer_question(other, third, answers[third.id], "en")
            await wait_question(other, fourth.prompt.en)
            # Every page of the session follows, including the one that did not answer.
            await wait_question(page, fourth.prompt.en)
            assert_quiet(second)

        # A phone scanning the code's QR opens ?code=...
        async with browser.open(server.page_url(lang="en", code=code)) as third_device:
            phone = third_device.page
            await wait_question(phone, fourth.prompt.en)
            assert await session_key(third_device) == key
            assert "code=" not in phone.url, "the code leaves the address bar once used"
            for question in visible_questions(job, answers)[3:]:  # no declined section
                await wait_question(phone, question.prompt.en)
                await answer_question(phone, question, answers.get(question.id), "en")
            await wait_state(phone, "confirm")
            confirm = await question_text(phone)
            # Answers given before the reload and on the other devices are all kept.
            for shown in ("Sunny Café", "coffee", "9 am to 5 pm", "Come and relax with us!"):
                assert shown in confirm, (shown, confirm)
            assert_quiet(third_device)
        stored = await server.services.manager.session(key)
        assert stored is not None
        expected = check_answers(answers, job, "en", datetime.date.today())
        asked = {question.id for question in visible_questions(job, expected)}
        assert stored.answers == {k: v for k, v in expected.items() if k in asked}
        assert_quiet(first)


async def test_one_switch_alone_makes_a_whole_job_typing_on_the_screen_keyboard(
    browser: BrowserChecker, server: WebServer
) -> None:
    """Scanning is set up once (a helper turns it on and shortens the hold to 0.3 s); after a
    reload, the whole job is made with Space alone: taps step, holds choose. Text and numbers
    are typed on the on-screen keyboard by row-column scanning, the delivery links and the
    settings are reached the same way, and scanning is turned off by the switch itself."""
    job = server.services.jobs.jobs["quiz_game"]
    hold = 300
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await turn_on_scanning(page)
        await tab_to(page, "pref-hold")
        await page.keyboard.press("Control+A")
        await page.keyboard.type("0.3")
        await page.keyboard.press("Tab")  # leaving the box commits it
        key = await session_key(session)
        await wait_preference(server, key, "hold_time", 0.3)
        await page.reload()  # the settings come back with the session
        await expect(page.locator("#switch")).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#pref-hold")).to_have_value("0.3")
        await wait_state(page, "choose_job")

        # From here on: Space only.
        await scan_choose(page, f"choice:{job.id}", hold=True, hold_ms=hold)
        await wait_question(page, job.questions[0].prompt.en)
        await expect(page.locator("#keyboard")).to_be_visible()  # a text question: it opens
        for want in ("action:page:upper", "Z", "action:page:lower", "o", "o"):
            await scan_key(page, want, hold_ms=hold)
        await expect(page.locator("#answer")).to_have_value("Zoo")
        await scan_key(page, "action:send", hold_ms=hold)
        await wait_question(page, job.questions[1].prompt.en)
        await expect(page.locator("#keyboard")).to_be_hidden()  # buttons to press instead
        await scan_choose(page, "choice:science", hold=True, hold_ms=hold)
        await wait_question(page, job.questions[2].prompt.en)
        for want in ("action:page:digits", "3", "action:send"):
            await scan_key(page, want, hold_ms=hold)
        await wait_question(page, job.questions[3].prompt.en)
        await scan_choose(page, "choice:no", hold=True, hold_ms=hold)
        await wait_state(page, "confirm")
        await scan_choose(page, "choice:make", hold=True, hold_ms=hold)
        await wait_delivered(page)
        await scan_to(page, "download")  # the links are on the way too
        await scan_to(page, "preview-link")
        # Settings by switch: open them, then turn scanning off with the switch itself.
        await scan_choose(page, "settings-toggle", hold=True, hold_ms=hold)
        await expect(page.locator("#settings")).to_be_visible()
        await scan_choose(page, "pref-scan", hold=True, hold_ms=hold)
        await expect(page.locator("#switch")).to_be_hidden()
        await expect(page.locator("#pref-scan")).not_to_be_checked()
        stored = await server.services.manager.session(key)
        assert stored is not None
        assert stored.answers == {
            "quiz_title": "Zoo",
            "topic": "science",
            "question_count": 3,
            "show_answer": False,
        }
        assert stored.preferences["scan"] is False
        assert_quiet(session)


HOLD = 700  # ms the test holds the switch for, past the 0.6 s hold time it sets


async def test_a_switch_user_continues_a_session_by_typing_its_code_on_the_screen_keyboard(
    browser: BrowserChecker, server: WebServer
) -> None:
    async with browser.open(server.page_url(lang="en")) as first:
        await wait_state(first.page, "choose_job")
        await type_answer(first.page, "4")
        prompt = server.services.jobs.jobs["quiz_game"].questions[0].prompt.en
        await wait_question(first.page, prompt)
        code = (await first.page.locator("#code").text_content() or "").strip()
        key = await session_key(first)
    # A hold of 0.6 s: a tap that a busy machine delivers late must still read as a tap.
    async with browser.open(server.page_url(lang="en")) as second:
        page = second.page
        await wait_state(page, "choose_job")
        await turn_on_scanning(page)
        await tab_to(page, "pref-hold")
        await page.keyboard.press("Control+A")
        await page.keyboard.type("0.6")
        await page.keyboard.press("Tab")
        await wait_preference(server, await session_key(second), "hold_time", 0.6)
        await page.locator("#question").focus()
        await scan_choose(page, "continue-keyboard", hold=True, hold_ms=HOLD)
        await expect(page.locator("#continue-keyboard")).to_have_attribute("aria-expanded", "true")
        page_now = None
        for char in code:
            wanted = "digits" if char.isdigit() else "upper"
            if wanted != page_now:
                await scan_key(page, f"action:page:{wanted}", hold_ms=HOLD)
                page_now = wanted
            await scan_key(page, char, hold_ms=HOLD)
        await expect(page.locator("#continue-code")).to_have_value(code)
        await scan_key(page, "action:send", hold_ms=HOLD)
        await wait_question(page, prompt)
        assert await session_key(second) == key
        assert_quiet(second)


async def test_scanning_reaches_and_changes_number_settings_with_their_buttons(
    browser: BrowserChecker, server: WebServer
) -> None:
    """Scan speed and hold time are numbers: each has - and + buttons a switch can press."""
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await turn_on_scanning(page)
        more = page.locator('[data-stepper-for="pref-scan-speed"][data-direction="more"]')
        await expect(more).to_have_attribute(
            "aria-label", "+ Raise Scanning speed, seconds per item"
        )
        box = await more.bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44, box
        await page.locator("#question").focus()
        for _ in range(40):
            await page.keyboard.press("Space")
            if await page.evaluate(
                "() => document.querySelector('.scan-focus')?.dataset.stepperFor === 'pref-scan-speed'"
                " && document.querySelector('.scan-focus').dataset.direction === 'more'"
            ):
                break
        else:
            raise AssertionError("scanning never reached the scan speed's + button")
        await hold_switch(page)
        await expect(page.locator("#pref-scan-speed")).to_have_value("2")
        await wait_preference(server, await session_key(session), "scan_speed", 2.0)
        # Changing a setting keeps the highlight there, so pressing again is one hold away.
        assert (
            await page.evaluate("() => document.querySelector('.scan-focus')?.dataset.direction")
            == "more"
        )
        assert_quiet(session)


async def test_automatic_scanning_leaves_a_box_being_typed_in_alone(
    browser: BrowserChecker, server: WebServer
) -> None:
    """The moving highlight must not pull focus out of the answer box or a settings box while
    someone types there; it carries on once they leave."""
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await turn_on_scanning(page)
        await page.locator("#pref-scan-speed").fill("0.5")
        await page.locator("#pref-scan-speed").dispatch_event("change")
        await page.locator("#pref-scan-auto").check()
        await page.wait_for_function("() => document.querySelector('.scan-focus')", timeout=WAIT_MS)
        await page.locator("#pref-silence").click()
        await page.wait_for_timeout(1600)  # three steps of the highlight
        await expect(page.locator("#pref-silence")).to_be_focused()
        await page.locator("#answer").click()
        await page.keyboard.type("slow typing", delay=150)  # about 1.7 s
        await expect(page.locator("#answer")).to_be_focused()
        await expect(page.locator("#answer")).to_have_value("slow typing")
        await page.locator("#question").focus()
        await page.wait_for_function(
            "() => document.activeElement.classList.contains('scan-focus')", timeout=WAIT_MS
        )
        assert_quiet(session)


async def test_the_on_screen_keyboard_types_kana_by_keyboard_and_pointer(
    browser: BrowserChecker, server: WebServer
) -> None:
    """The 50-sound table with its marks (゛ ゜ 小), katakana and delete; keys are real buttons
    of at least 44 px, and the Keyboard button says whether it is open."""
    async with browser.open(server.page_url(lang="ja")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await tab_to(page, "keyboard-toggle")
        await page.keyboard.press("Enter")
        await expect(page.locator("#keyboard")).to_be_visible()
        await expect(page.locator("#keyboard-toggle")).to_have_attribute("aria-expanded", "true")
        answer = page.locator("#answer")
        await tab_to(page, "BUTTON:か")  # by keyboard: Tab and Enter
        await page.keyboard.press("Enter")
        await tab_to(page, "BUTTON:゛")
        await page.keyboard.press("Enter")
        await expect(answer).to_have_value("が")
        keys = page.locator("#keyboard")
        for name in ("つ", "小 小さい字（っ、ゃ）", "は", "゜ 半濁点（ぱ、ぴ）"):  # by pointer
            await keys.get_by_role("button", name=name, exact=True).click()
        await expect(answer).to_have_value("がっぱ")
        await keys.get_by_role("button", name="1字消す").click()
        await keys.get_by_role("button", name="カタカナ").click()
        await keys.get_by_role("button", name="カ", exact=True).click()
        await expect(answer).to_have_value("がっカ")
        smallest = await page.evaluate(
            "() => Math.min(...[...document.querySelectorAll('#keyboard .kb-key')]"
            ".map((b) => Math.min(b.getBoundingClientRect().width, b.getBoundingClientRect().height)))"
        )
        assert smallest >= 44, smallest
        await keys.get_by_role("button", name="閉じる").click()
        await expect(page.locator("#keyboard")).to_be_hidden()
        await expect(page.locator("#keyboard-toggle")).to_be_focused()
        await expect(page.locator("#keyboard-toggle")).to_have_attribute("aria-expanded", "false")
        assert_quiet(session)


async def wait_preference(server: WebServer, key: str, name: str, value: object) -> None:
    """Wait until the stored session has the preference (the page sends it on change)."""
    for _ in range(100):
        stored = await server.services.manager.session(key)
        if stored is not None and stored.preferences.get(name) == value:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never became {value!r}")


async def test_the_big_switch_moves_on_a_press_and_chooses_on_a_hold(
    browser: BrowserChecker, server: WebServer
) -> None:
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await turn_on_scanning(page)
        switch = page.locator("#switch")
        await switch.scroll_into_view_if_needed()
        box = await switch.bounding_box()
        assert box is not None
        # The switch is a pointer target (a switch adaptor is often a mouse button).
        await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(2):  # two short presses: the second choice is highlighted
            await page.mouse.down()
            await page.mouse.up()
        assert await scanned(page) == "choice:event_page"
        await page.mouse.down()
        await page.wait_for_timeout(HOLD_MS + 200)
        await page.mouse.up()
        await wait_question(page, server.services.jobs.jobs["event_page"].questions[0].prompt.en)
        assert_quiet(session)


async def test_automatic_scanning_chooses_with_one_press_and_is_kept(
    browser: BrowserChecker, server: WebServer
) -> None:
    """Automatic scanning ("Move to the next item by itself"): the highlight walks at the user's own speed (no
    time limit is imposed: the user sets it), and one press chooses. Like every setting it is
    kept with the session, so it is still on after a reload."""
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await turn_on_scanning(page)
        await tab_to(page, "pref-scan-speed")
        await page.keyboard.press("Control+A")
        await page.keyboard.type("1")
        await tab_to(page, "pref-scan-auto", backwards=True)  # leaving the box commits it
        await page.keyboard.press("Space")
        await page.wait_for_function(
            "() => document.querySelector('.scan-focus')?.dataset.choice === 'event_page'",
            timeout=WAIT_MS,
        )
        await page.keyboard.press("Space")
        event = server.services.jobs.jobs["event_page"]
        await wait_question(page, event.questions[0].prompt.en)
        await expect(page.locator("#alert")).to_be_empty()
        stored = await server.services.manager.session(await session_key(session))
        assert stored is not None
        assert stored.preferences.get("scan_auto") is True, stored.preferences
        assert stored.preferences.get("scan_speed") == 1.0, stored.preferences
        await page.reload()
        await expect(page.locator("#pref-scan-auto")).to_be_checked()
        assert_quiet(session)


async def test_the_kiosk_screen_mirrors_the_kiosk_session_in_large_type(
    browser: BrowserChecker, server: WebServer, tmp_path: Path
) -> None:
    services = server.services
    # The kiosk is another process: its own store on the same database file, its own manager.
    kiosk_store = SQLiteStore(services.settings.database_path)
    await kiosk_store.open()
    try:
        kiosk = DialogManager(
            jobs=services.jobs,
            phrases=services.phrases,
            store=kiosk_store,
            default_language="en",
            base_url=services.settings.base_url,
        )

        async def say(text: str) -> None:
            await kiosk.handle(
                Turn(session_key="kiosk:local", text=text, language="en", channel="kiosk")
            )

        job = services.jobs.jobs["quiz_game"]
        async with browser.open(server.page_url(kiosk="1", lang="en")) as screen:
            page = screen.page
            # No kiosk has taken this seat yet: the screen says so (not "say hello").
            await wait_question(page, services.phrases.say("en", "web.kiosk_none"))
            await expect(page.locator("#answer-form")).to_have_count(0)  # it only shows
            await expect(page.locator("#continue")).to_be_hidden()  # no code before a session
            await say("hello")
            await wait_state(page, "choose_job")
            await expect(page.locator("#code")).to_have_text(re.compile(r"^[A-Z2-9]{6}$"))
            await expect(page.locator("#choices")).to_contain_text("Quiz game")
            await say("quiz game")
            await wait_question(page, job.questions[0].prompt.en)
            assert await pixels(page, "#question") >= 48, "the question is read from afar"
            await say("Animal fun")
            await wait_question(page, job.questions[1].prompt.en)
            assert await pixels(page, "#choices p") >= 36, "choices are large too"
            for text in ("animals", "skip", "yes"):
                await say(text)
            await wait_state(page, "confirm")
            await expect(page.locator("#question")).to_contain_text("Animal fun")
            await say("yes")
            await wait_state(page, "delivered", DELIVERY_MS)
            qr = page.locator("#qr")
            await expect(qr).to_be_visible()
            await page.wait_for_function(
                "() => document.getElementById('qr').naturalWidth > 100", timeout=WAIT_MS
            )
            assert (await qr.bounding_box() or {"width": 0})["width"] >= 300, "a phone can scan it"
            assert_quiet(screen)
    finally:
        await kiosk_store.close()


async def turn_on_scanning(page: Page) -> None:
    """Settings (Shift+Tab up to the header), then Space on "One-switch scanning"."""
    await tab_to(page, "settings-toggle", backwards=True)
    await page.keyboard.press("Enter")
    await tab_to(page, "pref-scan")
    await page.keyboard.press("Space")
    await expect(page.locator("#switch")).to_be_visible()
    await expect(page.locator("#pref-scan")).to_be_checked()


@contextlib.asynccontextmanager
async def speaking_page(url: str, wav: Path, text: str) -> AsyncIterator[BrowserSession]:
    """The page in a Chromium whose microphone plays ``text`` spoken by Piper.

    Chromium's fake microphone plays one file, chosen at launch and looped, so every spoken
    answer gets its own browser; the session follows through its ``?code=`` address, as it
    would to a phone. Silence before the words covers the moment between pressing Talk and
    the server listening; the silence after them ends the utterance.
    """
    write_wav(wav, silence(1.0) + speak_en(text) + silence(2.5))
    arguments = (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    )
    async with (
        BrowserChecker(require_chromium(), extra_args=arguments) as checker,
        checker.open(url) as session,
    ):
        yield session


async def talk(session: BrowserSession, heard: str) -> None:
    """Press Talk from the keyboard and wait until the server says what it heard."""
    page = session.page
    await tab_to(page, "talk")
    await page.keyboard.press("Enter")
    await expect(page.locator("#heard")).to_contain_text(
        re.compile(re.escape(heard), re.IGNORECASE), timeout=WAIT_MS
    )


async def test_a_job_is_made_by_voice_through_the_page(server: WebServer, tmp_path: Path) -> None:
    job = server.services.jobs.jobs["quiz_game"]
    prompts = [question.prompt.en for question in job.questions]
    async with speaking_page(server.page_url(lang="en"), tmp_path / "0.wav", "quiz game") as s:
        await wait_state(s.page, "choose_job")
        await talk(s, "quiz game")
        await wait_question(s.page, prompts[0])
        # The title is free text: typed, as the design allows (closed answers are spoken).
        await type_answer(s.page, "Animal fun")
        await wait_question(s.page, prompts[1])
        code = (await s.page.locator("#code").text_content() or "").strip()
        key = await session_key(s)
        assert_quiet(s)
    url = server.page_url(lang="en", code=code)
    # Each answer, then what follows it: the next question, or a state.
    steps = [
        ("animals", prompts[2], ""),
        ("three", prompts[3], ""),
        ("yes", "", "confirm"),
        ("yes", "", "delivered"),
    ]
    number = 0
    for words, next_prompt, next_state in steps:
        said = words
        while True:  # an answer the recogniser was unsure of is read back: say "yes" to it
            number += 1
            async with speaking_page(url, tmp_path / f"{number}.wav", said) as s:
                await expect(s.page.locator("#question")).not_to_be_empty(timeout=WAIT_MS)
                await talk(s, said)
                read_back = await after_voice(s.page, next_prompt, next_state)
                if next_state == "delivered" and not read_back:
                    await wait_delivered(s.page)
                assert_quiet(s)
            if not read_back:
                break
            said = "yes"
    stored = await server.services.manager.session(key)
    assert stored is not None
    assert stored.answers == {
        "quiz_title": "Animal fun",
        "topic": "animals",
        "question_count": 3,
        "show_answer": True,
    }


# The browser's microphone, replaced before the page loads: counts requests, and refuses them
# the way a user's "Block" does (or, with ``__micWorks``, gives a silent stream).
MICROPHONE_JS = """window.__mic = 0;
navigator.mediaDevices.getUserMedia = async () => {
  window.__mic += 1;
  if (!window.__micWorks) throw new DOMException("Raw browser text", window.__micError || "NotAllowedError");
  const context = new AudioContext();
  return context.createMediaStreamDestination().stream;
};"""


async def with_init_script(page: Page, script: str) -> None:
    """Run ``script`` before the page's own, from the next load on (and reload now)."""
    await page.add_init_script(script)
    await page.reload()


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        ("NotAllowedError", "web.mic_denied"),  # the user (or a policy) blocked it
        ("NotFoundError", "web.mic_missing"),  # no microphone plugged in
        ("NotReadableError", "web.mic_busy"),  # another program holds it
        ("SomethingNewError", "web.mic_failed"),
    ],
)
async def test_the_microphone_is_asked_for_only_with_a_recogniser_and_refusals_are_explained(
    browser: BrowserChecker, server: WebServer, error: str, sentence: str
) -> None:
    phrases = server.services.phrases
    async with browser.open(server.page_url(lang="ja")) as session:
        page = session.page
        await with_init_script(page, f"window.__micError = {error!r};\n{MICROPHONE_JS}")
        await wait_state(page, "choose_job")
        # No Japanese recogniser on this server: the page says so and never asks the browser.
        assert server.services.web_channel().recognizer_for("ja") is None
        await tab_to(page, "talk")
        await page.keyboard.press("Enter")
        await expect(page.locator("#info")).to_contain_text(
            phrases.say("ja", "web.no_recognizer"), timeout=WAIT_MS
        )
        assert await page.evaluate("() => window.__mic") == 0
        # English has one (PocketSphinx): now the browser is asked, and the user has blocked it.
        await tab_to(page, "language", backwards=True)
        await page.keyboard.press("Enter")
        await expect(page.locator("html")).to_have_attribute("lang", "en", timeout=WAIT_MS)
        await tab_to(page, "talk")
        await page.keyboard.press("Enter")
        alert = page.locator("#alert")
        await expect(alert).to_have_text(phrases.say("en", sentence), timeout=WAIT_MS)
        assert "Raw browser text" not in (await alert.text_content() or "")
        assert await page.evaluate("() => window.__mic") == 1
        await expect(page.locator("#talk")).to_have_attribute("aria-pressed", "false")
        await expect(page.locator("#talk")).to_have_text("Talk")
        assert_quiet(session)


async def test_hands_free_listening_comes_back_after_a_reload(
    browser: BrowserChecker, server: WebServer
) -> None:
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await with_init_script(page, "window.__micWorks = true;\n" + MICROPHONE_JS)
        await wait_state(page, "choose_job")
        await tab_to(page, "settings-toggle", backwards=True)
        await page.keyboard.press("Enter")
        await tab_to(page, "pref-hands-free")
        await page.keyboard.press("Space")
        talk = page.locator("#talk")
        await expect(talk).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
        await page.reload()
        await wait_state(page, "choose_job")
        await expect(talk).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
        await expect(talk).to_have_text("Stop listening")
        assert await page.evaluate("() => window.__mic") == 1, "asked again by the new page"
        assert_quiet(session)


# Every spoken reply the page plays: when it started, ended or was paused.
PLAYS_JS = """window.__plays = [];
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () {
  const record = { start: performance.now(), end: null, paused: null, size: this.src.length };
  window.__plays.push(record);
  window.__audio = [...(window.__audio || []), this];
  this.addEventListener("ended", () => { record.end = performance.now(); });
  this.addEventListener("pause", () => { if (record.end === null) record.paused = performance.now(); });
  return play.call(this);
};"""


async def test_spoken_replies_play_one_at_a_time_and_stop_silences_them(
    browser: BrowserChecker, server: WebServer
) -> None:
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        spoken: list[str] = []  # speech messages the page received

        def on_socket(socket: WebSocket) -> None:
            def on_frame(frame: str | bytes) -> None:
                if isinstance(frame, str) and frame.startswith('{"type": "speech"'):
                    spoken.append(frame)

            socket.on("framereceived", on_frame)

        page.on("websocket", on_socket)
        await with_init_script(page, PLAYS_JS)
        await wait_state(page, "choose_job")
        await type_answer(page, "4")  # a short question to hear again and again
        await wait_state(page, "ask")
        await tab_to(page, "settings-toggle", backwards=True)
        await page.keyboard.press("Enter")
        await tab_to(page, "pref-voice")
        await page.keyboard.press("Space")
        await wait_preference(server, await session_key(session), "voice", True)
        # Two answers in quick succession: the second reply waits for the first to finish.
        await type_answer(page, "repeat")
        await type_answer(page, "repeat")
        await page.wait_for_function(
            "() => window.__plays.length === 2 && window.__plays[1].end !== null",
            timeout=DELIVERY_MS,
        )
        first, second = await page.evaluate("() => window.__plays")
        # (The page starts the next one in the same "ended" event the test records after it.)
        assert first["end"] is not None and second["start"] >= first["end"] - 50, (first, second)
        # Two more, then Escape while the first plays: silence now, the other never starts.
        await type_answer(page, "repeat")
        await type_answer(page, "repeat")
        await page.wait_for_function("() => window.__plays.length === 3", timeout=WAIT_MS)
        for _ in range(100):  # both replies are here: one playing, one waiting its turn
            if len(spoken) == 4:
                break
            await asyncio.sleep(0.05)
        assert len(spoken) == 4, len(spoken)
        assert len(await page.evaluate("() => window.__plays")) == 3
        await expect(page.locator("#stop-speech")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.locator("#stop-speech")).to_be_hidden()
        # The dropped reply never starts: replies play in order, so the next one to play is
        # the next one said (a short answer to "slower", unlike the dropped question).
        await type_answer(page, "slower")
        await page.wait_for_function("() => window.__plays.length === 4", timeout=DELIVERY_MS)
        plays = await page.evaluate("() => window.__plays")
        assert plays[2]["end"] is None and plays[3]["size"] != plays[2]["size"], plays
        assert await page.evaluate("() => window.__audio[2].paused && !window.__audio[2].ended")
        # Saying (here: typing) "stop" while a reply plays: the server tells the page to stop.
        await type_answer(page, "repeat")
        await page.wait_for_function("() => window.__plays.length === 5", timeout=DELIVERY_MS)
        await type_answer(page, "stop")
        await expect(page.locator("#stop-speech")).to_be_hidden(timeout=WAIT_MS)
        assert await page.evaluate("() => window.__audio[4].paused && !window.__audio[4].ended")
        assert_quiet(session)


async def test_progress_with_a_fraction_fills_the_bar(
    browser: BrowserChecker, server: WebServer
) -> None:
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        key = await session_key(session)
        progress = page.locator("#progress")

        def step(fraction: float | None) -> Reply:
            return Reply(
                kind=ReplyKind.PROGRESS,
                text="Writing the page…",
                speech="",
                language="en",
                state=SessionState.GENERATING,
                progress=Progress("writing", fraction),
            )

        await server.channel.hub.publish(key, [step(None)])
        await expect(progress).to_be_visible(timeout=WAIT_MS)
        assert await progress.evaluate("(el) => el.matches(':indeterminate')")
        await server.channel.hub.publish(key, [step(0.4)])
        await expect(progress).to_have_js_property("value", 0.4, timeout=WAIT_MS)
        assert not await progress.evaluate("(el) => el.matches(':indeterminate')")
        assert_quiet(session)


READ_BACK = "Is that right?"


async def after_voice(page: Page, next_prompt: str, next_state: str) -> bool:
    """Wait for what follows a spoken answer; True when the page reads it back to check."""
    await page.wait_for_function(
        """([prompt, state, readBack]) => {
             const question = document.getElementById("question").textContent;
             if (question.includes(readBack)) return true;
             return prompt ? question.includes(prompt) : document.body.dataset.state === state;
           }""",
        arg=[next_prompt, next_state, READ_BACK],
        timeout=DELIVERY_MS,
    )
    return READ_BACK in await question_text(page)


async def test_a_page_closed_for_flooding_says_why_and_connects_again(
    browser: BrowserChecker, server: WebServer
) -> None:
    """The server's flood guard closes the socket with a translated reason: the page shows
    it (not just "connection lost"), keeps it shown after it has connected again, and the
    session carries on."""
    async with browser.open(server.page_url(lang="ja")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        key = await session_key(session)
        (connection,) = server.channel.hub._pages[key]  # the page's own socket on the server
        connection.budget.take = lambda: False  # as if it had just sent a burst...
        connection.refused = FLOOD - 1  # ...and gone on past it
        assert not await connection._within_budget()
        flooded = server.services.phrases.say("ja", "web.flooded")
        await expect(page.locator("#alert")).to_have_text(flooded, timeout=WAIT_MS)
        for _ in range(200):  # the page connects again by itself
            if set(server.channel.hub._pages.get(key, ())) - {connection}:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the page did not connect again")
        await page.wait_for_timeout(300)  # connected again: the reason is still there
        await expect(page.locator("#alert")).to_have_text(flooded)
        await type_answer(page, "4")
        await wait_state(page, "ask")
        await expect(page.locator("#alert")).to_be_empty()


async def test_a_delivered_page_is_changed_by_typing_what_to_change_and_undone(
    browser: BrowserChecker, server: WebServer
) -> None:
    """Edits in words (issue 15) in the real page: each makes a new version, shown at once in
    the preview; "undo" brings the one before back as the next version."""
    job = server.services.jobs.jobs["cafe_page"]
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await walk_job(page, job, "en", job_answers(job, "en"))
        await make_it(page)
        await wait_delivered(page)
        first = await page.locator("#preview").get_attribute("src")

        async def fetched(src: str) -> str:
            async with aiohttp.ClientSession() as client, client.get(server.url + src) as got:
                return await got.text()

        async def edited(words: str, said: str) -> str:
            before = await page.locator("#preview").get_attribute("src")
            await type_answer(page, words)
            await expect(page.locator("#log")).to_contain_text(said, timeout=WAIT_MS)
            await expect(page.locator("#preview")).not_to_have_attribute(
                "src", before or "", timeout=DELIVERY_MS
            )
            await wait_delivered(page)
            src = await page.locator("#preview").get_attribute("src")
            assert src is not None
            return await fetched(src)

        bigger = await edited("make the title bigger", "Making the title bigger.")
        assert "h1 { zoom: 1.25; }" in bigger
        undone = await edited("undo", "Going back to the version before.")
        assert '<style id="look">' not in undone
        assert first and '<style id="look">' not in await fetched(first)
        assert_quiet(session)
