"""Which process is running a generation task: a lease that dies with its process.

With one SQLite file, "running" at start-up meant "interrupted": only this process could have
been running it. With several instances on one database that is no longer true, and putting a
live worker's task back in line would build it twice. So each store holds a session-level
advisory lock on a random key for as long as it lives, on a connection of its own, and tags
the tasks it claims with that key. PostgreSQL drops the lock when the connection ends (a
clean close, a crash, a SIGKILL: the server sees the socket close), so "running, and its
owner's lock is gone" is exactly "interrupted".
"""

from __future__ import annotations

import contextlib
import secrets

import psycopg

from assistant.errors import StoreError
from assistant.store.postgres.database import Connection, redacted

# Whether the lease ``{owner}`` names is held by a live session in this database.
HELD = (
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
    "WHERE datname = current_database()) "
    "AND ((l.classid::bigint << 32) | l.objid::bigint) = {owner})"
)


class OwnerLease:
    """An advisory lock on a random key, held on a connection of its own until ``close``."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Positive and below 2**62, so the two halves pg_locks shows join back into it.
        self.key = secrets.randbits(62) or 1
        self._conn: Connection | None = None

    async def open(self) -> None:
        """Connect and take the lock (a fresh random key is never held by anyone else)."""
        try:
            self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            await self._conn.execute("SELECT pg_advisory_lock(%s)", (self.key,))
        except psycopg.Error as err:
            raise StoreError(
                f"cannot connect to the database at {redacted(self.url)}: {err}"
            ) from err

    async def close(self) -> None:
        """Give the lease up: tasks still tagged with it count as interrupted from now on.

        Unlocked before the connection closes: the server ends a closed connection's session
        (and frees its locks) a moment later, and "from now on" must mean now."""
        if self._conn is not None:
            # A connection that is gone already took the lock with it.
            with contextlib.suppress(psycopg.Error):
                await self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            await self._conn.close()
            self._conn = None
