"""The seven jobs of issue 15 part J in real headless Chromium, both languages.

Artifacts are made through ``GenerationQueue.make_now`` with the real generators and browser
(the web apps pass the same pre-delivery check a user's do). Each page, at phone width, shows
no console error, makes no outside request, passes axe-core, does not scroll sideways and
leaves a screenshot in ``build/screenshots/``. The web apps are used through their controls
(a card flipped, a bingo card drawn, the countdown and stopwatch on a fake clock, a saving
added); the printable ones print to one A4 PDF page. Hostile answers in every text and list
field are shown as text and never act.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Dialog, Page

from assistant.config import PROJECT_ROOT
from assistant.errors import GenerationError
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.session import Artifact, GenerationRequest
from assistant.store.sqlite import SQLiteStore
from assistant.understanding.answers import check_answers
from generators.browser import BrowserChecker
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing.axe import axe_audit, describe_violations
from testing.browser import assert_png, browser_checker
from testing.more_jobs_answers import ALL_HOSTILE, TITLE_QUESTION, VALID

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

TODAY = datetime.date(2026, 11, 25)
SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"
PHONE = (360, 740)
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
PROGRAMS = ("flashcards", "bingo_card", "timer", "savings_tracker")
PAGES = ("weekly_timetable", "recipe_card", "business_card")
PRINTED = dict(weekly_timetable="landscape", recipe_card="portrait", business_card="portrait", bingo_card="portrait")  # fmt: skip  # noqa: E501
JOBS = (*PROGRAMS, *PAGES)
BUILD_CONCURRENCY = 3


@dataclass(frozen=True)
class Case:
    job: str
    language: str = "en"
    name: str = "typical"

    @property
    def id(self) -> str:
        return f"{self.job}-{self.language}-{self.name}"


VALID_CASES = [Case(j, lang, n) for j in JOBS for lang in ("en", "ja") for n in VALID[j][lang]]
# Every hostile answer on the English pages; on the Japanese ones (the same code around other
# words) the markup, template and direction ones.
JA_HOSTILE = ("img_onerror", "template", "bidi", "rtl")
HOSTILE_CASES = [
    *(Case(j, "en", n) for j in JOBS for n in ALL_HOSTILE),
    *(Case(j, "ja", n) for j in JOBS for n in JA_HOSTILE),
]


def params(cases: list[Case], jobs: tuple[str, ...] = JOBS) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in cases if c.job in jobs]


async def _noop(*_args: object) -> None:
    """``make_now`` reports to no session."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


def answers_for(catalog: JobCatalog, case: Case) -> dict[str, Any]:
    job = catalog.jobs[case.job]
    if case.name in VALID[case.job][case.language]:
        return check_answers(VALID[case.job][case.language][case.name], job, case.language, TODAY)
    # Hostile: straight into every text and list answer, deliberately not validated.
    answers = check_answers(VALID[case.job][case.language]["typical"], job, case.language, TODAY)
    for question in job.questions:
        if question.type == "text":
            answers[question.id] = ALL_HOSTILE[case.name]
        elif question.type == "list":
            answers[question.id] = [ALL_HOSTILE[case.name]]
    return answers


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def built(
    catalog: JobCatalog, browser: BrowserChecker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[Case, Artifact | GenerationError]]:
    """Every valid and hostile artifact of the module, made through ``make_now``."""
    store = SQLiteStore(tmp_path_factory.mktemp("store") / "assistant.db")
    await store.open()
    queue = GenerationQueue(
        store=store,
        jobs=catalog,
        generators=build_generators(TemplateRenderer(), browser),
        artifacts_dir=tmp_path_factory.mktemp("artifacts"),
        on_delivered=_noop,
        on_failed=_noop,
    )
    limit = asyncio.Semaphore(BUILD_CONCURRENCY)

    async def build(number: int, case: Case) -> Artifact | GenerationError:
        request = GenerationRequest(
            session_key=f"j-{number}", job_id=case.job, language=case.language,
            answers=answers_for(catalog, case), series=f"j{number:03d}", version=1,
        )  # fmt: skip
        async with limit:
            try:
                return await queue.make_now(request)
            except GenerationError as err:
                return err

    everything = [*VALID_CASES, *HOSTILE_CASES]
    results = await asyncio.gather(*(build(n, c) for n, c in enumerate(everything)))
    try:
        yield dict(zip(everything, results, strict=True))
    finally:
        await store.close()


def index_of(built: dict[Case, Artifact | GenerationError], case: Case) -> Path:
    result = built[case]
    assert isinstance(result, Artifact), f"{case.id} not delivered: {result}"
    return Path(result.folder) / "index.html"


# --- every valid artifact: checked, clean in Chromium at phone width ------------------------


async def test_every_new_job_is_delivered_with_its_checks_passed(built: dict) -> None:
    for case in VALID_CASES:
        artifact = built[case]
        assert isinstance(artifact, Artifact), f"{case.id}: {artifact}"
        manifest = artifact.manifest
        expected = {"javascript", "html", "browser"} if case.job in PROGRAMS else {"html"}
        assert expected <= set(manifest["checks_passed"]), (case.id, manifest["checks"])
        assert manifest["checks_skipped"] == [], case.id
        files = ["index.html", "README.md"] if case.job in PROGRAMS else ["index.html"]
        assert manifest["files"] == files, case.id


@pytest.mark.parametrize("case", params(VALID_CASES))
async def test_every_new_job_is_clean_and_accessible_at_phone_width(
    built: dict, browser: BrowserChecker, case: Case
) -> None:
    index = index_of(built, case)
    title = VALID[case.job][case.language][case.name][TITLE_QUESTION[case.job]]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"jobs-{case.id}.png"
    async with browser.open(index.as_uri(), viewport=PHONE) as session:
        page = session.page
        assert title in await page.title()
        text = await page.inner_text("body")
        assert title in text
        assert "<built-in" not in text and "<bound" not in text  # a word shadowed by a dict method
        audit = await axe_audit(page, AXE_TAGS)
        assert audit.violations == [], describe_violations(audit.violations)
        wide = await page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= PHONE[0], f"{case.id} scrolls sideways: {wide} px"
        await page.screenshot(path=str(shot), full_page=True)
        assert session.console_errors == () and session.blocked_requests == ()
    assert_png(shot)


# --- the web apps, used through their own controls ------------------------------------------


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_flashcards_flip_move_and_shuffle(
    built: dict, browser: BrowserChecker, language: str
) -> None:
    ja = language == "ja"
    async with browser.open(index_of(built, Case("flashcards", language)).as_uri()) as session:
        page = session.page
        face = page.locator("#face")
        assert await face.text_content() == ("りんご" if ja else "apple")
        position = "1 / 3まい目" if ja else "Card 1 of 3"
        assert await page.locator("#position").text_content() == position
        await page.get_by_role("button", name="めくる" if ja else "Flip", exact=True).click()
        assert await face.text_content() == ("apple" if ja else "pomme")
        assert await page.locator("#side").text_content() == ("裏" if ja else "Back")
        # The keyboard: → for the next card, F to flip; a card with no back says so.
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        assert await face.text_content() == ("いぬ" if ja else "dog")
        await page.keyboard.press("f")
        assert ("表だけ" if ja else "front only") in (await face.text_content() or "")
        await page.get_by_role("button", name="まぜる" if ja else "Shuffle", exact=True).click()
        assert "1" in (await page.get_by_role("status").text_content() or "")
        fronts = set()
        for _ in range(3):
            fronts.add(await face.text_content())
            await page.get_by_role("button", name="つぎへ" if ja else "Next", exact=True).click()
        assert fronts == ({"りんご", "ねこ", "いぬ"} if ja else {"apple", "cat", "dog"})
        assert session.console_errors == ()


async def test_bingo_draws_a_new_card_per_press(built: dict, browser: BrowserChecker) -> None:
    async with browser.open(index_of(built, Case("bingo_card")).as_uri()) as session:
        page = session.page
        squares = page.locator("#squares button")
        assert await squares.count() == 25
        first = await squares.all_text_contents()
        assert first[12] == "FREE"
        columns = [[int(first[r * 5 + c]) for r in range(5) if r * 5 + c != 12] for c in range(5)]
        for c, column in enumerate(columns):
            assert all(c * 15 + 1 <= n <= c * 15 + 15 for n in column), (c, column)
            assert len(set(column)) == len(column)
        await page.get_by_role("button", name="New card").click()
        second = await squares.all_text_contents()
        assert second != first and second[12] == "FREE"
        assert "A new card is ready" in (await page.get_by_role("status").text_content() or "")
        square = squares.nth(0)
        await square.click()
        assert await square.get_attribute("aria-pressed") == "true"
        for n in (1, 2, 3, 4):  # the top row: bingo
            await squares.nth(n).click()
        assert await page.get_by_role("status").text_content() == "Bingo!"
        assert session.console_errors == ()


async def test_bingo_words_fill_the_card_and_numbers_fill_the_rest(
    built: dict, browser: BrowserChecker
) -> None:
    async with browser.open(index_of(built, Case("bingo_card", "ja")).as_uri()) as session:
        texts = await session.page.locator("#squares button").all_text_contents()
        assert texts[12] == "フリー"
        assert {"いぬ", "ねこ", "うさぎ"} <= set(texts)
        assert all(t.isdigit() for t in texts if t not in {"いぬ", "ねこ", "うさぎ", "フリー"})


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_the_countdown_ends_announced_and_the_stopwatch_counts(
    built: dict, browser: BrowserChecker, language: str
) -> None:
    ja = language == "ja"
    uri = index_of(built, Case("timer", language)).as_uri()
    async with browser.open("about:blank", allow_dir=Path(uri[7:]).parent) as session:
        page = session.page
        await page.clock.install()
        await page.goto(uri)
        digits = page.locator("#timer-digits")
        assert await digits.text_content() == "01:00"
        await page.get_by_role("button", name="スタート" if ja else "Start").first.click()
        await page.clock.run_for(30_000)
        assert await digits.text_content() in ("00:30", "00:29")  # the fake clock still runs
        await page.clock.run_for(31_000)
        assert await digits.text_content() == "00:00"
        alert = page.get_by_role("alert")
        assert await alert.text_content() == ("時間です！" if ja else "Time is up!")
        assert ("時間です" if ja else "Time is up") in await page.title()

        watch = page.locator("#stopwatch-digits")
        start = page.locator("#stopwatch-start")
        await start.click()
        await page.clock.run_for(3_000)
        await start.click()
        assert (await watch.text_content() or "").startswith("00:03.")  # plus the click's time
        status = await page.locator("#stopwatch-status").text_content() or ""
        assert ("3秒" if ja else "3 s") in status
        await page.locator("#stopwatch-reset").click()
        assert await watch.text_content() == "00:00.0"
        assert session.console_errors == ()


async def test_savings_add_up_to_a_percentage_kept_in_the_browser(
    built: dict, browser: BrowserChecker
) -> None:
    uri = index_of(built, Case("savings_tracker")).as_uri()
    async with browser.open(uri) as session:
        page = session.page
        await page.get_by_label("Amount saved").fill("75")
        await page.get_by_role("button", name="Add").click()
        assert await page.locator("#percent").text_content() == "25%"
        assert "25% of your goal" in (await page.get_by_role("status").text_content() or "")
        assert await page.get_by_role("progressbar").get_attribute("aria-valuenow") == "25"
        await page.get_by_label("Amount saved").fill("-5")
        await page.keyboard.press("Enter")
        assert await page.locator("#percent").text_content() == "25%"
        await page.reload()
        assert await page.locator("#percent").text_content() == "25%"
        assert "£75.00" in (await page.locator("#history").inner_text())
        await page.get_by_label("Amount saved").fill("225")
        await page.keyboard.press("Enter")
        assert await page.locator("#percent").text_content() == "100%"
        assert "Well done" in (await page.get_by_role("status").text_content() or "")
        assert session.console_errors == ()


# --- the printable ones: one A4 page as a PDF ------------------------------------------------

A4_POINTS = (595, 842)


@pytest.mark.parametrize(
    "case",
    [pytest.param(Case(job, lang), id=f"{job}-{lang}") for job in PRINTED for lang in ("en", "ja")],
)
async def test_printable_jobs_print_on_one_a4_page(
    built: dict, browser: BrowserChecker, case: Case
) -> None:
    async with browser.open(index_of(built, case).as_uri()) as session:
        await session.page.emulate_media(media="print")
        pdf = await session.page.pdf(prefer_css_page_size=True, print_background=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"jobs-{case.id}.pdf").write_bytes(pdf)
    pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
    assert len(pages) == 1, f"{case.id} prints on {len(pages)} pages"
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box is not None
    width, height = round(float(box.group(1))), round(float(box.group(2)))
    expected = A4_POINTS if PRINTED[case.job] == "portrait" else A4_POINTS[::-1]
    assert (width, height) == expected, case.id


# --- hostile answers in every field ---------------------------------------------------------

_TRAP = """
window.__pwned = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = function () { window.__pwned.push(name); };
}
"""


def shows(hostile: str, text: str) -> bool:
    """Whether ``text`` shows ``hostile`` literally (an HTML parser turns NUL into U+FFFD)."""
    pattern = r"[\x00\ufffd]?".join(re.escape(part) for part in hostile.split("\x00"))
    return re.search(pattern, text) is not None


async def use_the_app(page: Page, job: str) -> None:
    """Press the app's main controls, so answers written by its script are on the page."""
    if job == "flashcards":
        await page.locator("#flip").click()
    elif job == "bingo_card":
        await page.locator("#new-card").click()
    elif job == "savings_tracker":
        await page.locator("#amount").fill("10")
        await page.locator("#amount").press("Enter")
    elif job == "timer":
        await page.locator("#stopwatch-start").click()


@pytest.mark.parametrize("case", params(HOSTILE_CASES))
async def test_hostile_answers_show_as_text_and_never_act(
    built: dict, browser: BrowserChecker, case: Case
) -> None:
    hostile = ALL_HOSTILE[case.name]
    index = index_of(built, case)
    dialogs: list[str] = []
    requests: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    async with browser.open("about:blank", allow_dir=index.parent, viewport=PHONE) as session:
        page = session.page
        page.on("dialog", on_dialog)
        page.on("request", lambda request: requests.append(request.url))
        await page.add_init_script(_TRAP)
        await page.goto(index.as_uri(), wait_until="load")
        await use_the_app(page, case.job)
        links = await page.eval_on_selector_all("a[href]", "(as) => as.map((a) => a.href)")
        for link in await page.locator("a[href]").all():
            await link.click(modifiers=["Alt"], no_wait_after=True)
        state = await page.evaluate(
            """() => ({text: document.body.innerText, title: document.title,
                       pwned: window.__pwned, images: document.images.length,
                       scripts: document.scripts.length,
                       handlers: document.querySelectorAll("[onerror], [onload], [onclick]").length})"""
        )
        assert dialogs == [] and state["pwned"] == []
        assert session.console_errors == () and session.blocked_requests == ()
        assert requests == [index.as_uri()]
        assert state["images"] == 0 and state["handlers"] == 0
        assert state["scripts"] == (1 if case.job in PROGRAMS else 0)
        assert shows(hostile, state["title"]), state["title"][:200]
        assert shows(hostile, state["text"]), state["text"][:500]
        if case.name == "template" and case.job != "bingo_card":  # a bingo card has numbers
            assert "49" not in state["text"]
        assert all(link.startswith(("tel:", "mailto:")) for link in links), links
