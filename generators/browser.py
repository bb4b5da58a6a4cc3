"""Load a generated page in headless Chromium and report what went wrong in it.

A page that logs errors, throws, or tries to reach anything outside its own folder is not
delivered: a user's page must work offline and must not leak who opened it.  One browser
is kept alive across checks (starting Chromium takes most of a second); every load gets a
fresh browser context, so pages never share storage.

The browser belongs to the event loop that started it (a Playwright rule).

Chromium's settings and cache go to a temporary folder, removed on close; folders left by a
checker that was killed are removed when the next one starts (``browser_folder.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from generators.browser_folder import own_folder
from generators.browser_report import PageReport
from generators.checks.result import CheckResult
from generators.interactions import Interaction, InteractionError

if TYPE_CHECKING:  # Playwright is imported only when a browser is used (a kiosk never does)
    from playwright.async_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Playwright,
        Route,
        WebSocketRoute,
    )
    from playwright.async_api import Error as PlaywrightError


def _error() -> type[PlaywrightError]:
    """Playwright's error class, imported on first use."""
    from playwright.async_api import Error

    return Error


_LOGGER = logging.getLogger(__name__)
# Pre-delivery checks load and use a page in Chromium: CPU-bound work, so at most one per core
# runs at once, however many generation tasks the queue builds side by side.
CHECKS_AT_ONCE = max(1, os.cpu_count() or 1)

CHROMIUM_MISSING = "Chromium is not installed: apt-get install chromium (scripts/test does this)"
LAUNCH_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
TEXT_LIMIT = 20_000
_ALWAYS_ALLOWED = frozenset({"data", "blob", "about"})
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_TEXT_JS = f"() => document.body ? document.body.innerText.slice(0, {TEXT_LIMIT}) : ''"


class ChromiumError(RuntimeError):
    """Chromium is missing or would not start: an install problem, not a page problem."""


def find_chromium() -> str | None:
    """The Chromium to drive: ``ASSISTANT_CHROMIUM`` if set, else the usual Debian places."""
    configured = os.environ.get("ASSISTANT_CHROMIUM")
    if configured:
        if Path(configured).is_file():
            return configured
        _LOGGER.warning("ASSISTANT_CHROMIUM=%s does not exist", configured)
        return None
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


class _Capture:
    """Decides which requests may go out and records errors for one browser context."""

    def __init__(self, allow_dir: Path | None, allow_hosts: Iterable[str]) -> None:
        self.allow_dir = allow_dir.resolve() if allow_dir is not None else None
        self.allow_hosts = frozenset(host.lower() for host in allow_hosts)
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self._console: list[tuple[str, str]] = []

    def allowed(self, url: str) -> bool:
        """Only the page's own folder, inline data, and explicitly allowed hosts."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in _ALWAYS_ALLOWED:
            return True
        if scheme == "file":
            if self.allow_dir is None or parts.netloc not in ("", "localhost"):
                return False
            return Path(unquote(parts.path)).resolve().is_relative_to(self.allow_dir)
        if scheme in _DEFAULT_PORTS and parts.hostname:
            port = parts.port or _DEFAULT_PORTS[scheme]
            return bool({parts.hostname, f"{parts.hostname}:{port}"} & self.allow_hosts)
        return False

    async def route(self, route: Route) -> None:
        """Let allowed requests through; abort and record everything else."""
        url = route.request.url
        allowed = self.allowed(url)
        if not allowed:
            self.blocked.append(url)
        with contextlib.suppress(_error()):  # the page may close meanwhile
            await (route.continue_() if allowed else route.abort("blockedbyclient"))

    async def route_websocket(self, ws: WebSocketRoute) -> None:
        """WebSockets bypass ``route``; they get the same rule here."""
        if self.allowed(ws.url):
            ws.connect_to_server()
        else:
            self.blocked.append(ws.url)
            with contextlib.suppress(_error()):
                await ws.close(code=1008, reason="blocked")

    def watch(self, page: Page) -> None:
        """Collect console errors and uncaught exceptions from ``page``."""
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught {exc.name}: {exc.message}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._console.append((message.text, message.location.get("url", "")))

    def console_errors(self) -> tuple[str, ...]:
        """Errors, minus Chromium's echo of the requests we blocked ourselves."""
        blocked = set(self.blocked)
        console = [
            text
            for text, url in self._console
            if not (text.startswith("Failed to load resource") and url in blocked)
        ]
        return (*console, *self.errors)

    def report(self, title: str, screenshot: Path | None, text: str) -> PageReport:
        """Freeze what was seen so far."""
        return PageReport(
            console_errors=self.console_errors(),
            blocked_requests=tuple(dict.fromkeys(self.blocked)),
            title=title,
            screenshot=screenshot,
            text=text[:TEXT_LIMIT],
        )


@dataclass
class BrowserSession:
    """A live page opened by :meth:`BrowserChecker.open`, with its capture for tests."""

    context: BrowserContext
    page: Page
    _capture: _Capture = field(repr=False)

    @property
    def console_errors(self) -> tuple[str, ...]:
        """Errors seen so far (they keep coming while the page lives)."""
        return self._capture.console_errors()

    @property
    def blocked_requests(self) -> tuple[str, ...]:
        """Requests refused so far."""
        return tuple(dict.fromkeys(self._capture.blocked))

    async def report(self, screenshot: Path | None = None) -> PageReport:
        """Title, text and (optionally) a full-page screenshot of the page as it is now."""
        if screenshot is not None:
            await self.page.screenshot(path=screenshot, full_page=True)
        text = await self.page.evaluate(_TEXT_JS)
        return self._capture.report(await self.page.title(), screenshot, text)


class BrowserChecker:
    """One headless Chromium, started on first use and restarted if it died."""

    def __init__(
        self,
        executable: str | None = None,
        *,
        extra_args: Sequence[str] = (),
        timeout_s: float = 20.0,
    ) -> None:
        self._executable = executable
        self._extra_args = tuple(extra_args)
        self.timeout_s = timeout_s
        self.start_seconds: float | None = None
        self._lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._tmp: Path | None = None
        self._owner_lock: int | None = None  # descriptor holding the folder's flock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def __aenter__(self) -> BrowserChecker:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def browser(self) -> Browser:
        """The running browser, launching (or relaunching after a crash) as needed."""
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            raise RuntimeError("a BrowserChecker is tied to the event loop that first used it")
        self._loop = loop
        async with self._lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:
                _LOGGER.warning("Chromium went away; starting a new one")
            self._browser = await self._launch()
            return self._browser

    async def _launch(self) -> Browser:
        executable = _executable(self._executable)
        started = time.monotonic()
        if self._tmp is None:
            self._tmp, self._owner_lock = await asyncio.to_thread(own_folder)
        if self._playwright is None:
            from playwright.async_api import async_playwright

            self._playwright = await async_playwright().start()
        tmp = self._tmp
        assert tmp is not None  # made just above
        env: dict[str, str | float | bool] = {
            **os.environ,
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
        }
        try:
            browser = await self._playwright.chromium.launch(
                executable_path=executable,
                headless=False,  # headless through "--headless=new" in LAUNCH_ARGS
                args=[*LAUNCH_ARGS, *self._extra_args],
                env=env,
                timeout=self.timeout_s * 1000,
            )
        except _error() as exc:
            raise ChromiumError(f"Chromium at {executable} would not start: {exc.message}") from exc
        self.start_seconds = time.monotonic() - started
        _LOGGER.info("Chromium %s started in %.2f s", browser.version, self.start_seconds)
        return browser

    async def _new_session(
        self, capture: _Capture, context_options: dict[str, Any]
    ) -> BrowserSession:
        browser = await self.browser()
        options = {"java_script_enabled": True, "service_workers": "block", **context_options}
        context = await browser.new_context(**options)
        try:
            await context.route("**/*", capture.route)
            await context.route_web_socket("**/*", capture.route_websocket)
            page = await context.new_page()
        except BaseException:
            await _close_quietly(context)
            raise
        capture.watch(page)
        return BrowserSession(context, page, capture)

    @contextlib.asynccontextmanager
    async def open(
        self,
        url: str,
        *,
        allow_hosts: Iterable[str] | None = None,
        allow_dir: Path | None = None,
        viewport: tuple[int, int] = (1280, 900),
        **context_options: Any,
    ) -> AsyncIterator[BrowserSession]:
        """Open ``url`` in a fresh context with the same blocking and capture as ``load``.

        ``allow_hosts`` ("127.0.0.1:8080" or a bare host) defaults to the URL's own host and
        port; ``allow_dir`` defaults to the folder of a file:// URL.
        """
        parts = urlsplit(url)
        if allow_hosts is None:
            allow_hosts = [parts.netloc] if parts.scheme in _DEFAULT_PORTS else []
        if allow_dir is None and parts.scheme == "file":
            allow_dir = Path(unquote(parts.path)).parent
        capture = _Capture(allow_dir, allow_hosts)
        width, height = viewport
        options = {"viewport": {"width": width, "height": height}, **context_options}
        session = await self._new_session(capture, options)
        try:
            await session.page.goto(url, wait_until="load", timeout=self.timeout_s * 1000)
            yield session
        finally:
            await _close_quietly(session.context)

    async def load(
        self,
        index: Path,
        *,
        screenshot: Path | None = None,
        settle_ms: int = 300,
        viewport: tuple[int, int] = (1280, 900),
        interact: Interaction | None = None,
    ) -> PageReport:
        """Load a generated page from disk (only its own folder is reachable), then use it."""
        index = _absolute(index)
        capture = _Capture(index.parent, ())
        width, height = viewport
        session = await self._new_session(capture, {"viewport": {"width": width, "height": height}})
        budget = self.timeout_s * (2 if interact else 1)  # using the page: a second budget
        try:
            async with asyncio.timeout(budget):
                await session.page.goto(index.as_uri(), wait_until="load")
                await session.page.wait_for_timeout(settle_ms)
                if interact is not None:
                    await interact(session.page)
                return await session.report(screenshot)
        except TimeoutError:
            capture.errors.append(f"page did not finish within {budget:g} s")
        except InteractionError as exc:
            capture.errors.append(f"using the page: {exc}")
        except _error() as exc:
            capture.errors.append(f"page failed: {exc.message}")
        finally:
            await _close_quietly(session.context)
        return capture.report("", None, "")

    async def check(
        self, index: Path, screenshot: Path | None = None, interact: Interaction | None = None
    ) -> CheckResult:
        """The "browser" check: no console errors, no requests leaving the folder, and the
        page answers a person's use of it (``interact``) as it should."""
        started = time.monotonic()
        async with self._check_slots():
            report = await self.load(index, screenshot=screenshot, interact=interact)
        return CheckResult("browser", report.ok, report.describe(), time.monotonic() - started)

    def _check_slots(self) -> asyncio.Semaphore:
        """The running loop's semaphore for checks (a semaphore belongs to one event loop)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(CHECKS_AT_ONCE))
        return self._slots[1]

    async def close(self) -> None:
        """Stop the browser and remove its temporary folder; safe to call twice."""
        async with self._lock:
            browser, self._browser = self._browser, None
            playwright, self._playwright = self._playwright, None
            if browser is not None:
                with contextlib.suppress(_error()):
                    await browser.close()
            if playwright is not None:
                with contextlib.suppress(_error()):
                    await playwright.stop()
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None
            if self._owner_lock is not None:
                os.close(self._owner_lock)
                self._owner_lock = None
            self._loop = None


async def _close_quietly(context: BrowserContext) -> None:
    """Closing a context whose browser died must not hide the real error."""
    with contextlib.suppress(_error()):
        await context.close()


def _executable(configured: str | None) -> str:
    """The browser binary to launch, or a clear install hint."""
    executable = configured or find_chromium()
    if executable is None or not Path(executable).is_file():
        raise ChromiumError(CHROMIUM_MISSING)
    return executable


def _absolute(path: Path) -> Path:
    """``Path.as_uri`` needs an absolute path (kept out of async code: it touches the disk)."""
    return path.resolve()
