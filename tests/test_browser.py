"""The browser check: real Chromium loads real pages; anything leaving the folder is caught."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from generators.browser import (
    CHROMIUM_MISSING,
    BrowserChecker,
    ChromiumError,
    _Capture,
    find_chromium,
)
from generators.browser_folder import OWNER_LOCK, remove_stale_folders
from testing.browser import (
    TINY_PNG,
    assert_clean,
    assert_png,
    browser_checker,
    require_chromium,
    write_page,
)

pytestmark = pytest.mark.slow  # real Chromium

# One browser for the module: the fixture and the async tests share the module's loop.
module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[BrowserChecker]:
    async with browser_checker() as checker:
        yield checker


@module_loop
async def test_a_clean_local_page_passes_with_a_screenshot(
    browser: BrowserChecker, tmp_path: Path
) -> None:
    (tmp_path / "pic.png").write_bytes(TINY_PNG)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "style.css").write_text("body { color: #222; }")
    index = write_page(
        tmp_path,
        '<link rel="stylesheet" href="sub/style.css"><h1>Opening hours</h1>'
        '<img src="pic.png" alt="logo"><img src="data:image/png;base64,iVBORw0KGgo=" alt="">'
        "<script>document.querySelector('h1').textContent += ' (today)';</script>",
        title="Hours",
    )
    shot = tmp_path / "shot.png"
    report = await browser.load(index, screenshot=shot)
    assert_clean(report)
    assert report.title == "Hours"
    assert "Opening hours (today)" in report.text
    assert report.screenshot == shot
    assert_png(shot)
    result = await browser.check(index)
    assert result.name == "browser" and result.passed and result.detail == ""
    assert result.seconds > 0


@module_loop
@pytest.mark.parametrize(
    ("script", "expected"),
    [("console.error('x');", "x"), ("throw new Error('boom');", "uncaught Error: boom")],
)
async def test_console_errors_and_uncaught_exceptions_are_reported(
    browser: BrowserChecker, tmp_path: Path, script: str, expected: str
) -> None:
    report = await browser.load(write_page(tmp_path, f"<p>hi</p><script>{script}</script>"))
    assert report.console_errors == (expected,)
    assert report.blocked_requests == ()
    result = await browser.check(tmp_path / "index.html")
    assert not result.passed and expected in result.detail


@module_loop
async def test_a_missing_local_file_is_an_error_not_a_blocked_request(
    browser: BrowserChecker, tmp_path: Path
) -> None:
    report = await browser.load(write_page(tmp_path, '<img src="nope.png" alt="">'))
    assert report.blocked_requests == ()
    assert len(report.console_errors) == 1 and "ERR_FILE_NOT_FOUND" in report.console_errors[0]


@module_loop
async def test_every_request_leaving_the_folder_is_blocked_and_fails_the_check(
    browser: BrowserChecker, tmp_path: Path
) -> None:
    outside = [
        "https://example.com/a.png",
        "http://cdn.example/x.css",
        "http://127.0.0.1:1/x",
        "file:///etc/passwd",
        "ws://127.0.0.1:1/socket",
    ]
    (tmp_path / "art").mkdir()
    (tmp_path / "secret.txt").write_text("not yours")
    index = write_page(
        tmp_path / "art",
        f'<link rel="stylesheet" href="{outside[1]}"><img src="{outside[0]}" alt="">'
        f'<img src="{outside[3]}" alt=""><img src="../secret.txt" alt="">'
        f'<script>fetch("{outside[2]}").catch(() => {{}});'
        f'const ws = new WebSocket("{outside[4]}"); ws.onerror = () => {{}};</script>',
    )
    report = await browser.load(index, settle_ms=500)
    assert sorted(report.blocked_requests) == sorted([*outside, (tmp_path / "secret.txt").as_uri()])
    # Chromium's "Failed to load resource" echoes of our own blocking are not extra errors.
    assert report.console_errors == ()
    result = await browser.check(index)
    assert not result.passed
    assert all(url in result.detail for url in outside)


@module_loop
async def test_hostile_text_appears_literally(browser: BrowserChecker, tmp_path: Path) -> None:
    index = write_page(tmp_path, "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;</p>")
    report = await browser.load(index)
    assert_clean(report)
    assert "<script>alert(1)</script> & <b>" in report.text


@module_loop
async def test_one_browser_serves_many_loads(browser: BrowserChecker, tmp_path: Path) -> None:
    index = write_page(tmp_path, "<p>again</p><script>console.log('fine')</script>")
    first = await browser.browser()
    await browser.load(index)  # warm-up
    durations = []
    for _ in range(20):
        started = time.monotonic()
        assert_clean(await browser.load(index, settle_ms=0))
        durations.append(time.monotonic() - started)
    assert await browser.browser() is first
    durations.sort()
    print(
        f"\nbrowser start {browser.start_seconds:.3f} s; load (settle_ms=0) "
        f"median {durations[10] * 1000:.0f} ms, max {durations[-1] * 1000:.0f} ms"
    )


@module_loop
async def test_a_hung_page_fails_and_a_dead_browser_is_replaced(tmp_path: Path) -> None:
    async with BrowserChecker(require_chromium(), timeout_s=3) as checker:
        hung = write_page(tmp_path, "<script>while (true) {}</script>", name="hung.html")
        result = await checker.check(hung)
        assert not result.passed and "did not finish within 3 s" in result.detail
        clean = write_page(tmp_path, "<p>fine</p>")
        assert_clean(await checker.load(clean))
        old = await checker.browser()
        await old.close()  # as if Chromium had crashed
        assert_clean(await checker.load(clean))
        assert await checker.browser() is not old


@module_loop
async def test_open_drives_a_local_server_and_blocks_other_hosts(browser: BrowserChecker) -> None:
    page = (
        "<!doctype html><title>Server</title><p id=out>...</p><script>"
        "fetch('/data').then(r => r.text()).then(t => { out.textContent = t; });"
        "fetch('http://example.com/track').catch(() => {});</script>"
    )

    async def index(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def data(_: web.Request) -> web.Response:
        return web.Response(text="from the server")

    app = web.Application()
    app.add_routes([web.get("/", index), web.get("/data", data)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with browser.open(f"http://127.0.0.1:{port}/") as session:
            await session.page.wait_for_function("out.textContent !== '...'")
            assert await session.page.text_content("#out") == "from the server"
            await session.page.wait_for_timeout(200)
            assert session.blocked_requests == ("http://example.com/track",)
            report = await session.report()
            assert report.title == "Server" and report.console_errors == ()
    finally:
        await runner.cleanup()


@module_loop
async def test_a_missing_chromium_says_what_to_install(tmp_path: Path) -> None:
    checker = BrowserChecker("/nonexistent/chromium")
    with pytest.raises(ChromiumError, match="apt-get install chromium"):
        await checker.load(write_page(tmp_path, "<p>x</p>"))
    await checker.close()


def test_find_chromium_honours_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    monkeypatch.setenv("ASSISTANT_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
    monkeypatch.setenv("ASSISTANT_CHROMIUM", str(tmp_path / "absent"))
    assert find_chromium() is None
    assert "apt-get install chromium" in CHROMIUM_MISSING


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("file:///srv/art/index.html", True),
        ("file:///srv/art/img/a%20b.png?x=1#y", True),
        ("file:///srv/art/../other/a.png", False),
        ("file:///srv/artwork/a.png", False),
        ("file://server/srv/art/a.png", False),
        ("data:text/plain,hi", True),
        ("blob:null/1234", True),
        ("about:blank", True),
        ("http://127.0.0.1:8080/x", True),
        ("ws://127.0.0.1:8080/ws", True),
        ("http://127.0.0.1:8081/x", False),
        ("https://localhost/x", True),
        ("http://localhost:9/x", True),
        ("https://example.com/", False),
        ("chrome://settings", False),
    ],
)
def test_what_may_leave_the_page(url: str, allowed: bool) -> None:
    capture = _Capture(Path("/srv/art"), ["127.0.0.1:8080", "localhost"])
    assert capture.allowed(url) is allowed


KILLED_CHECKER = """
import asyncio, sys
from generators.browser import BrowserChecker

async def main() -> None:
    checker = BrowserChecker(sys.argv[1])
    await checker.browser()
    print(checker._tmp, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


@module_loop
async def test_a_killed_checkers_folder_is_removed_at_start_and_a_running_ones_kept(
    browser: BrowserChecker,
) -> None:
    await browser.browser()  # the module's checker is running: its folder must stay
    running = browser._tmp
    assert running is not None
    killed = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLED_CHECKER, require_chromium(),
        stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert killed.stdout is not None
    left = Path((await killed.stdout.readline()).decode().strip())
    killed.kill()  # kill -9: no clean-up of its own
    await killed.wait()
    assert left.is_dir() and left.name.startswith("browser-checker-")
    async with BrowserChecker(require_chromium()) as fresh:
        await fresh.browser()
        assert not left.exists()
        assert running.is_dir()
        assert fresh._tmp is not None and fresh._tmp.is_dir()


def test_only_folders_whose_checker_is_surely_gone_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    names = {
        "killed": f"browser-checker-{dead.pid}-a1",  # its pid is gone, nobody holds its lock
        "killed-before-locking": f"browser-checker-{dead.pid}-b2",
        "elsewhere": f"browser-checker-{dead.pid}-c3",  # lock held: a checker we cannot see
        "starting": f"browser-checker-{os.getpid()}-d4",  # pid running, not locked yet
        "older-version": "browser-checker-x7k2m9q1",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
    for key in ("killed", "elsewhere"):
        (tmp_path / names[key] / OWNER_LOCK).touch()
    held = os.open(tmp_path / names["elsewhere"] / OWNER_LOCK, os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        removed = remove_stale_folders(tmp_path)
    finally:
        os.close(held)
    assert sorted(p.name for p in removed) == sorted(
        [names["killed"], names["killed-before-locking"]]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [names["elsewhere"], names["starting"], names["older-version"]]
    )
