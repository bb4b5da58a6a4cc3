"""The web versions of the programs, used in real Chromium as a person on a phone would: add
items and read the total, finish a quiz; in both languages, offline, accessible (axe 0), at
360 px without sideways scroll. Also the Python version's preview (a real session, the README
as HTML, the code folded) and the till's receipt when the user quits with ``q``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from assistant.jobs.catalog import JobCatalog
from assistant.session import GenerationRequest
from assistant.understanding.answers import check_answers
from generators.browser import BrowserChecker
from generators.interactions import add_item_and_total, finish_quiz
from generators.program import ProgramGenerator
from generators.sandbox import run_sandboxed, sandbox_python
from generators.template import TemplateRenderer
from testing.answer_sets import VALID
from testing.axe import AXE_MISSING, AXE_PATH, axe_audit, describe_violations
from testing.browser import browser_checker

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]  # real Chromium

TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
SHOTS = Path("build/screenshots")
TODAY = datetime.date(2026, 11, 25)
NO_SIDEWAYS = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    if not AXE_PATH.is_file():
        pytest.fail(AXE_MISSING, pytrace=False)
    async with browser_checker() as checker:
        yield checker


async def make(
    browser: BrowserChecker,
    catalog: JobCatalog,
    folder: Path,
    job_id: str,
    lang: str,
    answers: dict[str, Any] | None = None,
) -> tuple[Path, tuple[str, ...]]:
    job = catalog.jobs[job_id]
    if answers is None:
        answers = check_answers(VALID[job_id][lang]["typical"], job, lang, TODAY)
    folder.mkdir(parents=True, exist_ok=True)
    request = GenerationRequest("s", job_id, lang, answers, "w", 1)
    made = await ProgramGenerator(TemplateRenderer(), browser).generate(job, request, folder)
    return folder, made.files


async def assert_phone_clean(page: Any, session: Any, name: str) -> None:
    """Axe 0, no sideways scroll at 360 px, no errors, nothing asked of the network."""
    audit = await axe_audit(page, TAGS)
    assert audit.violations == [], describe_violations(audit.violations)
    assert await page.evaluate(NO_SIDEWAYS), "sideways scroll at 360 px"
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    assert session.console_errors == () and session.blocked_requests == ()


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_the_shopping_web_app_adds_items_and_totals_with_tax(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path, lang: str
) -> None:
    answers = {"shop_name": "Corner", "currency": "yen", "tax_rate": 10,
               "member_discount": True, "products": ["coffee 150", "パン 200円"]}  # fmt: skip
    folder, files = await make(browser, catalog, tmp_path, "shopping_total", lang, answers)
    assert files == ("index.html", "main.py", "README.md")
    url = (folder / "index.html").as_uri()
    async with browser.open(url, viewport=(360, 740)) as session:
        page = session.page
        await page.locator("#pick").select_option("2")  # パン 200円 from the menu
        await expect(page.locator("#price")).to_have_value("200")
        await page.locator("#quantity").fill("3")
        await page.locator("#quantity").press("Enter")
        await expect(page.locator("#status")).to_contain_text("パン")
        await page.locator("#member").check()
        # 600 - 60 member discount = 540, + 10 % tax = 594
        await expect(page.locator("#total")).to_have_text(re.compile(r"594"))
        assert await page.locator("#subtotal").get_attribute("data-amount") == "600"
        await page.locator("#price").fill("abc")
        await page.locator("#add").press("Enter")
        await expect(page.locator("#status")).not_to_contain_text("パン")
        assert await page.locator("#lines li").count() == 1, "a bad price adds nothing"
        await assert_phone_clean(page, session, f"shopping-{lang}")
        await page.locator("#new-sale").press("Enter")
        await add_item_and_total(page)  # the pre-delivery check's own use, on a fresh sale


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_the_quiz_web_app_is_played_to_the_score(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path, lang: str
) -> None:
    folder, files = await make(browser, catalog, tmp_path, "quiz_game", lang)
    assert files == ("index.html", "main.py", "README.md")
    async with browser.open((folder / "index.html").as_uri(), viewport=(360, 740)) as session:
        page = session.page
        total = int(await page.locator("#quiz").get_attribute("data-total") or 0)
        assert total == VALID["quiz_game"][lang]["typical"].get("question_count", 5)
        await assert_phone_clean(page, session, f"quiz-{lang}")
        # Nothing is focused on load (a preview frame must not take the chat's focus):
        # Tab reaches the first option, Enter answers it.
        assert await page.evaluate("() => document.activeElement === document.body")
        await page.keyboard.press("Tab")
        assert await page.evaluate("() => document.activeElement.closest('#options') !== null")
        await page.keyboard.press("Enter")
        await expect(page.locator("#feedback")).not_to_be_empty()
        assert await page.evaluate("() => document.activeElement.id") == "next"
        await page.reload()
        await finish_quiz(page)
        score = await page.locator("#score").inner_text()
        assert str(total) in score
        await assert_phone_clean(page, session, f"quiz-{lang}-score")


async def test_the_quiz_web_app_uses_the_models_items_when_it_helped(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path
) -> None:
    items = [{"question": f"Q{n}: <b>bold</b>?", "options": ["yes", "no", "maybe"], "answer": 0}
             for n in range(5)]  # fmt: skip
    job = catalog.jobs["quiz_game"]
    answers = check_answers(VALID["quiz_game"]["en"]["typical"], job, "en", TODAY)
    request = GenerationRequest("s", "quiz_game", "en", answers, "w", 1)
    generator = ProgramGenerator(TemplateRenderer(), browser)
    await generator.generate(job, request, tmp_path, extra={"enriched": {"items": items}})
    async with browser.open((tmp_path / "index.html").as_uri()) as session:
        question = await session.page.locator("#question").inner_text()
        assert re.fullmatch(r"Q\d: <b>bold</b>\?", question), question


@pytest.mark.parametrize("lang", ["en", "ja"])
async def test_the_python_preview_is_a_real_session_with_the_readme_as_html(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path, lang: str
) -> None:
    folder, _ = await make(browser, catalog, tmp_path, "shopping_total", lang)
    async with browser.open((folder / "preview.html").as_uri(), viewport=(360, 740)) as session:
        page = session.page
        transcript = page.locator("pre.transcript")
        typed = await transcript.locator("kbd").all_inner_texts()
        assert typed[-1] in ("q", "no") and "q" in typed, typed
        text = await transcript.inner_text()
        total = "合計" if lang == "ja" else "Total"
        assert re.search(total + r": \S+", text), "the receipt is printed after q"
        readme = page.locator(".readme")
        await expect(readme.locator("h1")).to_be_visible()
        assert await readme.locator("ol li").count() >= 3, "the steps are a real list"
        assert "## " not in await readme.inner_text(), "no raw Markdown"
        code = page.locator("details pre")
        await expect(code).to_be_hidden()
        await page.locator("details summary").press("Enter")
        await expect(code).to_contain_text("def main")
        await assert_phone_clean(page, session, f"shopping-preview-{lang}")


@pytest.mark.parametrize("currency", ["yen", "dollar"])
async def test_the_till_prints_the_receipt_when_the_user_quits(
    browser: BrowserChecker, catalog: JobCatalog, tmp_path: Path, currency: str
) -> None:
    answers = {"shop_name": "Corner", "currency": currency, "tax_rate": 10,
               "member_discount": False, "products": None}  # fmt: skip
    folder, _ = await make(browser, catalog, tmp_path, "shopping_total", "en", answers)
    result = await run_sandboxed(
        [sandbox_python(), "-s", "-B", "main.py"], files_from=folder, stdin=b"100\n2\n50\n1\nq\n"
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    total = "¥275" if currency == "yen" else "$275.00"
    assert f"Total: {total}" in out, out
    assert out.index("Total:") < out.index("All done. Goodbye!")
