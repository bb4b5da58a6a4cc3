"""Limits shared by two instances (issue 17). Wrong codes, new sessions and staff sign-in
failures are counted in the store (``attempts``, ``staff`` tables): two instances on one
database count together already, shown here for new sessions. A web address's audio is also
counted in a window shared through a real redis-server, so sockets on two instances do not
buy twice the streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from assistant.cluster.redis_counter import RedisWindowCounter
from assistant.limits import CodeGuard, CodeVerdict, SessionLimit
from assistant.store.sqlite import SQLiteStore
from channels.web.pacing import (
    BYTES_PER_SECOND,
    SHARED_WINDOW_S,
    AddressAllowances,
    AudioPacing,
)
from testing.redis_server import redis_server

ADDRESS = "198.51.100.7"


class Clock:
    """Time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clients() -> AsyncIterator[tuple[Redis, Redis]]:
    async with redis_server() as url:
        a, b = Redis.from_url(url), Redis.from_url(url)
        yield a, b
        await a.aclose()
        await b.aclose()


async def test_new_sessions_and_wrong_codes_are_counted_in_the_shared_database(
    tmp_path: Path,
) -> None:
    a, b = SQLiteStore(tmp_path / "shared.db"), SQLiteStore(tmp_path / "shared.db")
    await a.open()
    await b.open()
    try:
        on_a, on_b = SessionLimit(a, allowed=3), SessionLimit(b, allowed=3)
        assert [await on_a.take(ADDRESS), await on_b.take(ADDRESS)] == [True, True]
        assert await on_a.take(ADDRESS)
        assert not await on_b.take(ADDRESS)  # B counts A's two sessions too
        assert await on_b.take("198.51.100.8")  # another address has its own budget
        guard_a, guard_b = CodeGuard(a, soft=2), CodeGuard(b, soft=2)
        await guard_a.miss(ADDRESS, "AAAAAA")
        await guard_a.miss(ADDRESS, "BBBBBB")
        assert await guard_b.verdict(ADDRESS) == CodeVerdict.SLOW
    finally:
        await a.close()
        await b.close()


async def test_the_window_counter_adds_up_every_instance_and_forgets_the_old(
    clients: tuple[Redis, Redis],
) -> None:
    clock = Clock()
    a = RedisWindowCounter(clients[0], clock=clock)
    b = RedisWindowCounter(clients[1], clock=clock)
    assert await a.add("x", 10.0) == 1.0
    assert await b.add("x", 10.0, 2.5) == 3.5
    clock.now += 5.0
    assert await a.add("x", 10.0) == 4.5
    clock.now += 6.0  # the first two are out of the window now, the third still in it
    assert await b.add("x", 10.0) == 2.0
    assert await b.add("y", 10.0) == 1.0  # names are apart


async def test_an_address_streaming_on_two_instances_gets_its_streams_once(
    clients: tuple[Redis, Redis],
) -> None:
    clock = Clock()
    burst, streams = 2.0, 1.0
    instances = [
        AddressAllowances(
            burst, streams, clock=clock, shared=RedisWindowCounter(client, clock=clock)
        )
        for client in clients
    ]
    pacings = [AudioPacing(allowances, ADDRESS, burst, clock) for allowances in instances]
    tenth = BYTES_PER_SECOND // 10
    refused = {0: 0, 1: 0}
    # Both sockets stream in real time, each within its own instance's buckets: the address
    # sends two streams where it may send one.
    for _ in range(int(SHARED_WINDOW_S * 10)):
        clock.now += 0.1
        for index, pacing in enumerate(pacings):
            assert pacing.take(tenth), "each instance alone lets a real-time stream through"
            if not await pacing.take_shared(tenth):
                refused[index] += 1
    assert refused[0] > 0 and refused[1] > 0, refused
    # One stream alone from the address, after the window has passed: never refused.
    clock.now += SHARED_WINDOW_S * 2
    for _ in range(int(SHARED_WINDOW_S * 10)):
        clock.now += 0.1
        assert pacings[0].take(tenth)
        assert await pacings[0].take_shared(tenth)
