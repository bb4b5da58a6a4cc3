"""Helpers for tests that load pages in headless Chromium.

Not a conftest: a module that needs a browser declares its own fixture, so the browser only
starts for tests that use it.  One browser per module (about 0.5 s to start) is the usual
choice; the fixture and the tests must then share the module's event loop::

    import pytest
    import pytest_asyncio

    from testing.browser import assert_clean, browser_checker, write_page

    module_loop = pytest.mark.asyncio(loop_scope="module")  # or pytestmark, if all are async


    @pytest_asyncio.fixture(scope="module", loop_scope="module")
    async def browser():
        async with browser_checker() as checker:
            yield checker


    @module_loop
    async def test_page(browser, tmp_path):
        report = await browser.load(write_page(tmp_path, "<p>hi</p>"))
        assert_clean(report)

For a function-scoped browser drop both ``loop_scope`` settings and ``scope``.  To drive the
project's own server use ``async with browser.open("http://127.0.0.1:PORT/") as session:``
(its host is allowed by default) and ``session.page``.

Chromium missing is a failure with the install hint, never a skip: a skipped browser test
would let broken pages through unnoticed.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from generators.browser import CHROMIUM_MISSING, BrowserChecker, PageReport, find_chromium

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A 1x1 PNG, for pages that need a local image next to them.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def require_chromium() -> str:
    """The Chromium path, or a test failure saying what to install."""
    executable = find_chromium()
    if executable is None:
        pytest.fail(CHROMIUM_MISSING, pytrace=False)
    return executable


@contextlib.asynccontextmanager
async def browser_checker() -> AsyncIterator[BrowserChecker]:
    """A started BrowserChecker, closed (temporary folder removed) afterwards."""
    checker = BrowserChecker(require_chromium())
    try:
        await checker.browser()  # start now, so a launch problem fails the fixture clearly
        yield checker
    finally:
        await checker.close()


def write_page(folder: Path, body: str, name: str = "index.html", title: str = "Test") -> Path:
    """Write a minimal HTML page around ``body`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / name
    page.write_text(
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head>\n<body>\n{body}\n</body></html>\n",
        encoding="utf-8",
    )
    return page


def assert_clean(report: PageReport) -> None:
    """Fail with the page's own problems listed, not just ``False is not True``."""
    assert report.ok, report.describe()


def assert_png(path: Path) -> None:
    """The screenshot exists and is a PNG."""
    assert path.is_file(), f"no screenshot at {path}"
    assert path.read_bytes()[: len(PNG_SIGNATURE)] == PNG_SIGNATURE, f"{path} is not a PNG"
