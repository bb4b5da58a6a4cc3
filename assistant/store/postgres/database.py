"""The connection pool, and the one way the store's modules reach the database.

psycopg's ``AsyncConnectionPool`` keeps a few connections open and checks each before lending
it, so a restarted server costs one failed check, not a failed turn. Connections are in
autocommit; work of more than one statement runs in ``transaction()``, which commits at the
end of its block or rolls back on any error. Errors of the driver become ``StoreError`` here,
at the store's edge, so no caller sees psycopg.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from assistant.config import shown_database_url
from assistant.errors import StoreError

_LOGGER = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[TupleRow]


def redacted(url: str) -> str:
    """The address without its password, for messages and logs."""
    return shown_database_url(url)


class Database:
    """A pool of connections to one PostgreSQL database."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection,
            open=False,
            name="assistant-store",
        )

    async def open(self, within_s: float = 30.0) -> None:
        """Open the pool and wait for its first connections; a server that cannot be reached
        is one sentence naming it."""
        try:
            await self._pool.open(wait=True, timeout=within_s)
        except (PoolTimeout, psycopg.Error) as err:
            await self._pool.close()
            raise StoreError(
                f"cannot connect to the database at {redacted(self.url)}: {err}"
            ) from err

    async def close(self) -> None:
        """Close every connection."""
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection for reads or one-statement writes (each statement commits)."""
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as err:
            raise StoreError(f"the database failed: {err}") from err

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside one transaction: committed at the end, rolled back on error."""
        try:
            async with self._pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.Error as err:
            raise StoreError(f"the database failed: {err}") from err
