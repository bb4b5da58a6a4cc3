"""The Redis side of several instances, built from ``redis_url`` by the composition root:
one client per process, and the lock, change news, counter and leases over it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.cluster.redis_busy import RedisBusySessions
from assistant.cluster.redis_changes import RedisSessionChanges
from assistant.cluster.redis_counter import RedisWindowCounter
from assistant.cluster.redis_lease import LEASE_TTL_S, RedisLease
from assistant.cluster.redis_locks import RedisSessionLocks
from assistant.extras import MissingExtraError, missing_extra_message

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Connections to Redis one process keeps at most. redis-py's default pool refuses a command
# past its 100 connections ("Too many connections"), and a burst of turns after an instance
# died (every moved page resuming at once, tests/test_cluster.py) reached that: the turn
# failed and its socket dropped. This pool makes the command wait for a free connection.
POOL_SIZE = 100
POOL_WAIT_S = 30.0  # a command waits this long for a connection before it fails


SIGN_IN_PREFIX = "assistant:lock:signin:"


class RedisCluster:
    """What this instance shares with the others through one Redis."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self.locks = RedisSessionLocks(client)
        self.changes = RedisSessionChanges(client)
        self.counter = RedisWindowCounter(client)
        self.busy = RedisBusySessions(client)  # for every instance's clean-up

    @classmethod
    def from_url(cls, url: str) -> RedisCluster:
        """A client for ``url``; nothing is connected until ``start``."""
        try:
            from redis.asyncio import BlockingConnectionPool, Redis
        except ImportError as err:
            raise MissingExtraError(missing_extra_message("redis_url", "cluster")) from err
        pool = BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=POOL_WAIT_S, health_check_interval=30
        )
        return cls(Redis.from_pool(pool))  # the client closes the pool with itself

    def sign_in_locks(self) -> RedisSessionLocks:
        """Locks on staff names and addresses, so sign-in attempts sent to two instances
        take turns as they do in one (``assistant.staff.signin``)."""
        return RedisSessionLocks(self.client, prefix=SIGN_IN_PREFIX)

    def lease(self, name: str, ttl: float = LEASE_TTL_S) -> RedisLease:
        """A lease on ``name`` held by this instance when taken."""
        return RedisLease(self.client, name, ttl=ttl)

    async def start(self) -> None:
        """Check Redis answers and subscribe to the change news."""
        await self.client.ping()
        await self.changes.start()

    async def stop(self) -> None:
        """Stop sharing, cancel the subscription and close the connections."""
        await self.busy.stop()
        await self.changes.stop()
        await self.client.aclose()
