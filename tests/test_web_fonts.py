"""The web chat is set in proportional type in both languages (issue 14).

With ``fonts-ipafont-gothic`` installed (scripts/setup.sh installs it), the page's font list
put the monospaced ``IPAGothic`` before ``system-ui``, so the whole English page looked typed
on a typewriter. These tests render text in the page's own font in real Chromium, take
screenshots, and measure the ink: in a proportional face ten i's are far narrower than ten M's,
in a monospaced face they are as wide. Chromium also names the face it drew with.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Page

from generators.browser import BrowserChecker
from testing.browser import browser_checker
from testing.web_page import WAIT_MS, WebServer, web_server

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

MONOSPACED = {"IPAGothic", "IPAGothic Regular", "DejaVu Sans Mono", "IPAMincho"}
SAMPLE = ("iiiiiiiiii", "MMMMMMMMMM")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebServer]:
    async with web_server(tmp_path_factory.mktemp("fonts")) as running:
        yield running


async def _ink_width(page: Page, text: str) -> int:
    """Pixels from the first to the last dark column of ``text`` drawn in the body's font."""
    await page.evaluate(
        """(text) => { const old = document.getElementById('font-probe'); if (old) old.remove();
        const probe = document.createElement('span'); probe.id = 'font-probe';
        probe.textContent = text; probe.style.cssText =
          'position:fixed;top:0;left:0;padding:4px;background:#fff;color:#000;white-space:pre';
        document.body.appendChild(probe); }""",
        text,
    )
    shot = await page.locator("#font-probe").screenshot(timeout=WAIT_MS)
    columns: list[int] = await page.evaluate(_DARK_COLUMNS, base64.b64encode(shot).decode())
    assert columns, f"nothing drawn for {text!r}"
    return columns[-1] - columns[0] + 1


# The screenshot (a PNG) decoded by the browser itself: the columns holding a dark pixel.
_DARK_COLUMNS = """async (png) => { const image = new Image(); image.src = 'data:image/png;base64,' + png;
  await image.decode(); const canvas = document.createElement('canvas');
  canvas.width = image.width; canvas.height = image.height;
  const ctx = canvas.getContext('2d'); ctx.drawImage(image, 0, 0);
  const data = ctx.getImageData(0, 0, image.width, image.height).data; const dark = [];
  for (let x = 0; x < image.width; x++) { for (let y = 0; y < image.height; y++) {
    const i = (y * image.width + x) * 4;
    if (data[i] + data[i + 1] + data[i + 2] < 384) { dark.push(x); break; } } }
  return dark; }"""


async def _faces(page: Page, selector: str) -> set[str]:
    """The font faces Chromium really drew ``selector``'s text with (DevTools' own answer)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("DOM.enable")
    await cdp.send("CSS.enable")
    root = await cdp.send("DOM.getDocument")
    node = await cdp.send(
        "DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector}
    )
    fonts = await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    return {font["familyName"] for font in fonts["fonts"]}


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_the_page_is_set_in_proportional_type(
    browser: BrowserChecker, server: WebServer, language: str
) -> None:
    async with browser.open(server.page_url(lang=language)) as session:
        page = session.page
        await page.locator("h2, h1").first.wait_for(timeout=WAIT_MS)
        narrow, wide = SAMPLE
        thin, broad = await _ink_width(page, narrow), await _ink_width(page, wide)
        faces = await _faces(page, "#font-probe")
        assert not faces & MONOSPACED, f"drawn in a monospaced face: {faces}"
        assert thin * 2 < broad, f"ten i's {thin} px, ten M's {broad} px: monospaced ({faces})"
        heading = await _faces(page, "h1")
        assert heading and not heading & MONOSPACED, f"the title is drawn in {heading}"
