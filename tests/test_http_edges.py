"""What every HTTP response carries, and who may read the metrics, over real sockets.

A response without ``nosniff`` may be sniffed into a script by an old browser, one without
``Referrer-Policy`` leaks a preview's token to whatever it links to, and a ``Server`` header
naming versions tells a probe which advisories to try. ``/metrics`` shows how busy the kiosk
is: only this machine, or whoever holds the configured token, may read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from assistant.config import Settings, load_settings
from assistant.dialog.manager import DialogManager
from assistant.errors import ConfigError
from assistant.http_guard import GuardedRunner
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.metrics import ServiceMetrics
from assistant.server import SERVER_NAME, MetricsAccess, init_app
from assistant.store.sqlite import SQLiteStore
from testing.network import lan_address
from tests.test_web_socket import BASE, make_channel

TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
def app_for(
    store: SQLiteStore, catalog: JobCatalog, manager: DialogManager, phrases: Phrases
) -> Callable[..., web.Application]:
    def build(metrics_token: str = "") -> web.Application:
        settings = Settings(language="en", metrics_token=metrics_token)
        access = MetricsAccess.of(ServiceMetrics(queue_depth=store.depth), phrases, settings)
        app = init_app(store, catalog, base_url=BASE, metrics_access=access)
        make_channel(manager, phrases).add_routes(app)
        return app

    return build


@pytest.fixture
async def client(app_for: Callable[..., web.Application]) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(app_for())) as client:
        yield client


async def test_every_response_carries_the_safety_headers_and_no_versions(
    client: TestClient,
) -> None:
    static = client.app.router["web_static"].url_for(filename="chat.css")
    requests = [
        ("GET", "/healthz", 200),
        ("GET", "/metrics", 200),
        ("GET", str(static), 200),
        ("GET", "/c/ABCDEF.svg", 200),
        ("GET", "/", 200),
        ("GET", "/no/such/page", 404),
        ("GET", "/a/not-a-token", 404),
        ("GET", "/p/AAAAAAAAAAAAAAAAAAAAAAAA/index.html", 404),
        ("POST", "/healthz", 405),
    ]
    for method, path, status in requests:
        response = await client.request(method, path)
        assert response.status == status, path
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
        assert response.headers.get("Referrer-Policy") == "no-referrer", path
        assert response.headers.get("Server") == SERVER_NAME, path
    too_large = await client.post("/healthz", data=b"x" * (3 * 1024 * 1024))
    assert too_large.status == 413
    assert too_large.headers.get("X-Content-Type-Options") == "nosniff"
    assert too_large.headers.get("Server") == SERVER_NAME


@asynccontextmanager
async def _served_on_every_interface(app: web.Application) -> AsyncIterator[int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _metrics(
    address: str, port: int, token: str | None = None, language: str = "en"
) -> tuple[int, str]:
    headers = {"Accept-Language": language}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{address}:{port}/metrics", headers=headers) as response,
    ):
        return response.status, await response.text()


async def test_metrics_answer_this_machine_and_the_token_only(
    app_for: Callable[..., web.Application],
) -> None:
    lan = lan_address()
    async with _served_on_every_interface(app_for(metrics_token=TOKEN)) as port:
        status, text = await _metrics("127.0.0.1", port)
        assert status == 200 and "assistant_generation_queue_depth 0.0" in text
        status, text = await _metrics(lan, port)
        assert status == 403 and "metrics token" in text
        status, text = await _metrics(lan, port, language="ja")
        assert status == 403 and "メトリクス用のトークン" in text
        assert (await _metrics(lan, port, "wrong"))[0] == 403
        status, text = await _metrics(lan, port, TOKEN)
        assert status == 200 and "assistant_generation_queue_depth 0.0" in text
    async with _served_on_every_interface(app_for()) as port:  # no token: nobody else
        assert (await _metrics(lan, port, TOKEN))[0] == 403


def test_the_metrics_token_is_a_checked_secret() -> None:
    settings = load_settings(environ={"ASSISTANT_METRICS_TOKEN": TOKEN})
    assert settings.metrics_token == TOKEN
    assert TOKEN not in repr(settings)
    assert Settings().metrics_token == ""
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_settings(environ={"ASSISTANT_METRICS_TOKEN": "short"})


# -- slow clients ----------------------------------------------------------------------------


async def _slow_headers(port: int, every: float, lines: int = 200) -> tuple[float, bytes]:
    """A client sending one header line every ``every`` seconds; how long until the server
    closed the connection, and what it said."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    answer = asyncio.create_task(reader.read())  # b"" or a 408, then the end
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for number in range(lines):
            done, _ = await asyncio.wait([answer], timeout=every)
            if done:
                break
            with contextlib.suppress(ConnectionError):
                writer.write(f"X-Slow-{number}: 1\r\n".encode())
        said = await answer
        return time.monotonic() - started, said
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_slow_headers_are_cut_off_while_other_requests_are_served(
    app_for: Callable[..., web.Application],
) -> None:
    runner = GuardedRunner(app_for(), header_timeout=1.0, keepalive_timeout=30.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        slow = [asyncio.create_task(_slow_headers(port, every=0.3)) for _ in range(20)]
        async with aiohttp.ClientSession() as session:
            for _ in range(5):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert response.status == 200
                await asyncio.sleep(0.1)
        for seconds, said in await asyncio.gather(*slow):
            assert seconds < 5.0  # 1 s allowed; the rest is slack for a busy machine
            assert said.startswith(b"HTTP/1.1 408")
        # A client that is merely quick is never cut off, on a kept-alive connection too.
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert response.status == 200
                await asyncio.sleep(1.2)
    finally:
        await runner.cleanup()


async def test_a_slow_body_gets_408(store: SQLiteStore, catalog: JobCatalog) -> None:
    app = init_app(store, catalog, base_url=BASE, body_timeout=1.0)
    async with TestServer(app) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123")
        started = time.monotonic()
        said = await asyncio.wait_for(reader.read(4096), 10)  # then aiohttp lingers a while
        writer.close()
        assert said.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 5.0
        assert b"X-Content-Type-Options: nosniff" in said


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow  # a real `assistant serve`
async def test_assistant_serve_closes_slow_and_idle_connections(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_DATA_DIR=str(tmp_path / "data"), ASSISTANT_PORT=str(port),
        ASSISTANT_LLM_ENABLED="false", ASSISTANT_WEB_VOICE="false",
        ASSISTANT_CHROMIUM=str(tmp_path / "no-chromium"),
        ASSISTANT_HTTP_HEADER_TIMEOUT_S="1", ASSISTANT_HTTP_IDLE_TIMEOUT_S="2",
    )  # fmt: skip
    log = (tmp_path / "serve.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "assistant", "serve", env=env, cwd=tmp_path,
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(120):
                while True:
                    with contextlib.suppress(aiohttp.ClientConnectionError):
                        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                            assert response.headers["Server"] == SERVER_NAME
                            break
                    await asyncio.sleep(0.2)
        seconds, said = await _slow_headers(port, every=0.5)
        assert seconds < 6.0 and said.startswith(b"HTTP/1.1 408")  # 1 s, plus slack
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        started = time.monotonic()
        await asyncio.wait_for(reader.read(), 10)  # the answer, then the idle close
        writer.close()
        assert 1.5 < time.monotonic() - started < 10.0  # 2 s idle, plus slack
    finally:
        process.terminate()
        await process.wait()
        log.close()


async def test_a_malformed_request_s_error_page_carries_the_edge_headers(
    app_for: Callable[..., web.Application],
) -> None:
    runner = GuardedRunner(app_for(), header_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", runner.addresses[0][1])
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n")
        said = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    finally:
        await runner.cleanup()
    assert said.split(b"\r\n")[0].endswith(b"400 Bad Request")
    assert b"X-Content-Type-Options: nosniff" in said
    assert b"Server: facility-assistant" in said and b"aiohttp" not in said
