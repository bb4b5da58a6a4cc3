"""The web chat page on PostgreSQL (issue 17): the whole service composed from Settings with
``database_url`` set, a café page made in real Chromium with the keyboard, to its delivery.

``tests/test_web_page.py`` walks every job on SQLite; this walks one on the test process's
PostgreSQL (``testing/postgres.py``), in Japanese so the stored answers are not plain ASCII.
Sessions, turns, the generation queue, the artifact and its preview token all live in the
database: nothing is written to a SQLite file in the data folder.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from assistant.store.postgres.store import PostgresStore
from assistant.understanding.answers import check_answers
from generators.browser import BrowserChecker
from testing.browser import browser_checker
from testing.web_page import WAIT_MS, job_answers, make_it, wait_delivered, walk_job, web_server

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]  # real Chromium

STORE_KEY = "facility-assistant.session"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


async def test_a_cafe_page_is_made_to_its_delivery_on_postgresql(
    browser: BrowserChecker, tmp_path: Path, postgres_url: str
) -> None:
    data_dir = tmp_path / "data"
    async with web_server(data_dir, language="ja", database_url=postgres_url) as server:
        assert isinstance(server.services.store, PostgresStore)
        job = server.services.jobs.jobs["cafe_page"]
        answers = job_answers(job, "ja")
        async with browser.open(server.page_url(lang="ja")) as session:
            page = session.page
            await expect(page.locator("#answer")).to_be_focused(timeout=WAIT_MS)
            await walk_job(page, job, "ja", answers)
            await make_it(page)
            await wait_delivered(page)  # the preview and the download come from the database
            key = await page.evaluate(f"() => localStorage.getItem({STORE_KEY!r})")
            assert not session.console_errors, session.console_errors
            assert not session.blocked_requests, session.blocked_requests
        # Read back through a second store on the same database, as another process would.
        other = PostgresStore(postgres_url)
        await other.open()
        try:
            stored = await other.load(key)
            assert stored is not None and stored.artifact_id is not None
            artifact = await other.artifact(stored.artifact_id)
        finally:
            await other.close()
        assert artifact is not None and artifact.job_id == "cafe_page"
        assert stored.answers == check_answers(answers, job, "ja", datetime.date.today())
    assert not list(data_dir.glob("*.db*")), "no SQLite file beside PostgreSQL"
