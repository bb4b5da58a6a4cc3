"""The event page in real headless Chromium: every layout in both languages, and its poster.

Each layout x language opens with no console error and no request leaving its folder, passes
axe (WCAG 2.2 AA), has no sideways scroll on a 360 px phone, and is kept as a screenshot under
build/screenshots/. Printed by Chromium (``page.pdf``) it is one A4 page with the title, the
date and the time on it, even with 10,000-character answers. Hostile answers in every text
field of every layout show as words and never run. One browser serves the module.
"""

from __future__ import annotations

import datetime
import io
import re
import time
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
import pytest_asyncio
from playwright.async_api import Dialog

from assistant.config import PROJECT_ROOT
from assistant.jobs.catalog import JobCatalog
from assistant.session import GenerationRequest
from assistant.understanding.answers import check_answers
from generators.browser import BrowserChecker
from generators.event import LAYOUTS, event_facts
from generators.page import PageGenerator
from generators.template import TemplateRenderer
from testing.answer_sets import HOSTILE, VALID
from testing.axe import axe_audit, describe_violations
from testing.browser import browser_checker

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

TODAY = datetime.date(2026, 11, 25)
LANGUAGES = ("en", "ja")
LINK = "http://kiosk.local:8080/p/Zm9yIHRoZSBwb3N0ZXIgdGVzdA/"
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"
A4_POINTS = (595, 842)
TEXT_FIELDS = ("event_name", "place", "address", "details", "cost", "organiser", "contact")
RENDERER = TemplateRenderer()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


def typical(catalog: JobCatalog, language: str, layout: str) -> dict[str, Any]:
    job = catalog.jobs["event_page"]
    answers = check_answers(VALID["event_page"][language]["typical"], job, language, TODAY)
    return {**answers, "layout": layout}


def write_page(catalog: JobCatalog, folder: Path, answers: dict[str, Any], language: str) -> Path:
    """The page and its calendar file, as the page generator writes them (with a link)."""
    job = catalog.jobs["event_page"]
    request = GenerationRequest("t", "event_page", language, answers, "s1", 1, link=LINK)
    generator = PageGenerator(RENDERER)
    html, _palette = RENDERER.render(job, request)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(html, encoding="utf-8")
    calendar = generator.calendar(job, request)
    assert calendar is not None
    (folder / "event.ics").write_bytes(calendar)
    return folder / "index.html"


def squeeze(text: str) -> str:
    """Text without white space or ligatures: PDF text comes back with spaces between
    Japanese glyphs and with "fi" as one glyph."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_layout_opens_cleanly_and_accessibly_on_a_desktop_and_a_phone(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path, layout: str, language: str
) -> None:
    answers = typical(catalog, language, layout)
    index = write_page(catalog, tmp_path, answers, language)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    async with browser.open(index.as_uri()) as session:
        page = session.page
        assert await page.locator(f"body.layout-{layout}").count() == 1
        violations = (await axe_audit(page, TAGS)).violations
        assert violations == [], describe_violations(violations)
        await page.screenshot(path=SCREENSHOTS / f"event-{layout}-{language}.png", full_page=True)
        # The calendar button names the file beside the page; the map button a map search.
        calendar = page.locator('a[href="event.ics"]')
        assert await calendar.count() == 1 and await calendar.is_visible()
        assert (tmp_path / "event.ics").is_file()
        await page.set_viewport_size({"width": 360, "height": 800})
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{layout}/{language}: {width} px wide on a 360 px phone"
        await page.screenshot(
            path=SCREENSHOTS / f"event-{layout}-{language}-phone.png", full_page=True
        )
        report = await session.report()
        assert report.ok, report.describe()
        facts = event_facts(answers, language)
        for shown in (facts.name, facts.date_text, facts.time_text, facts.cost_text):
            assert shown and shown in report.text, shown
        assert await page.locator(".poster").is_hidden()  # the poster is for paper only
    print(f"event {layout}/{language}: checked in Chromium in {time.monotonic() - started:.2f} s")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_layout_prints_as_one_a4_poster_with_the_title_date_and_qr_code(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path, layout: str, language: str
) -> None:
    answers = typical(catalog, language, layout)
    index = write_page(catalog, tmp_path, answers, language)
    async with browser.open(index.as_uri()) as session:
        pdf = await session.page.pdf(prefer_css_page_size=True, print_background=True)
        await session.page.emulate_media(media="print")
        assert await session.page.locator(".poster svg").is_visible()  # the page's QR code
        assert await session.page.locator("main").is_hidden()
        await session.page.screenshot(path=SCREENSHOTS / f"event-{layout}-{language}-poster.png")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == A4_POINTS
    text = squeeze(reader.pages[0].extract_text())
    facts = event_facts(answers, language)
    for shown in (facts.name, facts.date_text, facts.time_text, facts.place):
        assert squeeze(shown) in text, (shown, text)


@pytest.mark.parametrize("layout", LAYOUTS)
async def test_ten_thousand_characters_still_print_on_one_page(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path, layout: str
) -> None:
    answers = typical(catalog, "en", layout)
    for field in TEXT_FIELDS:
        answers[field] = HOSTILE["long"]
    index = write_page(catalog, tmp_path, answers, "en")
    async with browser.open(index.as_uri()) as session:
        pdf = await session.page.pdf(prefer_css_page_size=True, print_background=True)
        await session.page.set_viewport_size({"width": 360, "height": 800})
        width = await session.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert "Tuesday10August2027" in squeeze(reader.pages[0].extract_text())


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("hostile", ["script", "img_onerror", "template", "bidi", "javascript"])
async def test_hostile_answers_in_every_field_show_as_words_and_never_run(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path, layout: str, hostile: str
) -> None:
    text = "javascript:alert(1)" if hostile == "javascript" else HOSTILE[hostile]
    answers = typical(catalog, "en", layout)
    for field in TEXT_FIELDS:
        answers[field] = text
    index = write_page(catalog, tmp_path, answers, "en")
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    async with browser.open(index.as_uri()) as session:
        session.page.on("dialog", on_dialog)
        await session.page.reload(wait_until="load")
        report = await session.report()
        hrefs = await session.page.eval_on_selector_all("a", "(links) => links.map((a) => a.href)")
        injected = await session.page.locator("main img, main script, .poster img").count()
    assert report.ok, report.describe()
    assert dialogs == []
    assert injected == 0
    assert not [href for href in hrefs if href.lower().startswith("javascript")], hrefs
    assert report.text.count(text) >= len(TEXT_FIELDS) - 2  # address and contact: links only
