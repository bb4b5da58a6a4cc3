"""Limits per address on the websocket: new sessions, and guessing continuation codes.

A ``hello`` without a key makes a stored session, so one address may make only so many; an
address that guesses wrong codes is slowed, then refused, but the right code still opens its
session until the day's ceiling, and the counts survive a restart (they are in the store).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.dialog.manager import DialogManager
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.limits import CodeGuard, CodeVerdict, SessionLimit
from assistant.server import init_app
from assistant.store.sqlite import SQLiteStore
from channels.web.channel import WebChannel
from tests.test_web_socket import BASE, Page, make_channel, open_page


class Clock:
    """Wall-clock seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(manager: DialogManager, phrases: Phrases, store: SQLiteStore, clock: Clock) -> Any:
    def build(**limits: Any) -> WebChannel:
        guard = CodeGuard(store, clock=clock, **limits.pop("codes", {}))
        sessions = SessionLimit(store, clock=clock, **limits.pop("sessions", {}))
        return make_channel(manager, phrases, code_guard=guard, session_limit=sessions)

    return build


async def _client(store: SQLiteStore, catalog: JobCatalog, channel: WebChannel) -> TestClient:
    app = init_app(store, catalog, base_url=BASE)
    channel.add_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def clients(store: SQLiteStore, catalog: JobCatalog) -> AsyncIterator[Any]:
    started: list[TestClient] = []

    async def start(channel: WebChannel) -> TestClient:
        started.append(await _client(store, catalog, channel))
        return started[-1]

    yield start
    for client in started:
        await client.close()


async def _kiosk_code(manager: DialogManager) -> str:
    await manager.resume("kiosk:local", "kiosk", "en")
    kiosk = await manager.session("kiosk:local")
    assert kiosk is not None
    return kiosk.code


async def test_one_address_may_start_only_so_many_sessions(
    limited: Any, clients: Any, store: SQLiteStore, clock: Clock
) -> None:
    client = await clients(limited(sessions={"allowed": 3, "window": 600.0}))
    keys = [(await open_page(client, language="en"))[1]["key"] for _ in range(3)]
    assert len(set(keys)) == 3
    page = Page(await client.ws_connect("/ws"))
    await page.send(type="hello", language="en")
    refused = await page.next("error")
    assert refused["code"] == "too_many_sessions"
    assert refused["message"].startswith("Too many new sessions")
    await page.send(type="say", text="4")  # no session to say it in: refused again, no crash
    assert (await page.next("error"))["code"] == "too_many_sessions"
    assert await store.count("sessions") == 3
    # An existing session is not limited: its key (or its code) still opens it.
    await page.send(type="hello", session=keys[0])
    assert (await page.next("session"))["key"] == keys[0]
    clock.now += 601  # the window has passed: a new one may start again
    assert (await open_page(client, language="en"))[1]["key"] not in keys


async def test_a_made_up_key_counts_as_a_new_session(
    limited: Any, clients: Any, store: SQLiteStore
) -> None:
    client = await clients(limited(sessions={"allowed": 1}))
    await open_page(client, language="en")
    page = Page(await client.ws_connect("/ws"))
    await page.send(type="hello", session="web:" + "A" * 24, language="en")
    assert (await page.next("error"))["code"] == "too_many_sessions"
    assert await store.count("sessions") == 1


async def test_after_ten_wrong_codes_the_right_code_still_opens_its_session(
    limited: Any, clients: Any, manager: DialogManager
) -> None:
    code = await _kiosk_code(manager)
    client = await clients(limited())
    page, _ = await open_page(client, language="en")
    for n in range(10):
        await page.send(type="resume", code=f"ZZZZZ{'ABCDEFGHJK'[n]}")
        assert (await page.next("error"))["code"] == "no_code"
    await page.send(type="resume", code="ZZZZZL")  # wrong ones are now told to wait
    refused = await page.next("error")
    assert refused["code"] == "code_wait"
    assert refused["message"].startswith("Too many wrong codes.")
    await page.send(type="resume", code=code)  # the right one is not blocked
    assert (await page.next("session"))["code"] == code


async def test_the_same_wrong_code_retyped_counts_once(
    limited: Any, clients: Any, manager: DialogManager
) -> None:
    client = await clients(limited(codes={"soft": 3}))
    page, _ = await open_page(client, language="en")
    for _ in range(6):
        await page.send(type="resume", code="ZZZZZZ")
        assert (await page.next("error"))["code"] == "no_code"


async def test_past_the_daily_ceiling_nothing_is_looked_up_until_it_ages_out(
    limited: Any, clients: Any, manager: DialogManager, clock: Clock
) -> None:
    code = await _kiosk_code(manager)
    client = await clients(limited(codes={"soft": 2, "ceiling": 4}))
    page, _ = await open_page(client, language="en")
    for n in range(4):
        await page.send(type="resume", code=f"ZZZZZ{'ABCD'[n]}")
        await page.next("error")
    await page.send(type="resume", code=code)  # even the right code is refused now
    refused = await page.next("error")
    assert refused["code"] == "code_wait"
    clock.now += 86_401
    await page.send(type="resume", code=code)
    assert (await page.next("session"))["code"] == code


async def test_wrong_codes_are_counted_per_address_and_survive_a_restart(
    store: SQLiteStore, tmp_path: Any, clock: Clock
) -> None:
    guard = CodeGuard(store, soft=2, ceiling=3, clock=clock)
    for code in ("AAAAAA", "BBBBBB", "CCCCCC"):
        await guard.miss("198.51.100.7", code)
    assert await guard.verdict("198.51.100.7") is CodeVerdict.CLOSED
    assert await guard.verdict("198.51.100.8") is CodeVerdict.OPEN
    again = SQLiteStore(store.path)  # another process on the same file, or after a restart
    await again.open()
    try:
        restarted = CodeGuard(again, soft=2, ceiling=3, clock=clock)
        assert await restarted.verdict("198.51.100.7") is CodeVerdict.CLOSED
        clock.now += 601
        assert await restarted.verdict("198.51.100.7") is CodeVerdict.CLOSED  # a day's ceiling
        clock.now += 86_400
        assert await restarted.verdict("198.51.100.7") is CodeVerdict.OPEN
    finally:
        await again.close()
