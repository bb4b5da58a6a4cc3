"""What every HTTP response carries, and who may read the metrics, over real sockets.

A response without ``nosniff`` may be sniffed into a script by an old browser, one without
``Referrer-Policy`` leaks a preview's token to whatever it links to, and a ``Server`` header
naming versions tells a probe which advisories to try. ``/metrics`` shows how busy the kiosk
is: only this machine, or whoever holds the configured token, may read it.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from assistant.config import Settings, load_settings
from assistant.dialog.manager import DialogManager
from assistant.errors import ConfigError
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.server import SERVER_NAME, init_app
from assistant.store.sqlite import SQLiteStore
from tests.test_web_socket import BASE, make_channel

TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
def app_for(
    store: SQLiteStore, catalog: JobCatalog, manager: DialogManager, phrases: Phrases
) -> Callable[..., web.Application]:
    def build(**channel: str) -> web.Application:
        app = init_app(store, catalog, base_url=BASE)
        make_channel(manager, phrases, **channel).add_routes(app)
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


def _own_lan_address() -> str | None:
    """This machine's address on its network (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


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


async def _metrics(address: str, port: int, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{address}:{port}/metrics", headers=headers) as response,
    ):
        return response.status, await response.text()


async def test_metrics_answer_this_machine_and_the_token_only(
    app_for: Callable[..., web.Application],
) -> None:
    lan = _own_lan_address()
    if lan is None:
        pytest.skip("this machine has no network address besides loopback")
    async with _served_on_every_interface(app_for(metrics_token=TOKEN)) as port:
        status, text = await _metrics("127.0.0.1", port)
        assert status == 200 and "assistant_web_connections" in text
        status, text = await _metrics(lan, port)
        assert status == 403 and "metrics token" in text
        assert (await _metrics(lan, port, "wrong"))[0] == 403
        status, text = await _metrics(lan, port, TOKEN)
        assert status == 200 and "assistant_web_connections" in text
    async with _served_on_every_interface(app_for()) as port:  # no token: nobody else
        assert (await _metrics(lan, port, TOKEN))[0] == 403


def test_the_metrics_token_is_a_checked_secret() -> None:
    settings = load_settings(environ={"ASSISTANT_METRICS_TOKEN": TOKEN})
    assert settings.metrics_token == TOKEN
    assert TOKEN not in repr(settings)
    assert Settings().metrics_token == ""
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load_settings(environ={"ASSISTANT_METRICS_TOKEN": "short"})
