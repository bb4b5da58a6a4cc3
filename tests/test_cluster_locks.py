"""The per-session lock shared by two instances through a real redis-server (issue 17): two
turns of one session, sent to two dialog managers over one SQLite file, never interleave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from assistant.cluster.redis_locks import PREFIX, RedisSessionLocks
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.store.sqlite import SQLiteStore
from testing.redis_server import redis_server
from tests.raced_store import RacedStore


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_server() as url:
        yield url


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[tuple[Redis, Redis]]:
    a, b = Redis.from_url(redis_url), Redis.from_url(redis_url)  # one per instance
    yield a, b
    await a.aclose()
    await b.aclose()


class Waits:
    """Which keys a lock had to wait for, as events a test can await."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def __call__(self, key: str) -> None:
        self.events.setdefault(key, asyncio.Event()).set()

    async def for_key(self, key: str) -> None:
        await self.events.setdefault(key, asyncio.Event()).wait()


async def test_a_session_held_on_one_instance_waits_on_the_other(
    clients: tuple[Redis, Redis],
) -> None:
    waits = Waits()
    a, b = RedisSessionLocks(clients[0]), RedisSessionLocks(clients[1], on_wait=waits)
    order: list[str] = []
    release_a, a_in = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with a.hold("web:s1"):
            order.append("a in")
            a_in.set()
            await release_a.wait()
            order.append("a out")

    async def second() -> None:
        async with b.hold("web:s1"):
            order.append("b in")

    holder = asyncio.create_task(first())
    await a_in.wait()
    waiter = asyncio.create_task(second())
    await waits.for_key("web:s1")  # B asked Redis and was refused
    assert order == ["a in"] and not waiter.done()
    async with b.hold("web:other"):  # another session is not held up
        pass
    release_a.set()
    await asyncio.gather(holder, waiter)
    assert order == ["a in", "a out", "b in"]
    assert await clients[0].exists(PREFIX + "web:s1") == 0  # released, not left to expire


async def test_a_dead_holders_lock_frees_itself_after_its_expiry(
    clients: tuple[Redis, Redis],
) -> None:
    # An instance that died mid-turn: its key is there, with nobody left to renew it.
    await clients[0].set(PREFIX + "web:s2", "dead-holder", px=400)
    waits = Waits()
    b = RedisSessionLocks(clients[1], on_wait=waits)
    async with b.hold("web:s2"):
        assert "web:s2" in waits.events  # it did wait for the dead one
        assert await clients[1].get(PREFIX + "web:s2") != b"dead-holder"


async def test_a_lock_is_renewed_while_a_long_turn_holds_it(
    clients: tuple[Redis, Redis],
) -> None:
    a = RedisSessionLocks(clients[0], ttl=0.3)
    async with a.hold("web:s3"):
        token = await clients[0].get(PREFIX + "web:s3")
        for _ in range(3):  # past the ttl, still held by the same token
            # Expiry is what is tested: time itself must pass here, no event stands for it.
            await asyncio.sleep(0.15)
            assert await clients[0].get(PREFIX + "web:s3") == token
        assert await clients[0].pttl(PREFIX + "web:s3") > 0


@pytest.fixture
async def two_stores(tmp_path: Path) -> AsyncIterator[tuple[RacedStore, SQLiteStore]]:
    a, b = RacedStore(tmp_path / "shared.db"), SQLiteStore(tmp_path / "shared.db")
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def test_turns_sent_to_two_instances_never_interleave(
    clients: tuple[Redis, Redis],
    two_stores: tuple[RacedStore, SQLiteStore],
    catalog: JobCatalog,
    phrases: Phrases,
) -> None:
    store_a, store_b = two_stores
    waits = Waits()
    a = DialogManager(
        jobs=catalog, phrases=phrases, store=store_a, locks=RedisSessionLocks(clients[0])
    )
    b = DialogManager(
        jobs=catalog, phrases=phrases, store=store_b,
        locks=RedisSessionLocks(clients[1], on_wait=waits),
    )  # fmt: skip
    await a.resume("web:s4", "web", "en")
    # A's turn is stopped just before it commits, while B's turn for the same session comes
    # in: without a shared lock B would commit first and A's commit would be refused.
    b_turn: asyncio.Task[object] | None = None

    async def meanwhile() -> None:
        nonlocal b_turn
        b_turn = asyncio.create_task(b.handle(Turn(session_key="web:s4", text="4", channel="web")))
        waited = asyncio.create_task(waits.for_key("web:s4"))
        await asyncio.wait([b_turn, waited], return_when=asyncio.FIRST_COMPLETED)
        assert not b_turn.done(), "B's turn ran while A's held the session"
        waited.cancel()

    store_a.before_commit = meanwhile
    store_a.lose_text = "3"
    await a.handle(Turn(session_key="web:s4", text="3", channel="web"))
    assert b_turn is not None
    await b_turn
    history = await store_a.history("web:s4")
    assert [row["text"] for row in history if row["text"]] == ["3", "4"]
    # And many turns sent alternately to A and B at once all land, one after another.
    texts = [f"turn {n}" for n in range(20)]
    turns = [
        (a if n % 2 == 0 else b).handle(Turn(session_key="web:s5", text=text, channel="web"))
        for n, text in enumerate(texts)
    ]
    await asyncio.gather(*turns)
    session = await store_b.load("web:s5")
    assert session is not None and session.revision >= len(texts)
    assert len([row for row in await store_b.history("web:s5") if row["text"]]) == len(texts)


async def test_sign_in_guesses_sent_to_two_instances_still_lock_after_five(
    tmp_path: Path, clients: tuple[Redis, Redis]
) -> None:
    # Staff sign-in (issue 16) takes turns per name and address; with two instances the
    # turns are Redis's, or both would check "not locked yet" at once and let more through.
    from assistant.cluster.redis_parts import RedisCluster
    from assistant.staff.accounts import StaffAccounts
    from assistant.staff.signin import Outcome, SignIn, SignInPolicy
    from testing.staff_console import CHEAP_HASHER, PASSWORD

    stores = [SQLiteStore(tmp_path / "assistant.db") for _ in clients]
    for one in stores:
        await one.open()
    try:
        checks = []
        for one, client in zip(stores, clients, strict=True):
            accounts = StaffAccounts(one.staff_accounts(), hasher=CHEAP_HASHER)
            locks = RedisCluster(client).sign_in_locks()
            checks.append(SignIn(accounts, SignInPolicy(max_failures=5), locks=locks))
        await StaffAccounts(stores[0].staff_accounts(), hasher=CHEAP_HASHER).add(
            "ana", "staff", PASSWORD
        )
        results = await asyncio.gather(
            *(checks[n % 2].attempt("ana", f"guess {n}", "", f"10.0.0.{n}") for n in range(20))
        )
        outcomes = [result.outcome for result in results]
        assert outcomes.count(Outcome.WRONG) == 5 and outcomes.count(Outcome.LOCKED) == 15
        # The right password is refused too while the account is locked, on either one.
        for check in checks:
            assert (await check.attempt("ana", PASSWORD, "", "10.0.1.1")).outcome is Outcome.LOCKED
    finally:
        for one in stores:
            await one.close()
