"""Every staff console screen on a tablet (issue 16: "usable on a tablet"), in real Chromium
with touch, a mobile viewport and a 2x screen, portrait (768 x 1024) and landscape
(1024 x 768), in both languages, signed in as an admin, with realistic content: sessions
(one needing help, one with a long pasted link), an artifact in two versions, a job with its
edit history, a knowledge document, charts with data and the audit log with rows.

On every screen the page never scrolls sideways (wide tables scroll in their own named,
focusable region), every link, button and form control is at least 24 x 24 CSS px (WCAG 2.2
SC 2.5.8), text is at least 14 px and none is cut off, and axe-core still finds nothing. The
screens' main actions are done by tapping: a staff message, an approval, a job edit saved,
a knowledge question tried.

``TABLET_SCREENSHOTS=/some/folder`` keeps a full-page screenshot of every screen there.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import FilePayload, Locator, Page, expect

from assistant.compose import Services
from assistant.events import Turn
from assistant.jobs.phrases import Phrases
from assistant.knowledge.documents import KnowledgeDocuments, documents_folder
from generators.browser import BrowserChecker
from testing.staff_console import PASSWORD, running_console
from testing.tablet import TABLET_CONTEXT, TABLET_VIEWPORTS, measure_tablet_layout
from tests.test_staff_artifacts import WAIT, made
from tests.test_staff_browser import WAIT_MS, assert_accessible
from tests.test_staff_charts_k2 import speak_and_type
from tests.test_staff_jobs import NEW_PROMPT, OLD_PROMPT, copy_dialogs
from tests.test_staff_jobs_browser import first_question
from tests.test_staff_sessions_browser import STUCK

pytestmark = [
    pytest.mark.slow,  # real Chromium
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
    pytest.mark.timeout(600),  # two dozen screens measured and audited on a busy machine
]
# Someone pastes a shared file's link as their answer: a word no line can break (Chromium
# breaks a link at its slashes and hyphens, not inside the file's id).
LONG_LINK = "https://files.example.org/d/" + "1Qm7ZkV0xXbP3rT9sLwNyE5uHcJ2aGfD8oKiR4tYvB6n" * 2
LONG_TRANSCRIPT = "/staff/sessions/web%3Apasted-a-link"
BIKES = b"# Bicycles\nThe bicycle repair room is on the third floor. Pumps are free to borrow."
HOURS = b"# Hours\nThe desk is open from nine until five, every day but Sunday."


@dataclass(frozen=True)
class Filled:
    """The console served with its content, and the second version of the artifact."""

    server: TestServer
    services: Services
    second_id: str


async def _typed(services: Services, key: str, texts: tuple[str, ...], channel: str) -> None:
    for text in texts:
        await services.manager.handle(Turn(key, text=text, language="en", channel=channel))


async def _second_version(services: Services, key: str, first_id: str) -> str:
    """The user asks for a change after delivery: version 2 of the same artifact."""
    await _typed(services, key, ("change something", "1", "Green Diner", "yes"), "web")
    async with asyncio.timeout(WAIT):
        while True:  # the session's state: delivered again, with the new version
            session = await services.store.load(key)
            if session is not None and session.artifact_id not in (None, first_id):
                return session.artifact_id or ""
            await asyncio.sleep(0.05)


@pytest_asyncio.fixture
async def filled(tmp_path: Path) -> AsyncIterator[Filled]:
    data = tmp_path / "data"
    async with running_console(data, dialogs_dir=copy_dialogs(tmp_path)) as (app, services):
        assert services.knowledge is not None
        services.knowledge.starter = tmp_path / "no-starter"  # only this test's documents
        await _typed(services, "web:stuck-one", STUCK, "web")
        await _typed(services, "kiosk:lobby", STUCK[:3], "kiosk")
        await _typed(services, "web:pasted-a-link", ("", "1", LONG_LINK), "web")
        await speak_and_type(services)  # spoken and typed answers for the charts
        first = await made(services, "web:cafe", "Blue Harbor Café")
        second_id = await _second_version(services, "web:cafe", first.id)
        KnowledgeDocuments(documents_folder(data)).save("hours.md", HOURS)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield Filled(server, services, second_id)
        finally:
            await server.close()


async def _settled(page: Page) -> None:
    """The screen is laid out: its heading shown, and on the charts screen every chart drawn."""
    await expect(page.locator("h1")).to_be_visible(timeout=WAIT_MS)
    if await page.locator("canvas[data-chart]").count():
        await page.wait_for_function(
            """() => typeof window.Chart === "function" &&
                 [...document.querySelectorAll("canvas[data-chart]")]
                   .every((c) => window.Chart.getChart(c) !== undefined)""",
            timeout=WAIT_MS,
        )


async def _check_screen(page: Page, where: str, problems: list[str]) -> None:
    """Measure the screen as laid out now (problems are gathered, to report all at once),
    keep a screenshot when asked to, and run axe."""
    await _settled(page)
    layout = await measure_tablet_layout(page)
    assert layout.targets > 0, f"{where}: nothing to tap was measured"
    assert page.viewport_size is not None  # the screen measured is the tablet's
    assert layout.width == page.viewport_size["width"], f"{where}: {layout.width} px wide"
    problems += [f"{where}: {problem}" for problem in layout.problems()]
    folder = os.environ.get("TABLET_SCREENSHOTS")
    if folder:
        name = where.replace(" ", "-").replace("/", "_")
        await page.screenshot(path=Path(folder) / f"tablet-{name}.png", full_page=True)
    await assert_accessible(page, where)


async def _tap(target: Locator) -> None:
    """Tap ``target`` as a person does: scroll it into view, let the scrolled page be drawn,
    then tap. (Chromium drops a tap sent in the same frame as a programmatic scroll, before
    the compositor knows where things now are; a person sees the page move first.)"""
    await target.scroll_into_view_if_needed()
    await target.evaluate(
        "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )
    await target.tap()


async def _tap_to(page: Page, target: Locator, address: str) -> None:
    """Tap a link or a button and wait until the page it leads to (its URL matching the
    regular expression ``address``) has loaded."""
    await _tap(target)
    await page.wait_for_url(re.compile(address), wait_until="load")


async def _tap_sign_in(page: Page, phrases: Phrases, language: str) -> None:
    await _tap(page.locator("#name"))
    await page.keyboard.type("ana")
    await _tap(page.locator("#password"))
    await page.keyboard.type(PASSWORD)
    sign_in = page.get_by_role("button", name=phrases.say(language, "staff.sign_in"))
    await _tap_to(page, sign_in, r"/staff/(\?|$)")
    await expect(page.locator("#who")).to_contain_text("ana", timeout=WAIT_MS)


async def _tap_a_staff_message(page: Page, phrases: Phrases, language: str) -> None:
    sessions = page.get_by_role("link", name=phrases.say(language, "staff.part_sessions"))
    await _tap_to(page, sessions, r"/staff/sessions\?")
    first = page.locator("#sessions tbody tr").first
    await expect(first).to_contain_text("web:stuck-one", timeout=WAIT_MS)  # needing help first
    await _tap_to(page, page.locator('a[href*="web%3Astuck-one"]'), r"/web%3Astuck-one\?")
    await expect(page.locator("#transcript")).to_contain_text("purple", timeout=WAIT_MS)
    await _tap(page.locator("#message-text"))
    await page.keyboard.type("Say 1 for animals")
    send = page.get_by_role("button", name=phrases.say(language, "staff.sessions.send_message"))
    await _tap_to(page, send, "done=message")
    sent = phrases.say(language, "staff.sessions.done_message")
    await expect(page.get_by_role("status")).to_have_text(sent, timeout=WAIT_MS)
    await expect(page.locator("#transcript tr.by-staff")).to_contain_text("Say 1 for animals")


async def _tap_an_approval(page: Page, phrases: Phrases, language: str, filled: Filled) -> None:
    await page.goto(str(filled.server.make_url(f"/staff/artifacts?lang={language}")))
    address = f"/staff/artifacts/{filled.second_id}"
    await _tap_to(page, page.locator(f'a[href^="{address}"]'), rf"{address}\?")
    await expect(page.locator("h1")).to_contain_text("Green Diner", timeout=WAIT_MS)
    approve = page.get_by_role("button", name=phrases.say(language, "staff.artifacts.approve"))
    await _tap_to(page, approve, "done=approved")
    approved = phrases.say(language, "staff.artifacts.done_approved")
    await expect(page.get_by_role("status")).to_have_text(approved, timeout=WAIT_MS)
    review = await filled.services.artifact_desk().review(filled.second_id)
    assert review is not None and review.status == "approved" and review.by == "ana"


async def _tap_a_job_edit(page: Page, phrases: Phrases, language: str, filled: Filled) -> None:
    await page.goto(str(filled.server.make_url(f"/staff/jobs?lang={language}")))
    job = "/staff/jobs/business_card"
    await _tap_to(page, page.locator(f'a[href^="{job}?"]'), rf"{job}\?")
    await _tap_to(page, page.locator(f'a[href^="{job}/edit"]'), rf"{job}/edit\?")
    box = page.locator("#text")
    await _tap(box)
    await box.fill((await box.input_value()).replace(OLD_PROMPT, NEW_PROMPT))
    await _tap(page.locator("#note"))
    await page.keyboard.type("friendlier")
    save = page.get_by_role("button", name=phrases.say(language, "staff.jobs.save"))
    await _tap_to(page, save, "saved=2")
    saved = phrases.say(language, "staff.jobs.saved", version=2)
    await expect(page.get_by_role("status")).to_have_text(saved, timeout=WAIT_MS)
    assert NEW_PROMPT in await first_question(filled.services, f"web:after-{language}")


async def _tap_a_knowledge_question(
    page: Page, phrases: Phrases, language: str, filled: Filled
) -> None:
    await page.goto(str(filled.server.make_url(f"/staff/knowledge?lang={language}")))
    bikes = FilePayload(name="bikes.md", mimeType="text/markdown", buffer=BIKES)
    await page.set_input_files("#document", files=bikes)  # the file chooser is the system's
    upload = page.get_by_role("button", name=phrases.say(language, "staff.knowledge.send"))
    await _tap_to(page, upload, "done=uploaded")
    added = phrases.say(language, "staff.knowledge.done_uploaded")
    await expect(page.get_by_role("status")).to_have_text(added, timeout=WAIT_MS)
    await _tap(page.locator("#q"))
    await page.keyboard.type("Where can I repair my bicycle?")
    ask = page.get_by_role("button", name=phrases.say(language, "staff.knowledge.ask"))
    await _tap_to(page, ask, "q=Where")
    first = page.locator("#passages tbody tr").first
    await expect(first).to_contain_text("bikes.md", timeout=WAIT_MS)
    await expect(first).to_contain_text("third floor")


async def _long_link_fits(page: Page) -> None:
    """Every cell holding the long link ends inside the screen, and nothing scrolls sideways:
    neither the page nor the transcript's region."""
    fits = await page.evaluate(
        """(link) => {
             const cells = [...document.querySelectorAll("#transcript td")]
               .filter((cell) => cell.textContent.includes(link));
             const region = document.querySelector("#transcript").parentElement;
             const screen = document.documentElement;  // innerWidth grows with the page
             return cells.length > 0 &&
               cells.every((cell) => cell.getBoundingClientRect().right <= screen.clientWidth) &&
               region.scrollWidth <= region.clientWidth &&
               screen.scrollWidth <= screen.clientWidth;
           }""",
        LONG_LINK,
    )
    assert fits, "the long link pushes the transcript off the screen"


def _screens(filled: Filled) -> list[tuple[str, str]]:
    """(name, address) of every screen a signed-in admin reaches, with its content."""
    return [
        ("home", "/staff/"),
        ("sessions", "/staff/sessions"),
        ("transcript", "/staff/sessions/web%3Astuck-one"),
        ("transcript with a long link", LONG_TRANSCRIPT),
        ("artifacts", "/staff/artifacts"),
        ("artifact", f"/staff/artifacts/{filled.second_id}"),
        ("jobs", "/staff/jobs"),
        ("job with history", "/staff/jobs/business_card?version=2"),
        ("job edit", "/staff/jobs/business_card/edit"),
        ("knowledge", "/staff/knowledge?q=bicycle+repair"),
        ("charts", "/staff/charts?days=7"),
        ("audit log", "/staff/audit"),
    ]


@pytest.mark.parametrize(
    ("orientation", "language"), [("portrait", "en"), ("landscape", "ja")]
)  # the main actions are tapped in one language per orientation; every screen in both
async def test_every_screen_is_usable_on_a_tablet_by_touch(
    browser: BrowserChecker, filled: Filled, phrases: Phrases, orientation: str, language: str
) -> None:
    url = str(filled.server.make_url(f"/staff/login?lang={language}"))
    viewport = TABLET_VIEWPORTS[orientation]
    problems: list[str] = []
    locale = {"en": "en-US", "ja": "ja-JP"}[language]  # the tablet's own language
    context = {"viewport": viewport, "locale": locale, **TABLET_CONTEXT}
    async with browser.open(url, bypass_csp=True, **context) as s:
        page = s.page
        assert await page.evaluate("() => matchMedia('(pointer: coarse)').matches")
        for lang in ("en", "ja"):  # the sign-in page (its code field is the TOTP step)
            await page.goto(str(filled.server.make_url(f"/staff/login?lang={lang}")))
            await _check_screen(page, f"{orientation} {lang} sign-in", problems)
        await page.goto(url)
        await _tap_sign_in(page, phrases, language)
        await _tap_a_staff_message(page, phrases, language)
        await _tap_an_approval(page, phrases, language, filled)
        await _tap_a_job_edit(page, phrases, language, filled)
        await _tap_a_knowledge_question(page, phrases, language, filled)

        for lang in ("en", "ja"):
            for name, path in _screens(filled):
                joiner = "&" if "?" in path else "?"
                await page.goto(str(filled.server.make_url(f"{path}{joiner}lang={lang}")))
                await _check_screen(page, f"{orientation} {lang} {name}", problems)
        audit_rows = page.locator("#entries tbody tr")  # the audit log, shown last, has rows
        assert await audit_rows.count() >= 4  # the message, approval, edit and upload at least

        # A pasted link wider than the screen breaks inside its cell, on the page as served and
        # as the page's script redraws the transcript when the person types again.
        await page.goto(str(filled.server.make_url(f"{LONG_TRANSCRIPT}?lang={language}")))
        await _long_link_fits(page)
        await _typed(filled.services, "web:pasted-a-link", (LONG_LINK,), "web")
        await expect(page.locator("#transcript tbody tr")).to_have_count(4, timeout=WAIT_MS)
        await _long_link_fits(page)
    assert not problems, "\n".join(problems)
