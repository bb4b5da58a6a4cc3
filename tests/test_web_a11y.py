"""axe-core audits of the web chat page at every step, in both languages and both themes.

WCAG 2.0, 2.1 and 2.2 A and AA rules (2.2 AA brings ``target-size``) must report nothing at
the job menu, a question, the confirm step, while generating and after delivery. The
"generating" screen is normally gone in a blink: the test holds the real generator at a gate
(``testing/web_page.py``), looks, then lets it finish, so what is audited is what users see.

axe is injected as a script tag, which the page's own Content-Security-Policy forbids (that is
the policy working): the audit's browser context bypasses CSP, and nothing else does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from assistant.events import Turn
from assistant.jobs.conditions import visible_questions
from generators.browser import BrowserChecker
from testing.axe import AXE_MISSING, AXE_PATH, axe_audit, describe_violations
from testing.browser import browser_checker
from testing.web_page import (
    DELIVERY_MS,
    WAIT_MS,
    WebServer,
    answer_question,
    press_choice,
    tab_to,
    wait_delivered,
    wait_question,
    wait_state,
    web_server,
)

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]  # real Chromium

TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
THEMES = ("default", "contrast")


def require_axe() -> None:
    """axe-core from npm, or a failure saying how to install it (never a skip)."""
    if not AXE_PATH.is_file():
        pytest.fail(AXE_MISSING, pytrace=False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    require_axe()
    async with browser_checker() as checker:
        yield checker


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebServer]:
    async with web_server(tmp_path_factory.mktemp("a11y")) as running:
        yield running


async def set_theme(page: Page, theme: str) -> None:
    """Choose the theme with the page's own Settings checkbox (the panel stays open after,
    so every later audit covers the settings too)."""
    if await page.locator("#settings").is_hidden():
        await page.locator("#settings-toggle").focus()
        await page.keyboard.press("Enter")
    box = page.locator("#pref-theme")
    if await box.is_checked() != (theme == "contrast"):
        await box.focus()
        await page.keyboard.press("Space")
    await expect(page.locator("html")).to_have_attribute("data-theme", theme, timeout=WAIT_MS)


FOCUS_JS = """() => { const el = document.activeElement; const style = getComputedStyle(el);
  const panel = getComputedStyle(el.closest('.panel') || document.body);
  return {color: style.outlineColor, width: parseFloat(style.outlineWidth),
          style: style.outlineStyle, behind: panel.backgroundColor}; }"""


def luminance(css_color: str) -> float:
    """Relative luminance (WCAG 2) of an ``rgb(r, g, b)`` colour as Chromium reports it."""
    parts = [float(p) for p in css_color[css_color.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in
              (p / 255 for p in parts)]  # fmt: skip
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def focus_indicator_problem(page: Page) -> str | None:
    """Why the keyboard focus ring of the focused element is hard to see, or None.

    axe does not judge focus rings; WCAG 2.4.7 and 1.4.11 ask for a visible indicator with
    at least 3:1 against what surrounds it (the ring is drawn outside, on the panel).
    """
    ring = await page.evaluate(FOCUS_JS)
    if ring["style"] == "none" or ring["width"] < 2:
        return f"no visible focus ring: {ring}"
    ratio = contrast(ring["color"], ring["behind"])
    return None if ratio >= 3 else f"focus ring contrast {ratio:.2f}:1 < 3:1: {ring}"


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_axe_finds_nothing_at_any_step_in_either_theme(
    browser: BrowserChecker, server: WebServer, language: str
) -> None:
    job = server.services.jobs.jobs["quiz_game"]  # a text, a choice, a number and a yes/no
    title, topic, count, show = job.questions
    found: dict[str, list[dict[str, Any]]] = {}
    passed: set[str] = set()

    async def audit(step: str) -> None:
        for theme in THEMES:
            await set_theme(page, theme)
            result = await axe_audit(page, TAGS)
            found[f"{step}/{theme}"] = result.violations
            passed.update(result.passes)

    async with browser.open(server.page_url(lang=language), bypass_csp=True) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await audit("welcome")
        await press_choice(page, job.id)
        await wait_question(page, title.prompt.get(language))
        await answer_question(page, title, "どうぶつ" if language == "ja" else "Animals", language)
        await wait_question(page, topic.prompt.get(language))
        await audit("question")
        for theme in THEMES:
            await set_theme(page, theme)
            await tab_to(page, "choice:food")
            problem = await focus_indicator_problem(page)
            assert problem is None, f"{theme}: {problem}"
        await answer_question(page, topic, "food", language)
        await wait_question(page, count.prompt.get(language))
        await answer_question(page, count, 4, language)
        await wait_question(page, show.prompt.get(language))
        await answer_question(page, show, True, language)
        await wait_state(page, "confirm")
        await audit("confirm")
        server.gate.close()
        try:
            await press_choice(page, "make")  # focus is on the theme box: Tab on from there
            await wait_state(page, "generating")
            await expect(page.locator("#progress")).to_be_visible()
            assert await server.gate.holding(1), "the real generator is held, not skipped"
            await audit("generating")
        finally:
            server.gate.open()
        await wait_delivered(page)
        await audit("delivered")
        assert not session.console_errors, session.console_errors

    report = "\n".join(f"{where}:\n{describe_violations(v)}" for where, v in found.items() if v)
    assert not report, report
    # The rules that matter most here really ran (a typo in the tags would run none).
    assert {"color-contrast", "target-size", "label", "button-name"} <= passed, passed


SIDEWAYS_JS = """() => ({width: document.documentElement.scrollWidth,
  view: document.documentElement.clientWidth,
  wide: [...document.querySelectorAll('body *')]
    .filter((e) => e.offsetParent !== null
      && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map((e) => e.tagName + (e.id ? '#' + e.id : '')).slice(0, 8)})"""


@pytest.mark.parametrize(
    ("width", "text_end"),
    [(320, False), (640, True)],
    ids=["320px (400% zoom)", "640px with the largest text"],
)
async def test_nothing_scrolls_sideways_when_zoomed_or_with_large_text(
    browser: BrowserChecker, server: WebServer, width: int, text_end: bool
) -> None:
    """WCAG 1.4.10 and 1.4.4: the page reflows into one column at 320 CSS pixels (1280 at
    400%), and the page's own largest text size (250%) still fits a 640-pixel window."""
    job = server.services.jobs.jobs["cafe_page"]
    wide: dict[str, Any] = {}

    async def measure(step: str) -> None:
        result = await page.evaluate(SIDEWAYS_JS)
        if result["width"] > result["view"]:
            wide[step] = result

    async with browser.open(server.page_url(lang="ja"), viewport=(width, 800)) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await page.locator("#settings-toggle").focus()
        await page.keyboard.press("Enter")
        if text_end:
            await page.locator("#pref-text-size").focus()
            await page.keyboard.press("End")
            await expect(page.locator("#text-size-value")).to_have_text("250%")
        await measure("welcome")
        answers = {"shop_name": "ひだまりカフェ", "menu_items": ["コーヒー"]}
        answers |= {"opening_hours": "9時から17時", "mood": "pop", "add_more": False}
        await press_choice(page, job.id)
        for question in visible_questions(job, answers):  # declined sections are not asked
            await wait_question(page, question.prompt.ja)
            if question.id == "menu_items":
                await measure("question")
                await page.locator("#keyboard-toggle").focus()
                await page.keyboard.press("Enter")
                await expect(page.locator("#keyboard")).to_be_visible()
                await measure("on-screen keyboard")
                await page.keyboard.press("Enter")  # focus is still on the toggle: closed
                await expect(page.locator("#keyboard")).to_be_hidden()
            if question.id in answers:
                await answer_question(page, question, answers[question.id], "ja")
            else:
                await answer_question(page, question, "スキップ", "ja")
        await wait_state(page, "confirm")
        await measure("confirm")
        await press_choice(page, "make")
        await wait_delivered(page)
        await measure("delivered")
    assert not wide, wide


KIOSK_SCRIPTS = {
    "ja": (
        ("こんにちは", "クイズ", "どうぶつクイズ"),
        "テーマ",
        ("どうぶつ", "スキップ", "はい", "はい"),
    ),
    "en": (("hello", "quiz game", "Animal fun"), "about?", ("animals", "skip", "yes", "yes")),
}


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_the_kiosk_screen_passes_axe_in_both_themes(
    browser: BrowserChecker, server: WebServer, language: str
) -> None:
    """The kiosk screen is read, not operated, but must still be readable by everyone: the
    same rules at a question with choices and after delivery, in the kiosk session's theme."""
    manager = server.services.manager
    kiosk = f"screen-{language}"
    key = f"kiosk:{kiosk}"
    found: dict[str, list[dict[str, Any]]] = {}
    before, topic, after = KIOSK_SCRIPTS[language]

    async def say(text: str) -> None:
        await manager.handle(Turn(session_key=key, text=text, language=language, channel="kiosk"))

    async def audit(step: str) -> None:
        for theme in THEMES:
            await manager.update_preferences(key, "kiosk", {"theme": theme})
            await expect(page.locator("html")).to_have_attribute("data-theme", theme)
            found[f"kiosk {step}/{theme}"] = (await axe_audit(page, TAGS)).violations

    url = server.page_url(kiosk=kiosk, lang=language)
    async with browser.open(url, bypass_csp=True) as session:
        page = session.page
        for text in before:
            await say(text)
        await wait_question(page, topic)
        await audit("question")
        for text in after:
            await say(text)
        await wait_state(page, "delivered", DELIVERY_MS)
        await expect(page.locator("#qr")).to_be_visible()
        await audit("delivered")
        assert not session.console_errors, session.console_errors
    report = "\n".join(f"{where}:\n{describe_violations(v)}" for where, v in found.items() if v)
    assert not report, report


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_axe_finds_nothing_with_scanning_the_keyboard_errors_and_notices(
    browser: BrowserChecker, server: WebServer, language: str
) -> None:
    """What the main walk does not show: settings closed, one-switch scanning on with its
    highlight and big switch, the on-screen keyboard open on a text question, an error
    (a wrong code) and a notice (no recogniser) at once."""
    job = server.services.jobs.jobs["quiz_game"]
    found: dict[str, list[dict[str, Any]]] = {}
    passed: set[str] = set()

    async def audit(step: str) -> None:
        for theme in THEMES:
            await set_theme(page, theme)
            await close_settings(page)
            result = await axe_audit(page, TAGS)
            found[f"{step}/{theme}"] = result.violations
            passed.update(result.passes)

    async def close_settings(page: Page) -> None:
        if await page.locator("#settings").is_visible():
            await page.locator("#settings-toggle").focus()
            await page.keyboard.press("Enter")
        await expect(page.locator("#settings")).to_be_hidden()

    async with browser.open(server.page_url(lang=language), bypass_csp=True) as session:
        page = session.page
        await wait_state(page, "choose_job")
        await audit("settings closed")
        await press_choice(page, job.id)
        await wait_question(page, job.questions[0].prompt.get(language))
        await set_theme(page, "default")
        await page.locator("#pref-scan").focus()
        await page.keyboard.press("Space")
        await close_settings(page)
        await expect(page.locator("#switch")).to_be_visible()
        await expect(page.locator("#keyboard")).to_be_visible()  # a text question
        await page.locator("#question").focus()
        for _ in range(2):
            await page.keyboard.press("Space")
        await expect(page.locator(".kb-row.scan-focus")).to_have_count(1)
        await audit("scanning with the keyboard")
        await page.locator(".scan-focus").focus()  # the audit's theme changes moved focus
        await page.keyboard.press("Enter")  # into the row: a key is highlighted
        await expect(page.locator(".kb-key.scan-focus")).to_have_count(1)
        await audit("scanning a row")
        await page.locator("#continue-code").fill("ZZZZZZ")
        await page.locator("#continue-code").press("Enter")
        await expect(page.locator("#alert")).to_contain_text("ZZZZZZ", timeout=WAIT_MS)
        await page.locator("#talk").click()
        await expect(page.locator("#info")).not_to_be_empty(timeout=WAIT_MS)
        await audit("error and notice")
        assert not session.console_errors, session.console_errors
    report = "\n".join(f"{where}:\n{describe_violations(v)}" for where, v in found.items() if v)
    assert not report, report
    assert {"color-contrast", "target-size", "button-name", "aria-allowed-attr"} <= passed, passed
