"""Helpers for tests that drive the web chat page in real Chromium against a real server.

The server runs in the test's own event loop, exactly as ``assistant serve`` wires it
(``Services.build`` + ``init_app`` + ``web_channel().add_routes``) on a real SQLite file and a
real socket on 127.0.0.1, so the generation queue really makes artifacts and delivery really
reaches the page through the websocket. Nothing of the page is faked: tests press keys.

The helpers drive the page with the keyboard only (never ``click``): a test that clicked would
pass for a page that a keyboard user cannot finish.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from playwright.async_api import Page, expect

from assistant.client_address import TrustedProxies
from assistant.compose import Services
from assistant.config import Settings
from assistant.jobs.catalog import Job, Question
from assistant.jobs.conditions import visible_questions
from assistant.server import init_app
from channels.web.channel import WebChannel
from testing.answer_sets import VALID
from testing.gate import Gate, GatedGenerator

# Playwright's own timeout for one expectation: generous for two busy shared cores, and a
# real failure still ends the test quickly enough.
WAIT_MS = 15_000
# How long delivery may take (a program job also loads its result in Chromium to check it).
DELIVERY_MS = 45_000
# How tests name an element: its id, ``choice:<id>`` for a choice button, else ``TAG:text``.
_NAME_JS = """(el) => !el ? "" : el.id || (el.dataset && el.dataset.choice
    ? "choice:" + el.dataset.choice
    : el.tagName + ":" + (el === document.body ? "" : (el.textContent || "").trim()))"""


def free_port() -> int:
    """A port nobody listens on now (the server must know its own base URL up front)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WebServer:
    """A running service: ``url`` for the browser, ``services`` for the test to look inside."""

    services: Services
    channel: WebChannel
    url: str
    gate: Gate = field(default_factory=Gate)

    def page_url(self, **query: str) -> str:
        """The chat page with a query (``lang="en"``, ``kiosk="1"``, ``code=...``)."""
        if not query:
            return self.url + "/"
        return self.url + "/?" + "&".join(f"{k}={v}" for k, v in query.items())


@contextlib.asynccontextmanager
async def web_server(
    data_dir: Path, *, voice: bool = False, language: str = "ja", **more: Any
) -> AsyncIterator[WebServer]:
    """The whole service on a free port, stopped and closed afterwards; ``more``: other
    settings (``user_publish=True``)."""
    port = free_port()
    # Every browser test here comes from 127.0.0.1 to one server: no limit on new sessions.
    # Template results only: the page is under test, not the language model (issue 13 made
    # the embedded Qwen the default, which would write every page for seconds). Japanese
    # speech is off, as before Whisper served it: the page's "no recogniser" path is under test
    # here; Japanese recognition is tested in test_whisper_recognition and test_kiosk.
    settings = Settings(
        data_dir=data_dir, port=port, language=language, web_voice=voice,
        new_sessions_per_address=0, llm_enabled=False, stt_engine_ja="none",
        lan_links=False,  # the page is opened on 127.0.0.1, where this server listens
        **more,
    )  # fmt: skip
    services = Services.build(settings)
    gate = Gate()
    services.queue.generators = {
        kind: GatedGenerator(generator, gate)
        for kind, generator in services.queue.generators.items()
    }
    await services.start()
    app = init_app(
        services.store,
        services.jobs,
        base_url=settings.base_url,
        site_dir=settings.site_path,
        metrics_access=services.metrics_access(),
        trusted_proxies=TrustedProxies(settings.trusted_proxies),
    )
    channel = services.web_channel()
    channel.add_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    try:
        await site.start()
        yield WebServer(services, channel, settings.base_url, gate)
    finally:
        gate.open()
        await runner.cleanup()
        await services.stop()


# -- reading the page -----------------------------------------------------------------------


async def question_text(page: Page) -> str:
    """The current question heading as shown."""
    return (await page.locator("#question").text_content() or "").strip()


async def wait_question(page: Page, pattern: str | re.Pattern[str]) -> None:
    """Wait until the heading shows ``pattern`` (a regex or a plain substring)."""
    if isinstance(pattern, str):
        pattern = re.compile(re.escape(pattern))
    await expect(page.locator("#question")).to_have_text(pattern, timeout=WAIT_MS)


async def wait_focus_on_answer(page: Page) -> None:
    """After a new question focus is in the answer box, visibly, so keys typed at once go
    into the answer (the question itself is announced through the live region)."""
    box = page.locator("#answer")
    await expect(box).to_be_focused(timeout=WAIT_MS)
    assert await box.evaluate("(el) => el.matches(':focus-visible')"), "focus is visible"


async def focused_id(page: Page) -> str:
    """What has focus: its id, ``choice:<id>`` for a choice button, else ``TAG:text``."""
    return str(await page.evaluate(f"() => ({_NAME_JS})(document.activeElement)"))


async def state(page: Page) -> str:
    """The session state the page last showed (from the page's own ``data-state``)."""
    return str(await page.evaluate("() => document.body.dataset.state || ''"))


async def wait_state(page: Page, wanted: str, within_ms: int = WAIT_MS) -> None:
    """Wait until the page shows the session in state ``wanted``."""
    await expect(page.locator("body")).to_have_attribute("data-state", wanted, timeout=within_ms)


# -- driving the page by keyboard -----------------------------------------------------------


_AFTER_CHOICES_JS = """() => Boolean(document.activeElement && document.activeElement !== document.body
    && document.getElementById('choices').compareDocumentPosition(document.activeElement)
       & Node.DOCUMENT_POSITION_FOLLOWING
    && !document.getElementById('choices').contains(document.activeElement))"""


async def tab_to(page: Page, wanted: str, *, limit: int = 60, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until ``wanted`` (as ``focused_id`` names it) has focus."""
    key = "Shift+Tab" if backwards else "Tab"
    seen = []
    for _ in range(limit):
        if await focused_id(page) == wanted:
            return
        await page.keyboard.press(key)
        seen.append(await focused_id(page))
    raise AssertionError(f"{wanted!r} never got focus by {key}; focus went through {seen[:25]}")


async def type_answer(page: Page, text: str) -> None:
    """Into the answer box (focus is there after a question; else by Tab), type, and send."""
    await tab_to(page, "answer")
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def press_choice(
    page: Page, choice_id: str, key: str = "Enter", *, overshoot: bool = False
) -> None:
    """Tab to a choice button and press it with Enter (or Space).

    ``overshoot``: Tab on to the answer box first and come back with Shift+Tab, as a user who
    went one too far does; the way back must reach the same button.
    """
    if overshoot:
        await tab_to(page, "answer")
        await tab_to(page, f"choice:{choice_id}", backwards=True)
    else:
        # From the answer box (or anything after the buttons) the way back is the short one.
        after = await page.evaluate(_AFTER_CHOICES_JS)
        await tab_to(page, f"choice:{choice_id}", backwards=bool(after))
    await page.keyboard.press(key)


def typed_answer(question: Question, value: Any, language: str) -> str:
    """What a user would type for an answer-set value of ``question``."""
    if question.type == "list":
        return ("、" if language == "ja" else ", ").join(value)
    if question.type == "yesno":
        return ("はい" if value else "いいえ") if language == "ja" else ("yes" if value else "no")
    if question.type == "date":
        year, month, day = value.split("-")
        return f"{year}年{int(month)}月{int(day)}日" if language == "ja" else value
    return str(value)


def job_answers(job: Job, language: str, answer_set: str = "typical") -> dict[str, Any]:
    """One answer set of a job from ``testing.answer_sets``."""
    return VALID[job.id][language][answer_set]


async def answer_question(
    page: Page,
    question: Question,
    value: Any,
    language: str,
    key: str = "Enter",
    *,
    overshoot: bool = False,
) -> None:
    """Answer the current question from the keyboard: a choice button, or typing."""
    if question.type == "choice":
        await press_choice(page, str(value), key, overshoot=overshoot)
    elif question.type == "yesno":
        await press_choice(page, "yes" if value else "no", key, overshoot=overshoot)
    else:
        await type_answer(page, typed_answer(question, value, language))


async def walk_job(
    page: Page,
    job: Job,
    language: str,
    answers: dict[str, Any],
    *,
    choose_key: str = "Enter",
    overshoot: bool = False,
) -> None:
    """From the job menu to the confirm screen, keyboard only, each question checked first:
    shown, focused, and announced in the live region for screen readers."""
    await press_choice(page, job.id, choose_key, overshoot=overshoot)
    given = {key: value for key, value in answers.items() if value is not None}
    for question in visible_questions(job, given):  # a section declined is never asked
        prompt = question.prompt.get(language)
        await wait_question(page, prompt)
        await wait_focus_on_answer(page)
        await expect(page.locator("#live")).to_contain_text(prompt, timeout=WAIT_MS)
        value = answers.get(question.id)
        if value is None:  # an optional question left out: say so, as a user types it
            await type_answer(page, "スキップ" if language == "ja" else "skip")
        else:
            await answer_question(page, question, value, language, choose_key, overshoot=overshoot)
    await wait_state(page, "confirm")


async def make_it(page: Page, key: str = "Enter", *, overshoot: bool = False) -> None:
    """On the confirm screen: press "make it"."""
    await wait_state(page, "confirm")
    await wait_focus_on_answer(page)
    await press_choice(page, "make", key, overshoot=overshoot)


async def wait_delivered(page: Page) -> None:
    """Preview, download link and QR code all shown (and loaded) after delivery."""
    await wait_state(page, "delivered", DELIVERY_MS)
    delivery = page.locator("#delivery")
    await expect(delivery).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#preview")).to_have_attribute(
        "src", re.compile(r"^/p/[A-Za-z0-9_-]{20,}/$")
    )
    await expect(page.locator("#download")).to_have_attribute(
        "href", re.compile(r"/a/[A-Za-z0-9_-]{20,}$")
    )
    await expect(page.locator("#qr")).to_have_attribute("src", re.compile(r"^/q/.+\.(svg|png)$"))
    await page.wait_for_function(
        "() => { const qr = document.getElementById('qr');"
        " return qr.complete && qr.naturalWidth > 100; }",
        timeout=WAIT_MS,
    )
    frame = page.frame_locator("#preview")
    await expect(frame.locator("body")).not_to_be_empty(timeout=WAIT_MS)


# -- one-switch scanning --------------------------------------------------------------------

HOLD_MS = 700  # chat.js: holding the switch this long chooses (the default "hold_time")


async def scanned(page: Page) -> str:
    """The item scanning highlights now, named as ``focused_id`` names it."""
    return str(await page.evaluate(f"() => ({_NAME_JS})(document.querySelector('.scan-focus'))"))


async def hold_switch(page: Page, hold_ms: int = HOLD_MS) -> None:
    """Hold Space (the switch) a little longer than the hold time: the highlighted item is chosen."""
    await page.keyboard.down("Space")
    await page.wait_for_timeout(hold_ms + 200)
    await page.keyboard.up("Space")


async def scan_to(page: Page, wanted: str, *, limit: int = 40) -> None:
    """Tap Space until ``wanted`` (named as ``focused_id`` names it) is highlighted."""
    seen = []
    for _ in range(limit):
        await page.keyboard.press("Space")
        seen.append(await scanned(page))
        if seen[-1] == wanted:
            return
    raise AssertionError(f"scanning never reached {wanted!r}; it went through {seen}")


async def scan_choose(
    page: Page, wanted: str, *, hold: bool, limit: int = 40, hold_ms: int = HOLD_MS
) -> None:
    """Tap Space until ``wanted`` is highlighted, then choose it: hold Space, or press Enter."""
    await scan_to(page, wanted, limit=limit)
    if hold:
        await hold_switch(page, hold_ms)
    else:
        await page.keyboard.press("Enter")


# The on-screen keyboard's key named ``want``: a character, or ``action:NAME`` (send, delete,
# space, page:upper, ...); then whether the highlight is on its row, or on the key itself.
_KEY_JS = """(want) => [...document.querySelectorAll('#keyboard .kb-key')].find((b) =>
    want.startsWith('action:') ? b.dataset.action === want.slice(7) : b.dataset.key === want)"""
_ON_ROW_JS = f"""(want) => {{ const key = ({_KEY_JS})(want);
    const lit = document.querySelector('.scan-focus');
    return Boolean(key && lit && lit.classList.contains('kb-row') && lit.contains(key)); }}"""
_ON_KEY_JS = f"""(want) => {{ const key = ({_KEY_JS})(want);
    return Boolean(key && key === document.querySelector('.scan-focus')); }}"""


async def scan_key(page: Page, want: str, *, hold_ms: int = HOLD_MS, limit: int = 40) -> None:
    """Type one key of the on-screen keyboard with the switch alone (row-column scanning):
    tap to its row, hold to enter the row, tap to the key, hold to type it."""
    for check in (_ON_ROW_JS, _ON_KEY_JS):
        for _ in range(limit):
            if await page.evaluate(check, want):
                break
            await page.keyboard.press("Space")
        else:
            raise AssertionError(
                f"scanning never reached the key {want!r} (now {await scanned(page)!r})"
            )
        await hold_switch(page, hold_ms)


async def pixels(page: Page, selector: str) -> float:
    """The computed font size of the first element ``selector`` finds, in CSS pixels."""
    return float(
        await page.locator(selector).first.evaluate(
            "(el) => parseFloat(getComputedStyle(el).fontSize)"
        )
    )
