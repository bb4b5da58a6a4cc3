"""Client addresses behind a trusted reverse proxy (issue 17, several instances behind nginx).

With ``trusted_proxies`` naming the proxy, the service's limits per address and the audit log
see each client the proxy forwards for, not the proxy; ``X-Forwarded-For`` from any other peer
is ignored, and a forged left-most entry changes nothing. Over real sockets (aiohttp's
TestServer on 127.0.0.1, the "proxy" being this test's own connection) on real SQLite files.
A peer that is not trusted is a real connection from 127.0.0.2.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.client_address import TrustedProxies
from assistant.config import load_settings
from assistant.dialog.manager import DialogManager
from assistant.errors import ConfigError
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.limits import CodeGuard, SessionLimit
from assistant.metrics import ServiceMetrics
from assistant.server import MetricsAccess, init_app
from assistant.staff.audit import AuditLog, AuditQuery
from assistant.store.sqlite import SQLiteStore
from channels.web.channel import WebChannel
from testing.staff_console import PASSWORD, csrf_of, running_console, sign_in
from tests.test_web_socket import BASE, Page, make_channel, open_page

# aiohttp-session keeps its own request keys as plain strings, which aiohttp now warns about.
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")

PROXY = TrustedProxies((ipaddress.ip_network("127.0.0.1"),))  # this test's own connection
ALICE, BOB = "203.0.113.1", "203.0.113.2"  # two clients behind the proxy


def _xff(*entries: str) -> dict[str, str]:
    return {"X-Forwarded-For": ", ".join(entries)}


# -- the rule itself -------------------------------------------------------------------------

CHAIN = TrustedProxies(
    (ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8"),
     ipaddress.ip_network("2001:db8:1::/48"))
)  # fmt: skip


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        ("127.0.0.1", [ALICE], ALICE),  # nginx on the machine, one client
        ("198.51.100.9", [ALICE], "198.51.100.9"),  # not a proxy we trust: its header is noise
        ("127.0.0.1", [f"6.6.6.6, {ALICE}"], ALICE),  # the client's own left-most entry: ignored
        ("127.0.0.1", [f"6.6.6.6, {ALICE}, 10.1.2.3"], ALICE),  # two trusted hops
        ("127.0.0.1", ["6.6.6.6", f"{ALICE}, 10.1.2.3"], ALICE),  # the header twice: one list
        ("127.0.0.1", ["10.1.2.3, 10.4.5.6"], "10.1.2.3"),  # all trusted: the furthest hop
        ("127.0.0.1", [], "127.0.0.1"),  # a trusted peer that forwards nobody
        ("127.0.0.1", [f"{ALICE}, not-an-address"], "127.0.0.1"),  # garbage ends the walk
        ("127.0.0.1", [f"{ALICE}, , 10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", [f"{ALICE}:4711"], ALICE),  # a port some proxies add
        ("127.0.0.1", ["[2001:DB8:2::7]:443"], "2001:db8:2::7"),  # written one way only
        ("::ffff:127.0.0.1", ["::ffff:203.0.113.1"], ALICE),  # IPv4 in IPv6
        ("2001:db8:1::5", [f"{BOB}, 2001:db8:1::9"], BOB),
        ("", [ALICE], ""),  # no peer (a Unix socket): nothing to trust
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_wrote(
    peer: str, headers: list[str], client: str
) -> None:
    assert CHAIN.client(peer, headers) == client


def test_nothing_is_trusted_by_default() -> None:
    assert TrustedProxies().client("127.0.0.1", [ALICE]) == "127.0.0.1"
    assert load_settings(environ={}).trusted_proxies == ()


# -- the setting -----------------------------------------------------------------------------


def test_the_setting_takes_addresses_and_networks_from_the_environment_and_toml(
    tmp_path: Path,
) -> None:
    settings = load_settings(environ={"ASSISTANT_TRUSTED_PROXIES": " 127.0.0.1, 10.0.0.0/8,::1 "})
    assert settings.trusted_proxies == tuple(
        ipaddress.ip_network(n) for n in ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    )
    toml = tmp_path / "assistant.toml"
    toml.write_text('trusted_proxies = ["172.30.80.2", "fd00::/64"]\n')
    settings = load_settings(toml, environ={})
    assert [str(n) for n in settings.trusted_proxies] == ["172.30.80.2/32", "fd00::/64"]
    toml.write_text('trusted_proxies = "127.0.0.1"\n')  # one address as plain text
    assert [str(n) for n in load_settings(toml, environ={}).trusted_proxies] == ["127.0.0.1/32"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("nginx", "'nginx' is not an IP address or network; use addresses like 127.0.0.1"),
        ("127.0.0.1, 300.1.2.3", "'300.1.2.3' is not an IP address or network"),
        ("10.0.0.1/8", "'10.0.0.1/8' has bits set past its prefix: write the network "
                       "10.0.0.0/8 or the one address 10.0.0.1"),
        ("0.0.0.0/0", "'0.0.0.0/0' would trust every address, so any client could choose"),
        ("::/0", "'::/0' would trust every address"),
    ],
)  # fmt: skip
def test_a_wrong_value_is_refused_in_words(value: str, words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={"ASSISTANT_TRUSTED_PROXIES": value})
    assert str(refused.value).startswith("ASSISTANT_TRUSTED_PROXIES: ")
    assert words in str(refused.value)


def test_a_toml_value_that_is_not_a_list_of_text_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "assistant.toml"
    for value, words in (("8080", "must be a list of IP addresses or networks"),
                         ("[127]", "127 is not an address; write it as text")):  # fmt: skip
        toml.write_text(f"trusted_proxies = {value}\n")
        with pytest.raises(ConfigError, match=words):
            load_settings(toml, environ={})


# -- the web chat behind the proxy -----------------------------------------------------------

Connect = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def behind_proxy(
    manager: DialogManager, phrases: Phrases, store: SQLiteStore, catalog: JobCatalog
) -> AsyncIterator[tuple[WebChannel, Connect]]:
    """The chat (two new sessions per address, wrong codes "wait" after two) and ``/metrics``
    behind PROXY; ``connect(**headers)`` is one more client, all through one server."""
    guard = CodeGuard(store, soft=2)
    channel = make_channel(
        manager, phrases, code_guard=guard, session_limit=SessionLimit(store, allowed=2)
    )
    metrics = MetricsAccess(ServiceMetrics(), {"en": "no", "ja": "no"}, "en")
    app = init_app(store, catalog, base_url=BASE, trusted_proxies=PROXY, metrics_access=metrics)
    channel.add_routes(app)
    server = TestServer(app)
    await server.start_server()
    clients: list[TestClient] = []

    async def connect(**headers: str) -> TestClient:
        client = TestClient(server, headers=headers)
        await client.start_server()
        clients.append(client)
        return client

    yield channel, connect
    for client in clients:
        await client.session.close()
    await server.close()


async def _refused(client: TestClient | aiohttp.ClientSession, url: str = "/ws") -> str:
    """What a new page is told when its hello should be refused."""
    page = Page(await client.ws_connect(url))
    await page.send(type="hello", language="en")
    code = str((await page.next("error"))["code"])
    await page.socket.close()
    return code


async def _new_session_addresses(store: SQLiteStore) -> list[str]:
    rows = await store.run(
        lambda: list(store.db.query("select address from attempts where kind = 'new_session'"))
    )
    return sorted(row["address"] for row in rows)


async def test_clients_behind_a_trusted_proxy_have_their_own_new_session_budgets(
    behind_proxy: tuple[WebChannel, Connect], store: SQLiteStore
) -> None:
    _, connect = behind_proxy
    alice, bob = await connect(**_xff(ALICE)), await connect(**_xff(BOB))
    for _ in range(2):
        await open_page(alice, language="en")
    assert await _refused(alice) == "too_many_sessions"
    await open_page(bob, language="en")  # Bob's budget is his own
    await open_page(bob, language="en")
    assert await _refused(bob) == "too_many_sessions"
    assert await _new_session_addresses(store) == [ALICE, ALICE, BOB, BOB]


async def test_a_forged_left_most_entry_cannot_escape_the_budget(
    behind_proxy: tuple[WebChannel, Connect], store: SQLiteStore
) -> None:
    """nginx appends the address it saw; whatever the client put before it is its own word."""
    _, connect = behind_proxy
    for n in range(2):
        forger = await connect(**_xff(f"198.51.100.{n}", ALICE))
        await open_page(forger, language="en")
    forger = await connect(**_xff("198.51.100.77, 198.51.100.78", ALICE))
    assert await _refused(forger) == "too_many_sessions"
    assert await _new_session_addresses(store) == [ALICE, ALICE]


async def test_x_forwarded_for_from_a_peer_that_is_not_trusted_is_ignored(
    behind_proxy: tuple[WebChannel, Connect], store: SQLiteStore
) -> None:
    """A real connection from 127.0.0.2 (not a trusted proxy) names a new client each time:
    every session still counts against 127.0.0.2."""
    _, connect = behind_proxy
    server_url = (await connect()).make_url("/ws")
    for n in range(3):
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(
            connector=connector, headers=_xff(f"198.51.100.{n}")
        ) as http:
            if n < 2:
                page = Page(await http.ws_connect(server_url))
                await page.send(type="hello", language="en")
                await page.next("session")
                await page.socket.close()
            else:
                assert await _refused(http, str(server_url)) == "too_many_sessions"
    assert await _new_session_addresses(store) == ["127.0.0.2", "127.0.0.2"]


async def test_wrong_codes_and_audio_streams_are_counted_per_forwarded_client(
    behind_proxy: tuple[WebChannel, Connect],
) -> None:
    channel, connect = behind_proxy
    alice, bob = await connect(**_xff(ALICE)), await connect(**_xff(BOB))
    alice_page, _ = await open_page(alice, language="en")
    for code in ("ZZZZZA", "ZZZZZB"):
        await alice_page.send(type="resume", code=code)
        assert (await alice_page.next("error"))["code"] == "no_code"
    await alice_page.send(type="resume", code="ZZZZZC")
    assert (await alice_page.next("error"))["code"] == "code_wait"  # Alice is slowed
    bob_page, _ = await open_page(bob, language="en")
    await bob_page.send(type="resume", code="ZZZZZD")
    assert (await bob_page.next("error"))["code"] == "no_code"  # Bob is not
    # Each address has its own real-time audio allowance, shared by its own sockets only.
    second_alice, _ = await open_page(alice, language="en")
    assert channel.audio_addresses.users == {ALICE: 2, BOB: 1}
    assert channel.audio_addresses.buckets[ALICE] is not channel.audio_addresses.buckets[BOB]
    await second_alice.socket.close()


async def test_metrics_open_to_this_machine_not_to_a_client_the_proxy_forwards(
    behind_proxy: tuple[WebChannel, Connect],
) -> None:
    _, connect = behind_proxy
    direct = await connect()
    assert (await direct.get("/metrics")).status == 200
    forwarded = await connect(**_xff(ALICE))
    assert (await forwarded.get("/metrics")).status == 403
    forged = await connect(**_xff("127.0.0.1", ALICE))  # the client says it is local
    assert (await forged.get("/metrics")).status == 403


# -- the staff console behind the proxy ------------------------------------------------------


@pytest.fixture
async def console_behind_proxy(tmp_path: Path) -> AsyncIterator[tuple[Any, Connect]]:
    """The whole service as ``assistant serve`` wires it, with ``trusted_proxies`` set and
    three wrong sign-ins allowed per address."""
    async with running_console(
        tmp_path / "data", trusted_proxies=PROXY.networks, staff_address_failures=3
    ) as (app, services):
        server = TestServer(app)
        await server.start_server()
        clients: list[TestClient] = []

        async def connect(**headers: str) -> TestClient:
            client = TestClient(server, headers=headers)
            await client.start_server()
            clients.append(client)
            return client

        try:
            yield services, connect
        finally:
            for client in clients:
                await client.session.close()
            await server.close()


async def _wrong_sign_in(client: TestClient, name: str) -> int:
    form = {"csrf": await csrf_of(client), "name": name, "password": "not it"}
    response = await client.post("/staff/login", data=form)
    return response.status


async def test_a_staff_lockout_by_address_holds_one_client_not_everyone_and_is_audited(
    console_behind_proxy: tuple[Any, Connect],
) -> None:
    services, connect = console_behind_proxy
    guesser, colleague = await connect(**_xff(ALICE)), await connect(**_xff(BOB))
    # Three names (so no account locks): the guesser's address is refused, even the right
    # password, while a colleague behind the same proxy signs in.
    assert [await _wrong_sign_in(guesser, name) for name in ("sam", "vic", "nobody")] == [401] * 3
    assert "Too many wrong sign-ins" in await sign_in(guesser, "ana", status=429)
    assert await sign_in(colleague, "ana", password=PASSWORD) == "/staff/?lang=en"
    entries = await AuditLog(services.store).search(AuditQuery())
    where = [(e.action, e.address) for e in reversed(entries)]
    assert where == [("sign_in_failed", ALICE)] * 3 + [("locked_out", ALICE), ("sign_in", BOB)]


async def test_the_console_ignores_x_forwarded_for_when_no_proxy_is_trusted(
    tmp_path: Path,
) -> None:
    async with running_console(tmp_path / "data", staff_address_failures=2) as (app, services):
        server = TestServer(app)
        first = TestClient(server, headers=_xff(ALICE))
        second = TestClient(server, headers=_xff(BOB))
        try:
            await first.start_server()
            assert await _wrong_sign_in(first, "sam") == 401
            assert await _wrong_sign_in(second, "vic") == 401
            # Both counted against the one peer, 127.0.0.1, whatever the header said.
            assert "Too many wrong sign-ins" in await sign_in(second, "ana", status=429)
        finally:
            await first.session.close()
            await second.session.close()
            await server.close()
        entries = await AuditLog(services.store).search(AuditQuery())
        assert {e.address for e in entries} == {"127.0.0.1"}
