"""Who may open the chat's websocket: the service's own pages, never another site's.

A page on any other site, opened in a browser on the kiosk machine or the facility network,
could otherwise script the socket (cross-site websocket hijacking), and a rebound DNS name
could reach a server bound to 127.0.0.1. Browsers always send ``Origin`` on a websocket;
tools without one (tests, the bench) are let in, as they cannot carry a visitor's browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient, TestServer

from assistant.dialog.manager import DialogManager
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.server import init_app
from assistant.store.sqlite import SQLiteStore
from channels.web.origins import OriginPolicy
from tests.test_web_socket import Page, make_channel

PUBLIC = "https://kiosk.example.org"


@pytest.fixture
async def client(
    store: SQLiteStore, catalog: JobCatalog, manager: DialogManager, phrases: Phrases
) -> AsyncIterator[TestClient]:
    app = init_app(store, catalog, base_url=PUBLIC)
    make_channel(manager, phrases, origins=OriginPolicy(PUBLIC, "127.0.0.1")).add_routes(app)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def _greeted(client: TestClient, headers: dict[str, str]) -> None:
    page = Page(await client.ws_connect("/ws", headers=headers))
    await page.send(type="hello", language="en")
    assert (await page.next("session"))["code"]
    await page.socket.close()


async def test_the_service_s_own_pages_and_clients_without_an_origin_are_served(
    client: TestClient,
) -> None:
    port = client.port
    await _greeted(client, {})
    await _greeted(client, {"Origin": f"http://127.0.0.1:{port}"})
    await _greeted(client, {"Origin": f"http://localhost:{port}", "Host": f"localhost:{port}"})
    await _greeted(client, {"Origin": PUBLIC, "Host": "kiosk.example.org"})
    # Reached by the machine's own address (bound to every interface): same-origin, no name.
    await _greeted(client, {"Origin": "http://192.168.1.20:8080", "Host": "192.168.1.20:8080"})


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},  # another site's page, cross-site hijacking
        {"Origin": "null"},  # a sandboxed frame or a file
        {"Origin": "http://127.0.0.1:1"},  # another service on this machine
        {"Origin": "http://rebound.example:8080", "Host": "rebound.example:8080"},  # DNS rebinding
        {"Host": "rebound.example"},  # an unknown name, even without an Origin
    ],
)
async def test_other_origins_and_unknown_hosts_get_403_with_a_sentence(
    client: TestClient, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers=headers)
    assert refused.value.status == 403
    response = await client.get("/ws", headers={**headers, "Accept-Language": "ja"})
    assert response.status == 403
    assert "アシスタント" in await response.text()
    assert "refused a websocket" in caplog.text


def test_the_policy_names_the_configured_addresses() -> None:
    policy = OriginPolicy("http://kiosk.local:8080/", "0.0.0.0")
    assert (
        policy.refusal(origin="http://kiosk.local:8080", host="kiosk.local:8080", port=8080) is None
    )
    assert policy.refusal(origin=None, host="[::1]:8080", port=8080) is None
    assert policy.refusal(origin="http://[::1]:8080", host="[::1]:8080", port=8080) is None
    assert policy.refusal(origin="http://kiosk.local", host="kiosk.local:8080", port=8080)
    assert policy.refusal(origin=None, host="localhost:9999", port=8080)
