"""A photo through the web chat in real Chromium (issue 15, part U): a real file through the
page's own file input, reached by keyboard, sent over POST /photo; the alt text typed; the
photo in the delivered artifact. The page with the upload control passes axe and fits a phone.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
import pytest_asyncio
from PIL import Image
from playwright.async_api import expect

from generators.browser import BrowserChecker
from testing.axe import AXE_PATH, axe_audit, describe_violations
from testing.browser import browser_checker
from testing.web_page import (
    DELIVERY_MS,
    WAIT_MS,
    WebServer,
    answer_question,
    job_answers,
    make_it,
    press_choice,
    tab_to,
    type_answer,
    wait_delivered,
    wait_question,
    web_server,
)
from tests.test_photos import jpeg_with_gps

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]  # real Chromium

TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    if not AXE_PATH.is_file():
        pytest.fail("axe-core is missing (npm install)", pytrace=False)
    async with browser_checker() as checker:
        yield checker


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebServer]:
    async with web_server(tmp_path_factory.mktemp("photo")) as running:
        yield running


async def _to_logo(page, server: WebServer, language: str) -> None:  # noqa: ANN001
    job = server.services.jobs.jobs["cafe_page"]
    answers = job_answers(job, language)
    await expect(page.locator("#answer")).to_be_focused(timeout=WAIT_MS)
    await press_choice(page, job.id)
    for question in job.questions:
        if question.when is not None:  # behind the offer of more sections, declined
            continue
        await wait_question(page, question.prompt.get(language))
        if question.type == "photo":
            return
        value = answers.get(question.id)
        if value is None:
            await type_answer(page, "スキップ" if language == "ja" else "skip")
        else:
            await answer_question(page, question, value, language)


async def test_a_real_file_through_the_file_input_then_its_alt_text_then_delivery(
    browser: BrowserChecker, server: WebServer, tmp_path: Path
) -> None:
    picture = tmp_path / "shop.jpg"
    picture.write_bytes(jpeg_with_gps((2400, 1800)))
    async with browser.open(
        server.page_url(lang="en"), viewport=(360, 780), bypass_csp=True
    ) as session:
        page = session.page
        await _to_logo(page, server, "en")
        box = page.locator("#photo-box")
        await expect(box).to_be_visible(timeout=WAIT_MS)
        await expect(page.get_by_label("Choose a picture", exact=True)).to_have_attribute(
            "accept", "image/*"
        )
        await expect(page.get_by_label("Take a photo", exact=True)).to_have_attribute(
            "capture", "environment"
        )
        await tab_to(page, "photo-file")  # reached by keyboard like every other control
        audit = await axe_audit(page, TAGS)
        assert audit.violations == [], describe_violations(audit.violations)
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, "no sideways scroll on a phone"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "web-photo-question-360.png"), full_page=True)

        async with page.expect_response("**/photo") as answered:
            await page.locator("#photo-file").set_input_files(str(picture))
        assert (await answered.value).status == 200
        await expect(page.locator("#log")).to_contain_text(
            "What is in the picture?", timeout=WAIT_MS
        )
        await expect(box).to_be_hidden(timeout=WAIT_MS)  # the alt question is words
        await type_answer(page, "Our shop front with a blue door")
        await expect(page.locator("#log")).to_contain_text(
            "the picture “Our shop front with a blue door”", timeout=WAIT_MS
        )
        await wait_question(page, "photo of your shop")
        await type_answer(page, "skip")
        await make_it(page)
        await wait_delivered(page)
        assert not session.console_errors, session.console_errors
        assert not session.blocked_requests, session.blocked_requests
        preview = await page.locator("#preview").get_attribute("src")
    assert preview
    # The preview, under its own sandboxing policy (not bypassed), shows the logo.
    async with browser.open(urljoin(server.page_url(lang="en"), preview)) as shown:
        logo = shown.page.locator('img[alt="Our shop front with a blue door"]').first
        await expect(logo).to_be_visible(timeout=WAIT_MS)
        assert await logo.evaluate("img => img.complete && img.naturalWidth") > 0
        assert not shown.console_errors, shown.console_errors
    folders = sorted((server.services.settings.artifacts_dir).glob("*v1"))
    manifests = [json.loads((f / "manifest.json").read_text(encoding="utf-8")) for f in folders]
    made = [m for m in manifests if m.get("inputs")]
    assert made and made[-1]["inputs"]["photos"] == ["photos/logo.jpg"]
    folder = next(f for f, m in zip(folders, manifests, strict=True) if m is made[-1])
    with Image.open(folder / "photos" / "logo.jpg") as image:
        assert image.size == (1600, 1200) and len(image.getexif()) == 0


async def test_a_text_file_chosen_in_japanese_is_refused_in_words(
    browser: BrowserChecker, server: WebServer, tmp_path: Path
) -> None:
    fake = tmp_path / "menu.jpg"
    fake.write_text("これは写真ではありません", encoding="utf-8")
    async with browser.open(server.page_url(lang="ja")) as session:
        page = session.page
        await _to_logo(page, server, "ja")
        await expect(page.locator("#photo-box")).to_be_visible(timeout=DELIVERY_MS)
        await page.locator("#photo-camera").set_input_files(str(fake))
        await expect(page.locator("#log")).to_contain_text(
            "そのファイルは使える写真ではありません。", timeout=WAIT_MS
        )
        await expect(page.locator("#photo-box")).to_be_visible()  # asked again: never stuck
        assert not session.console_errors, session.console_errors
