"""Edits in words as a reader sees them, in real Chromium: every page layout in both languages
at the largest sizes an edit allows still fits a phone, the title really grows, and a printed
poster keeps its one A4 page (the look is for screens only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from assistant.jobs.catalog import JobCatalog
from assistant.jobs.loader import load_jobs
from assistant.session import MAX_LOOK_STEPS, GenerationRequest
from generators.browser import BrowserChecker
from generators.page import PageGenerator
from generators.template import TemplateRenderer
from testing.answer_sets import VALID
from testing.browser import browser_checker

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "screenshots" / "edits"
LAYOUTS = {
    "cafe_page": ("classic", "split", "magazine"),
    "intro_page": ("classic", "split", "magazine"),
    "event_page": ("lively", "friendly", "formal"),
}
LARGEST = {"title": MAX_LOOK_STEPS, "text": MAX_LOOK_STEPS, "photo": MAX_LOOK_STEPS}
TITLE = "() => document.querySelector('h1').getBoundingClientRect().height"
# English words of the title split over two lines (a phone's column too narrow for them).
PHONE = """() => {
  const h1 = document.querySelector('h1');
  const range = document.createRange();
  const text = [...h1.childNodes].find((n) => n.nodeType === 3 && n.textContent.trim());
  let split = [];
  if (text) {
    const re = /\\S+/g; let m;
    while ((m = re.exec(text.textContent))) {
      range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (tops.size > 1 && m[0].length <= 8) split.push(m[0]);
    }
  }
  return {wide: document.documentElement.scrollWidth - window.innerWidth, split};
}"""


@pytest.fixture(scope="module")
def catalog() -> JobCatalog:
    return load_jobs(ROOT / "dialogs" / "jobs")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


def _answers(job_id: str, language: str, layout: str) -> dict[str, Any]:
    answers = dict(VALID[job_id][language]["typical"]) | {"layout": layout}
    if job_id != "event_page":
        answers["add_more"] = True
    return answers


async def _build(
    catalog: JobCatalog, folder: Path, job_id: str, language: str, layout: str, look: dict
) -> Path:
    folder.mkdir(parents=True)
    request = GenerationRequest(
        session_key="s", job_id=job_id, language=language, series="edits", version=1,
        answers=_answers(job_id, language, layout), look=look,
    )  # fmt: skip
    await PageGenerator(TemplateRenderer()).generate(catalog.jobs[job_id], request, folder)
    return folder / "index.html"


async def _measure(browser: BrowserChecker, index: Path, shot: str) -> dict[str, Any]:
    """The title's height on a desktop, then sideways scroll and split words on a phone."""
    async with browser.open(index.as_uri()) as session:
        title = await session.page.evaluate(TITLE)
        await session.page.set_viewport_size({"width": 360, "height": 800})
        found: dict[str, Any] = await session.page.evaluate(PHONE)
        SHOTS.mkdir(parents=True, exist_ok=True)
        await session.page.screenshot(path=SHOTS / f"{shot}.png")
        found["title"] = title
        found["problems"] = [*session.console_errors, *session.blocked_requests]
    return found


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize(
    ("job_id", "layout"), [(job, layout) for job, layouts in LAYOUTS.items() for layout in layouts]
)
async def test_the_largest_sizes_still_fit_a_phone_and_the_title_grows(
    browser: BrowserChecker,
    catalog: JobCatalog,
    tmp_path: Path,
    job_id: str,
    layout: str,
    language: str,
) -> None:
    name = f"{job_id}-{layout}-{language}"
    plain = await _measure(
        browser, await _build(catalog, tmp_path / "plain", job_id, language, layout, {}), name
    )
    largest = await _measure(
        browser,
        await _build(catalog, tmp_path / "largest", job_id, language, layout, LARGEST),
        f"{name}-largest",
    )
    assert not plain["problems"] and not largest["problems"], largest["problems"]
    assert largest["wide"] <= 0, f"{name} scrolls sideways by {largest['wide']} px on a phone"
    # Three title steps and three text steps: the title's box is clearly taller.
    assert largest["title"] > plain["title"] * 1.5, (plain, largest)
    if language == "en":  # Japanese lines break between any two characters, as they should
        assert largest["split"] == [], f"{name}: words broken on a phone: {largest['split']}"


async def test_a_printed_poster_keeps_one_page_whatever_the_look(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    index = await _build(catalog, tmp_path / "poster", "event_page", "ja", "lively", LARGEST)
    async with browser.open(index.as_uri()) as session:
        pdf = await session.page.pdf(format="A4", print_background=True)
    (tmp_path / "poster.pdf").write_bytes(pdf)
    assert len(PdfReader(tmp_path / "poster.pdf").pages) == 1
