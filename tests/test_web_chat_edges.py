"""The web chat's rough edges a new user hits (issue 14, "The web chat"), in real Chromium.

Each test drives the page with the keyboard only, as ``tests/test_web_page.py`` does, against
the real service on 127.0.0.1 (``testing/web_page.py``), and asserts what a user would notice:
where the keys they type go, what an error looks like, what a button says.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import expect

from assistant.speech.audio import silence
from generators.browser import BrowserChecker, BrowserSession
from testing.browser import browser_checker
from testing.web_page import (
    WAIT_MS,
    WebServer,
    job_answers,
    make_it,
    press_choice,
    tab_to,
    wait_delivered,
    wait_focus_on_answer,
    wait_question,
    wait_state,
    walk_job,
    web_server,
)

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]  # real Chromium


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebServer]:
    async with web_server(tmp_path_factory.mktemp("edges")) as running:
        yield running


def assert_quiet(session: BrowserSession) -> None:
    """The page threw nothing and logged no error."""
    assert not session.console_errors, session.console_errors


async def test_keys_typed_after_an_answer_go_into_the_next_answer(
    browser: BrowserChecker, server: WebServer
) -> None:
    """After each answer, typed or pressed, focus is in the answer box: a user who types the
    next answer straight away (no Tab) loses nothing, and the new question is announced in
    the live region instead of by moving focus to the heading."""
    job = server.services.jobs.jobs["quiz_game"]
    title, topic, count = job.questions[:3]
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await wait_focus_on_answer(page)
        await press_choice(page, job.id)
        await wait_question(page, title.prompt.en)
        await wait_focus_on_answer(page)  # a pressed button hands the keyboard back
        await expect(page.locator("#live")).to_contain_text(title.prompt.en, timeout=WAIT_MS)
        await page.keyboard.type("Zoo")  # no Tab, no click: straight in
        await page.keyboard.press("Enter")
        await wait_question(page, topic.prompt.en)
        await expect(page.locator("#live")).to_contain_text(topic.prompt.en, timeout=WAIT_MS)
        await expect(page.locator("#question")).not_to_be_focused()
        await page.keyboard.type("4")  # science, by its number
        await page.keyboard.press("Enter")
        await wait_question(page, count.prompt.en)
        await wait_focus_on_answer(page)
        stored = await server.services.manager.session(
            str(await page.evaluate("() => localStorage.getItem('facility-assistant.session')"))
        )
        assert stored is not None
        assert stored.answers == {"quiz_title": "Zoo", "topic": "science"}
        assert_quiet(session)


async def test_a_wrong_or_blank_answer_is_shown_as_an_error_on_the_answer_box(
    browser: BrowserChecker, server: WebServer
) -> None:
    """A number out of range is an error: the alert region says why, the box is marked invalid
    and described by it, focus stays in the box. A blank answer gets its own clear message
    instead of nothing; a good answer clears the error."""
    job = server.services.jobs.jobs["quiz_game"]
    title, topic, count = job.questions[:3]
    phrases = server.services.phrases
    async with browser.open(server.page_url(lang="ja")) as session:
        page = session.page
        await press_choice(page, job.id)
        await wait_question(page, title.prompt.ja)
        alert = page.locator("#alert")
        box = page.locator("#answer")
        await page.keyboard.press("Enter")  # nothing typed
        await expect(alert).to_have_text(phrases.say("ja", "web.blank_answer"), timeout=WAIT_MS)
        await expect(box).to_have_attribute("aria-invalid", "true")
        await expect(box).to_have_attribute("aria-describedby", "alert")
        await expect(box).to_be_focused()
        await page.keyboard.type("どうぶつクイズ")
        await page.keyboard.press("Enter")
        await wait_question(page, topic.prompt.ja)
        await expect(alert).to_be_empty()
        await expect(box).not_to_have_attribute("aria-invalid", "true")
        await press_choice(page, "food")
        await wait_question(page, count.prompt.ja)
        await wait_focus_on_answer(page)
        await page.keyboard.type("99")
        await page.keyboard.press("Enter")
        too_large = phrases.say("ja", "problem.too_large", typed=True, max=10)
        await expect(alert).to_have_text(too_large, timeout=WAIT_MS)
        await expect(page.locator("#info")).not_to_contain_text(too_large)  # said once, as an error
        await expect(box).to_have_attribute("aria-invalid", "true")
        await expect(box).to_be_focused()
        colour = await alert.evaluate("(el) => getComputedStyle(el).borderLeftStyle")
        assert colour == "solid", "the error is marked, not plain text"
        await page.keyboard.type("4")
        await page.keyboard.press("Enter")
        await wait_question(page, job.questions[3].prompt.ja)
        await expect(alert).to_be_empty()
        await expect(box).not_to_have_attribute("aria-invalid", "true")
        assert_quiet(session)


async def test_back_and_change_show_and_prefill_the_earlier_answer(
    browser: BrowserChecker, server: WebServer
) -> None:
    """Back shows the earlier answer and puts it in the box (a list as its items joined as
    typed), so one more item is End and a few keys, not the whole list again. The read-back's
    buttons say which answer they change, with "make it" as the main action."""
    job = server.services.jobs.jobs["todo_list"]
    title, items, colour, save = job.questions
    async with browser.open(server.page_url(lang="ja")) as session:
        page = session.page
        box = page.locator("#answer")
        await press_choice(page, job.id)
        await wait_question(page, title.prompt.ja)
        await page.keyboard.type("かいもの")
        await page.keyboard.press("Enter")
        await wait_question(page, items.prompt.ja)
        await page.keyboard.type("パン、ケーキ")
        await page.keyboard.press("Enter")
        await wait_question(page, colour.prompt.ja)
        await tab_to(page, "BUTTON:戻る")
        await page.keyboard.press("Enter")
        await wait_question(page, items.prompt.ja)
        await expect(box).to_have_value("パン、ケーキ", timeout=WAIT_MS)
        await expect(box).to_be_focused()
        await expect(page.locator("#info")).to_contain_text("パン、ケーキ")
        await page.keyboard.press("End")
        await page.keyboard.type("、プリン")
        await page.keyboard.press("Enter")
        await wait_question(page, colour.prompt.ja)
        await expect(box).to_have_value("")  # a new question starts empty
        await page.keyboard.type("あお")
        await page.keyboard.press("Enter")
        await wait_question(page, save.prompt.ja)
        await press_choice(page, "yes")
        await wait_state(page, "confirm")
        make = page.locator("#choices button[data-choice=make]")
        change = page.locator(f"#choices button[data-choice={items.id}]")
        await expect(change).to_have_text("最初にのせることを直す")
        await expect(page.locator(f"#choices button[data-choice={title.id}]")).to_have_text(
            "リストの名前を直す"
        )
        looks = "(el) => [getComputedStyle(el).fontSize, getComputedStyle(el).backgroundColor]"
        make_size, make_colour = await make.evaluate(looks)
        change_size, change_colour = await change.evaluate(looks)
        assert float(make_size[:-2]) > float(change_size[:-2]), "make it is the larger button"
        assert make_colour != change_colour, "make it is coloured as the main action"
        await press_choice(page, items.id)
        await wait_question(page, items.prompt.ja)
        await expect(box).to_have_value("パン、ケーキ、プリン", timeout=WAIT_MS)
        await page.keyboard.press("Enter")  # kept as it is
        await wait_state(page, "confirm")
        key = await page.evaluate("() => localStorage.getItem('facility-assistant.session')")
        stored = await server.services.manager.session(str(key))
        assert stored is not None
        assert stored.answers["first_items"] == ["パン", "ケーキ", "プリン"]
        assert_quiet(session)


async def test_delivery_says_it_is_ready_with_large_links_and_keeps_what_was_made(
    browser: BrowserChecker, server: WebServer
) -> None:
    """The heading says the thing is ready; Download and Preview are large buttons above the
    preview, which never scrolls inside the page (the wheel moves the page); nothing about
    the writing helper; after "make another" the links stay in "What you made"."""
    job = server.services.jobs.jobs["quiz_game"]
    phrases = server.services.phrases
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await walk_job(page, job, "en", job_answers(job, "en"))
        await make_it(page)
        await wait_delivered(page)
        ready = phrases.say("en", "delivered", title=job.title.en)
        await wait_question(page, ready)
        await expect(page.locator("#info")).to_contain_text(phrases.say("en", "delivered_next"))
        await expect(page.locator("body")).not_to_contain_text("writing helper")
        for link in ("#download", "#preview-link"):
            box = await page.locator(link).bounding_box()
            frame = await page.locator("#preview").bounding_box()
            assert box and frame and box["height"] >= 48, (link, box)
            assert box["y"] + box["height"] <= frame["y"], f"{link} is above the preview"
        frame = await page.locator("#preview").bounding_box()
        assert frame is not None
        await page.mouse.move(frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
        before = await page.evaluate("() => window.scrollY")
        await page.mouse.wheel(0, 400)
        await page.wait_for_function(f"() => window.scrollY > {before}", timeout=WAIT_MS)
        download = await page.locator("#download").get_attribute("href")
        await page.keyboard.press("Escape")  # (nothing playing: harmless) back to the keyboard
        await press_choice(page, "another")
        await wait_state(page, "choose_job")
        await expect(page.locator("#delivery")).to_be_hidden()
        made = page.locator("#made-list li")
        await expect(made).to_have_count(1)
        await expect(made).to_contain_text(job.title.en)
        await expect(made.locator("a", has_text="Download")).to_have_attribute(
            "href", str(download)
        )
        await page.reload()  # kept for the tab's life
        await wait_state(page, "choose_job")
        await expect(page.locator("#made-list li")).to_have_count(1)
        assert_quiet(session)


async def test_a_reload_keeps_the_conversation_and_a_wrong_code_is_said(
    browser: BrowserChecker, server: WebServer
) -> None:
    """The conversation log survives a reload (the answer is not logged twice); a wrong code
    in the address says it was not found, in the page's language, and stays said."""
    job = server.services.jobs.jobs["quiz_game"]
    title, topic = job.questions[:2]
    phrases = server.services.phrases
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await press_choice(page, job.id)
        await wait_question(page, title.prompt.en)
        await page.keyboard.type("Animal fun")
        await page.keyboard.press("Enter")
        await wait_question(page, topic.prompt.en)
        log = page.locator("#log li")
        before = await log.all_text_contents()
        assert "Animal fun" in before
        await page.reload()
        await wait_question(page, topic.prompt.en)
        await expect(log.filter(has_text=re.compile("^Animal fun$"))).to_have_count(1)
        after = await log.all_text_contents()
        assert after[: len(before)] == before, "the whole conversation is still there"
        assert_quiet(session)
    for language in ("en", "ja"):
        async with browser.open(server.page_url(lang=language, code="ZZZZZZ")) as session:
            page = session.page
            await wait_state(page, "choose_job")
            alert = page.locator("#alert")
            await expect(alert).to_contain_text(
                phrases.say(language, "web.no_code", code="ZZZZZZ"), timeout=WAIT_MS
            )
            await expect(alert).to_contain_text(phrases.say(language, "web.new_session_started"))
            await page.wait_for_timeout(300)  # the new session's replies arrived: still said
            await expect(alert).not_to_be_empty()


async def test_controls_say_what_they_are_and_the_keyboard_follows_the_language(
    browser: BrowserChecker, server: WebServer
) -> None:
    """No two controls share a name; the text-size slider is read as a percentage; the
    English letters have a comma (lists); switching to Japanese gives kana; the scanning
    highlight looks nothing like the focus ring; making something can be stopped by a button."""
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await wait_state(page, "choose_job")
        names = await page.evaluate(
            """() => [...document.querySelectorAll('button:not([hidden]), input')]
                .filter((el) => el.offsetParent !== null)
                .map((el) => el.getAttribute('aria-label') || el.textContent.trim())
                .filter(Boolean)"""
        )
        doubled = {name for name in names if names.count(name) > 1}
        assert not doubled, doubled
        await expect(page.locator("#pref-text-size")).to_have_attribute("aria-valuetext", "100%")
        await tab_to(page, "keyboard-toggle")
        await page.keyboard.press("Enter")
        await expect(page.locator("#keyboard .kb-key[data-key=',']")).to_be_visible()
        await tab_to(page, "language", backwards=True)
        await page.keyboard.press("Enter")
        await expect(page.locator("html")).to_have_attribute("lang", "ja", timeout=WAIT_MS)
        await expect(page.locator("#keyboard .kb-key[data-key='あ']")).to_be_visible()
        await expect(page.locator("#keyboard .kb-key[data-key='a']")).to_have_count(0)

        # The slider, moved by keyboard, says its value as shown.
        await tab_to(page, "settings-toggle", backwards=True)
        await page.keyboard.press("Enter")
        await tab_to(page, "pref-text-size")
        await page.keyboard.press("ArrowRight")
        await expect(page.locator("#pref-text-size")).to_have_attribute("aria-valuetext", "125%")

        # Scanning on: the highlight against the focus ring, in both themes.
        await tab_to(page, "pref-scan")
        await page.keyboard.press("Space")
        await expect(page.locator("#switch")).to_be_visible()
        ring = "(el) => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineColor]"
        for theme_on in (False, True):
            await page.locator("#question").focus()
            await page.keyboard.press("Space")
            lit = page.locator(".scan-focus")
            await expect(lit).to_have_count(1)
            scan_style, scan_colour = await lit.evaluate(ring)
            await page.locator("#language").focus()
            await page.keyboard.press("Shift+Tab")
            await page.keyboard.press("Tab")  # a keyboard focus ring on the language button
            focus_style, focus_colour = await page.locator("#language").evaluate(ring)
            assert scan_style != focus_style and scan_colour != focus_colour, (
                scan_style, scan_colour, focus_style, focus_colour
            )  # fmt: skip
            if not theme_on:
                await page.locator("#pref-theme").focus()
                await page.keyboard.press("Space")  # (a settings box keeps its Space)
                await expect(page.locator("html")).to_have_attribute("data-theme", "contrast")
        await page.locator("#pref-scan").focus()
        await page.keyboard.press("Space")
        await expect(page.locator("#switch")).to_be_hidden()

        # Making it: a Cancel button stops it.
        job = server.services.jobs.jobs["todo_list"]
        answers = {"list_title": "今日", "first_items": None, "list_color": None}
        answers["save_in_browser"] = None
        await walk_job(page, job, "ja", answers)
        server.gate.close()
        try:
            await make_it(page)
            await wait_state(page, "generating")
            cancel = page.locator("#cancel-making")
            await expect(cancel).to_be_visible()
            await expect(cancel).to_have_text(
                server.services.phrases.say("ja", "web.cancel_making")
            )
            await tab_to(page, "cancel-making")
            await page.keyboard.press("Enter")
            await wait_state(page, "confirm")
            await expect(cancel).to_be_hidden()
        finally:
            server.gate.open()
        assert_quiet(session)


async def test_numbers_and_colours_get_controls_and_skip_only_where_it_may(
    browser: BrowserChecker, server: WebServer
) -> None:
    """Skip is offered on optional questions only; a number question gets the number pad and,
    for a small range, a button per number; a colour question gets swatches named in words."""
    quiz = server.services.jobs.jobs["quiz_game"]
    title, topic, count, show = quiz.questions
    async with browser.open(server.page_url(lang="en")) as session:
        page = session.page
        await press_choice(page, quiz.id)
        await wait_question(page, title.prompt.en)
        await expect(page.locator("#skip")).to_be_hidden()  # a required question
        await page.keyboard.type("Zoo")
        await page.keyboard.press("Enter")
        await wait_question(page, topic.prompt.en)
        await press_choice(page, "animals")
        await wait_question(page, count.prompt.en)
        await expect(page.locator("#skip")).to_be_visible()  # optional: it has a default
        await expect(page.locator("#answer")).to_have_attribute("inputmode", "numeric")
        numbers = page.locator("#choices button")
        await expect(numbers).to_have_text([str(n) for n in range(3, 11)])
        await press_choice(page, "7")
        await wait_question(page, show.prompt.en)
        await expect(page.locator("#answer")).not_to_have_attribute("inputmode", "numeric")
        await tab_to(page, "skip")  # Skip is reachable here, and works
        await page.keyboard.press("Enter")
        await wait_state(page, "confirm")
        key = await page.evaluate("() => localStorage.getItem('facility-assistant.session')")
        stored = await server.services.manager.session(str(key))
        assert stored is not None and stored.answers["question_count"] == 7

    todo = server.services.jobs.jobs["todo_list"]
    async with browser.open(server.page_url(lang="ja")) as session:
        page = session.page
        await press_choice(page, todo.id)
        await wait_question(page, todo.questions[0].prompt.ja)
        await page.keyboard.type("きょう")
        await page.keyboard.press("Enter")
        await wait_question(page, todo.questions[1].prompt.ja)
        await page.keyboard.type("パン")
        await page.keyboard.press("Enter")
        await wait_question(page, todo.questions[2].prompt.ja)
        green = page.locator("#choices button[data-choice='緑']")
        await expect(green).to_have_text("緑")  # the name, never "#008000"
        await expect(page.locator("#choices")).not_to_contain_text("#")
        swatch = await green.locator(".swatch").evaluate(
            "(el) => getComputedStyle(el).backgroundColor"
        )
        assert swatch == "rgb(0, 128, 0)", swatch
        await press_choice(page, "緑")
        await wait_question(page, todo.questions[3].prompt.ja)
        key = await page.evaluate("() => localStorage.getItem('facility-assistant.session')")
        stored = await server.services.manager.session(str(key))
        assert stored is not None and stored.answers["list_color"] == "#008000"
        assert_quiet(session)


async def test_a_reply_read_aloud_shows_its_text_before_its_audio_is_ready(
    browser: BrowserChecker, server: WebServer
) -> None:
    """With "read replies aloud" on, the next question is on screen while its audio is still
    being made (held here, as a slow voice would be); the audio plays when it comes."""
    held = threading.Event()
    made: list[str] = []

    def slow_voice(text: str, language: str, rate: float) -> bytes:
        made.append(text)
        held.wait(30)
        return silence(1.5)

    job = server.services.jobs.jobs["quiz_game"]
    saved = server.channel._synthesize
    server.channel._synthesize = slow_voice
    try:
        async with browser.open(server.page_url(lang="en")) as session:
            page = session.page
            await wait_state(page, "choose_job")
            await tab_to(page, "settings-toggle", backwards=True)
            await page.keyboard.press("Enter")
            await tab_to(page, "pref-voice")
            await page.keyboard.press("Space")
            await expect(page.locator("#pref-voice")).to_be_checked()
            await press_choice(page, job.id)
            await wait_question(page, job.questions[0].prompt.en)  # shown, audio still held
            assert not held.is_set() and made, "the voice was asked and is still working"
            held.set()
            await expect(page.locator("#stop-speech")).to_be_visible(timeout=WAIT_MS)
            assert_quiet(session)
    finally:
        held.set()
        server.channel._synthesize = saved
