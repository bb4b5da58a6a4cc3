"""The Telegram bot in exactly one of two instances (issue 17): a Redis lease decides which
polls the in-process Bot API server; when the holder stops, the other takes over and the
chat goes on where it was."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from assistant.cluster.redis_lease import PREFIX, RedisLease
from assistant.dialog.manager import DialogManager
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.store.sqlite import SQLiteStore
from channels.telegram.bot import TelegramChannel
from channels.telegram.leased import poll_while_leased
from testing.redis_server import redis_server
from testing.telegram import FakeBotApi
from tests.test_telegram import TOKEN, User, make_bot

TTL = 2.0


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_server() as url:
        yield url


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SQLiteStore, SQLiteStore]]:
    a, b = SQLiteStore(tmp_path / "shared.db"), SQLiteStore(tmp_path / "shared.db")
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


async def test_one_instance_polls_and_the_other_takes_over_when_it_stops(
    redis_url: str,
    stores: tuple[SQLiteStore, SQLiteStore],
    catalog: JobCatalog,
    phrases: Phrases,
) -> None:
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    leases = [RedisLease(client, "telegram", ttl=TTL) for client in clients]
    async with FakeBotApi(token=TOKEN) as api:
        made: list[int] = []

        def maker(index: int) -> Callable[[], TelegramChannel]:
            manager = DialogManager(jobs=catalog, phrases=phrases, store=stores[index])

            def make() -> TelegramChannel:
                made.append(index)
                return make_bot(api, manager, phrases, stores[index])

            return make

        first = asyncio.create_task(poll_while_leased(maker(0), leases[0], polling_timeout=1))
        user = User(api, 7, language="en")
        assert (await user.say("/start")).text
        second = asyncio.create_task(poll_while_leased(maker(1), leases[1], polling_timeout=1))
        assert made == [0]  # the first holds the lease; the second waits for it
        assert await clients[0].get(PREFIX + "telegram") == leases[0].token.encode()
        told = await user.say("4")
        assert made == [0] and told.text
        first.cancel()  # the holder's server stops: it releases the lease
        with contextlib.suppress(asyncio.CancelledError):
            await first
        # The chat goes on through the second instance, where it was.
        told = await user.say("Animal quiz")
        assert made == [0, 1]
        assert await clients[1].get(PREFIX + "telegram") == leases[1].token.encode()
        session = await stores[1].load("telegram:7")
        assert session is not None and session.answers.get("quiz_title") == "Animal quiz"
        second.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await second
    assert await clients[0].exists(PREFIX + "telegram") == 0
    for client in clients:
        await client.aclose()


async def test_a_dead_holders_lease_is_taken_within_its_time(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    # A holder that died: its lease is there, with nobody to renew or release it.
    await client.set(PREFIX + "telegram", "dead-holder", px=int(TTL * 1000))
    lease = RedisLease(client, "telegram", ttl=TTL)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await lease.acquire()
    took = loop.time() - started
    assert took <= TTL * 1.2, took
    assert await client.get(PREFIX + "telegram") == lease.token.encode()
    await lease.release()
    assert await client.exists(PREFIX + "telegram") == 0
    await client.aclose()
