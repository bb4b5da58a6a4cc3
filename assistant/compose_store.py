"""Which store the settings name: SQLite in ``data_dir`` (the default) or PostgreSQL.

Part of the composition root. Issue 17 builds the PostgreSQL store in parts; until it serves
every port the service uses, a ``database_url`` stops every command that opens the store with
one sentence, before anything is opened: a service half on PostgreSQL and half on a SQLite
file nobody asked for would lose what it wrote to the wrong one.
"""

from __future__ import annotations

from assistant.config import Settings
from assistant.errors import ConfigError

POSTGRES_NOT_BUILT = (
    "database_url names a PostgreSQL database, but the PostgreSQL store is not finished yet "
    "(issue 17): it keeps sessions, turns, the generation queue, artifacts and chat links, "
    "and not yet the Telegram ledger, attempts and retention, staff accounts, the audit log, "
    "artifact review, job versions or the staff figures, so nothing was started; leave "
    "database_url empty to keep SQLite in data_dir."
)


# Commands of ``assistant`` that never open the store: a database_url does not concern them.
STORELESS_COMMANDS = frozenset({"jobs", "check", "say", "transcribe", "kb"})
# Commands that reach PostgreSQL themselves (pg_dump, pg_restore), not through the store.
POSTGRES_READY_COMMANDS = frozenset({"backup", "restore"})


def refuse_unbuilt_store(settings: Settings, command: str = "serve") -> None:
    """Raise ``ConfigError`` when the settings name a store that cannot serve ``command`` yet."""
    if settings.database_url and command not in STORELESS_COMMANDS | POSTGRES_READY_COMMANDS:
        raise ConfigError(POSTGRES_NOT_BUILT)
