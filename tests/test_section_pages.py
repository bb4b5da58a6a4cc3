"""The café and intro pages as sections in every layout, in real Chromium (issue 15 part S).

Each page (job x layout x language, with and without the optional sections, and with hostile
answers in every new field) is rendered from its template exactly as generation does, opened
from disk with everything outside its folder blocked, and must show: no console errors, no
outside request attempted, axe 0 violations (WCAG 2.x A/AA), no sideways scroll at 360 px, a
proportional typeface, and the sections the answers asked for and no others. Screenshots are
kept under build/screenshots/section-pages/ (a test artifact).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from assistant.jobs.catalog import JobCatalog
from assistant.jobs.loader import load_jobs
from assistant.session import GenerationRequest
from generators.browser import BrowserChecker
from generators.template import TemplateRenderer
from testing.answer_sets import HOSTILE, VALID
from testing.axe import axe_audit, describe_violations
from testing.browser import browser_checker

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "screenshots" / "section-pages"
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
LAYOUTS = ("classic", "split", "magazine")
LANGUAGES = ("ja", "en")
# The answers to the optional sections, per job and language.
EXTRAS: dict[str, dict[str, dict[str, Any]]] = {
    "cafe_page": {
        "ja": {
            "menu_items": ["コーヒー 400円", "ケーキ 500円", "サンドイッチ"],
            "opening_hours": "9時から17時、月曜休み",
            "about": "駅前で20年、手作りのケーキのお店です。",
            "address": "東京都千代田区1-2-3",
            "phone": "03-1234-5678",
            "email": "info@hidamari.example",
            "social_links": ["https://instagram.example/hidamari"],
            "faq": ["駐車場はありますか？ 2台あります"],
            "news": "12月は毎週土曜もあいています",
        },
        "en": {
            "menu_items": ["coffee 3.50", "cake 4", "ham sandwich"],
            "opening_hours": "9 am to 5 pm, closed Mondays",
            "about": "A family bakery by the station for twenty years.",
            "address": "1 High Street, Leeds",
            "phone": "+44 113 496 0000",
            "email": "hello@sunny.example",
            "social_links": ["https://instagram.example/sunny"],
            "faq": ["Is there parking? Yes", "two spaces"],
            "news": "Open on Saturdays in December",
        },
    },
    "intro_page": {
        "ja": {
            "about": "横浜に住んでいます。週末は公園を歩きます。",
            "email": "yuki@example.jp",
            "social_links": ["https://blog.example/yuki"],
        },
        "en": {
            "about": "I live in Leeds and walk in the park at weekends.",
            "email": "yuki@example.com",
            "social_links": ["https://blog.example/yuki"],
        },
    },
}
OPTIONAL_IDS = {
    "cafe_page": ("about", "access", "contact", "faq", "news", "links"),
    "intro_page": ("about", "contact", "links"),
}
NEW_TEXT = ("about", "address", "phone", "email", "news")
NEW_LISTS = ("social_links", "faq", "menu_items")


@pytest.fixture(scope="module")
def catalog() -> JobCatalog:
    return load_jobs(ROOT / "dialogs" / "jobs")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


def render(catalog: JobCatalog, job_id: str, language: str, answers: dict[str, Any]) -> str:
    request = GenerationRequest(
        session_key="s", job_id=job_id, language=language, answers=answers, series="x", version=1
    )
    html, _ = TemplateRenderer().render(catalog.jobs[job_id], request)
    return html


def answers_for(job_id: str, language: str, layout: str, extras: bool) -> dict[str, Any]:
    answers = dict(VALID[job_id][language]["typical"])
    answers |= {"add_more": True, "layout": layout} if extras else {"add_more": False}
    if extras:
        answers |= EXTRAS[job_id][language]
    else:  # without the extras, the layout follows the mood or the style
        by_mood = {"classic": "warm", "split": "cool", "magazine": "pop"}
        by_style = {"classic": "simple", "split": "cool", "magazine": "cute"}
        if job_id == "cafe_page":
            answers["mood"] = by_mood[layout]
        else:
            answers["style"] = by_style[layout]
    return answers


async def check_page(
    browser: BrowserChecker, folder: Path, html: str, name: str, *, full_page: bool = True
) -> dict[str, Any]:
    """Open the page, run every check, and return what the tests look at."""
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / "index.html"
    index.write_text(html, encoding="utf-8")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with browser.open(index.as_uri()) as session:
        page = session.page
        found: dict[str, Any] = await page.evaluate(
            """() => ({
                 layout: document.body.className,
                 sections: [...document.querySelectorAll('main section')].map((s) => s.id),
                 empty: [...document.querySelectorAll('main section')].filter(
                   (s) => s.innerText.trim() === s.querySelector('h2').innerText.trim()).length,
                 links: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')),
                 nav: !!document.querySelector('nav'),
                 grid: getComputedStyle(document.querySelector('main')).display,
                 images: document.querySelectorAll('img').length,
                 scripts: document.querySelectorAll('script').length,
                 pwned: typeof window.__pwned !== 'undefined',
                 text: document.body.innerText,
                 proportional: (() => { const c = document.createElement('canvas').getContext('2d');
                   c.font = getComputedStyle(document.querySelector('h1')).font;
                   const h = c.measureText('iiiiiiiiii').width / c.measureText('MMMMMMMMMM').width;
                   c.font = getComputedStyle(document.body).font;
                   const b = c.measureText('iiiiiiiiii').width / c.measureText('MMMMMMMMMM').width;
                   return Math.max(h, b) < 0.6; })(),
               })"""
        )
        audit = await axe_audit(page, TAGS)
        await page.screenshot(path=SHOTS / f"{name}.png", full_page=full_page)
        await page.set_viewport_size({"width": 360, "height": 800})
        found["wide"] = await page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth"
        )
        await page.screenshot(path=SHOTS / f"{name}-360.png", full_page=full_page)
        found["errors"] = session.console_errors
        found["blocked"] = session.blocked_requests
    assert not audit.violations, f"{name}:\n{describe_violations(audit.violations)}"
    assert not found["errors"] and not found["blocked"], (name, found["errors"], found["blocked"])
    assert found["wide"] <= 0, f"{name} scrolls sideways by {found['wide']} px at 360 px"
    assert found["proportional"], f"{name} is set in a monospaced face"
    assert found["empty"] == 0, f"{name} has a section with only a heading"
    return found


@pytest.mark.parametrize("extras", [True, False], ids=["with-sections", "without"])
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("job_id", ["cafe_page", "intro_page"])
async def test_every_layout_in_both_languages_with_and_without_the_optional_sections(
    browser: BrowserChecker,
    catalog: JobCatalog,
    tmp_path: Path,
    job_id: str,
    layout: str,
    language: str,
    extras: bool,
) -> None:
    answers = answers_for(job_id, language, layout, extras)
    name = f"{job_id}-{layout}-{language}-{'with' if extras else 'without'}"
    found = await check_page(browser, tmp_path, render(catalog, job_id, language, answers), name)
    # Three layouts that differ in structure, not only in colour.
    assert found["layout"] == f"layout-{layout}"
    assert found["nav"] == (layout == "split")
    assert (found["grid"] == "grid") == (layout == "magazine")
    optional = OPTIONAL_IDS[job_id]
    present = [s for s in found["sections"] if s in optional]
    if not extras:
        assert present == [], f"declined sections shown: {present}"
        assert not any(link.startswith(("tel:", "mailto:", "https:")) for link in found["links"])
        return
    assert present == list(optional)
    if job_id == "cafe_page":
        ja = language == "ja"
        assert ("400円" if ja else "3.50") in found["text"]
        assert ("定休日" if ja else "Closed") in found["text"], "the hours are a table"
        assert any(
            link.startswith("https://www.openstreetmap.org/search?query=")
            for link in found["links"]
        )
        assert any(link.startswith("tel:") for link in found["links"])
        assert ("駐車場はありますか？" if ja else "Is there parking?") in found["text"]
    assert any(link.startswith("mailto:") for link in found["links"])


@pytest.mark.parametrize("hostile", ["script", "img_onerror", "template", "bidi", "long"])
@pytest.mark.parametrize("job_id", ["cafe_page", "intro_page"])
async def test_hostile_answers_in_every_new_field_are_inert_text(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path, job_id: str, hostile: str
) -> None:
    value = HOSTILE[hostile]
    layout = {"script": "split", "img_onerror": "magazine"}.get(hostile, "classic")
    answers = answers_for(job_id, "en", layout, True)
    for field in NEW_TEXT:
        if field in answers:
            answers[field] = value
    for field in NEW_LISTS:
        if field in answers:
            answers[field] = [value, f"javascript:alert(1) {value}"]
    answers["social_links"] = [f"https://ok.example/{value}", "javascript:alert(1)", value]
    html = render(catalog, job_id, "en", answers)
    # 10 kB in every field makes a page too tall for one full-page picture: the top will do.
    found = await check_page(
        browser, tmp_path, html, f"{job_id}-hostile-{hostile}", full_page=False
    )
    assert found["images"] == 0 and found["scripts"] == 0 and not found["pwned"]
    assert not any(link.lower().startswith("javascript") for link in found["links"])
    if hostile in ("script", "img_onerror", "template"):
        assert value in found["text"], "shown literally"
        assert "49" not in found["text"]
