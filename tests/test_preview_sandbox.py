"""A preview runs its own scripts in Chromium but cannot reach the service that serves it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from assistant.jobs.catalog import JobCatalog
from assistant.server import init_app
from assistant.session import Artifact, GenerationRequest
from assistant.store.sqlite import SQLiteStore
from testing.browser import browser_checker

pytestmark = pytest.mark.slow  # real Chromium

# A page that tries everything a hostile artifact might: call the service, read storage and
# cookies, reach its parent, submit a form. It writes what happened into its title.
PROBE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>probe</title></head>
<body><h1>probe</h1><form id="f" method="post" action="/healthz"><input name="x"></form>
<script>
(async () => {
  const seen = {scripts: "ran"};
  for (const url of ["/healthz", location.origin + "/healthz", "http://127.0.0.1:PORT/healthz"]) {
    try { const r = await fetch(url); seen[url] = "read " + (await r.text()).slice(0, 20); }
    catch (e) { seen[url] = "blocked"; }
  }
  try { localStorage.setItem("k", "v"); seen.storage = "usable"; } catch (e) { seen.storage = "blocked"; }
  try { seen.cookie = document.cookie === "" ? "empty" : "readable"; } catch (e) { seen.cookie = "blocked"; }
  seen.origin = String(self.origin);
  document.title = JSON.stringify(seen);
})();
</script></body></html>
"""


async def test_preview_cannot_read_the_service(
    store: SQLiteStore, catalog: JobCatalog, tmp_path: Path
) -> None:
    async with TestServer(init_app(store, catalog), host="127.0.0.1") as server:
        port = server.port
        folder = tmp_path / "probe"
        folder.mkdir()
        (folder / "index.html").write_text(PROBE.replace("PORT", str(port)), encoding="utf-8")
        request = GenerationRequest("s", "cafe_page", "en", {}, "probe", 1)
        task_id = await store.enqueue_running(request)
        token = "T" * 40
        artifact = Artifact("probe", "probe", 1, "s", "cafe_page", str(folder),
                            ("index.html",), {}, time.time(), token=token)  # fmt: skip
        assert await store.finish(task_id, artifact)

        async with browser_checker() as browser:
            base = f"http://127.0.0.1:{port}"
            async with browser.open(f"{base}/p/{token}/") as session:
                page = session.page
                await page.wait_for_function("() => document.title.startsWith('{')", timeout=10_000)
                seen = json.loads(await page.title())
                submitted = await page.evaluate(
                    "() => { try { document.getElementById('f').submit(); return 'tried'; }"
                    " catch (e) { return 'blocked'; } }"
                )
                await page.wait_for_timeout(300)
                still_here = page.url

    assert seen["scripts"] == "ran", "the preview's own scripts work"
    for url in ("/healthz", f"{base}/healthz"):
        assert seen[url] == "blocked", (url, seen)
    assert seen[f"http://127.0.0.1:{port}/healthz"] == "blocked"
    assert seen["storage"] == "blocked" and seen["origin"] == "null", "an opaque origin"
    assert submitted in ("tried", "blocked") and still_here == f"{base}/p/{token}/", (
        "a form cannot be submitted from the preview"
    )
