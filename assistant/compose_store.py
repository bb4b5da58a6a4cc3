"""Which store the settings name: SQLite in ``data_dir`` (the default) or PostgreSQL.

Part of the composition root. ``database_url`` empty keeps everything in one SQLite file in
the data folder, with no server to start; a ``postgresql://`` address puts every port (sessions,
turns, the queue, artifacts, chat links, the Telegram ledger, attempts and retention, staff
accounts, the audit log, reviews, job versions, the staff figures) on that database, which
several instances and workers share (issue 17). Never half on one and half on the other:
every command that opens a store opens the one this module gives. The PostgreSQL store is
imported only when asked for: the base install has no psycopg (the ``postgres`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.config import Settings
from assistant.extras import MissingExtraError, missing_extra_message
from assistant.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from typing import TypeAlias

    from assistant.store.postgres.store import PostgresStore

    # Either store serves every port the service uses (``tests/test_store_ports*.py`` run
    # one suite on both); mypy checks each use against both. For annotations only.
    AppStore: TypeAlias = SQLiteStore | PostgresStore


def store_for(settings: Settings) -> AppStore:
    """The store the settings name, not opened yet."""
    code_lifetime = settings.code_expiry_hours * 3600 or None
    if settings.database_url:
        try:
            from assistant.store.postgres.store import PostgresStore
        except ImportError as err:
            raise MissingExtraError(missing_extra_message("database_url", "postgres")) from err
        return PostgresStore(
            settings.database_url,
            code_lifetime=code_lifetime,
            pool_size=settings.database_pool_size,
        )
    return SQLiteStore(
        settings.database_path,
        code_lifetime=code_lifetime,
        replicated=bool(settings.litestream_replica_url),
    )
