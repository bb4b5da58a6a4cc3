"""Versioned migrations for the PostgreSQL store, applied at open as sqlite-utils' are for SQLite.

A migration is a module ``migrations/mNNN_name.py`` with an ``apply(conn)`` coroutine; adding
one is adding a file. ``schema_migrations`` records each version applied. All pending ones
run in ONE transaction behind an advisory lock: two instances starting together queue on the
lock, and the second finds the work done; a migration that fails leaves nothing half-made,
since PostgreSQL's DDL is transactional. A database migrated by a newer release (a version
this code does not know) is refused rather than written with an older idea of its schema.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from assistant.errors import StoreError
from assistant.store.postgres import migrations as _package
from assistant.store.postgres.database import Connection, Database

_LOGGER = logging.getLogger(__name__)

# The advisory lock every instance takes before looking at the schema ("FA" "migrate").
MIGRATION_LOCK = 0x4641_6D69_6772_6174
_NAME = re.compile(r"m(\d{3})_[a-z0-9_]+")


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: its number, its name, and what it does."""

    version: int
    name: str
    apply: Callable[[Connection], Awaitable[None]]


def discovered() -> list[Migration]:
    """Every ``mNNN_*`` module of ``migrations/``, in order; two of one number are an error."""
    found: dict[int, Migration] = {}
    for module in pkgutil.iter_modules(_package.__path__):
        match = _NAME.fullmatch(module.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise StoreError(f"two migrations numbered {version}: {module.name}")
        loaded = importlib.import_module(f"{_package.__name__}.{module.name}")
        found[version] = Migration(version, module.name, loaded.apply)
    return [found[version] for version in sorted(found)]


async def migrate(db: Database, steps: Sequence[Migration] | None = None) -> list[str]:
    """Apply what is pending of ``steps`` (default: every migration); returns their names."""
    steps = discovered() if steps is None else list(steps)
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
            "name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute("SELECT version FROM schema_migrations")
        applied = {int(row[0]) for row in await cursor.fetchall()}
        unknown = applied - {step.version for step in steps}
        if unknown:
            raise StoreError(
                f"the database has schema version {max(unknown)}, newer than this release "
                "knows: upgrade the assistant before starting it against this database"
            )
        done = []
        for step in steps:
            if step.version in applied:
                continue
            await step.apply(conn)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (step.version, step.name),
            )
            done.append(step.name)
    if done:
        _LOGGER.info("database migrated: %s", ", ".join(done))
    return done


async def run_statements(conn: Connection, statements: Sequence[str]) -> None:
    """Execute ``statements`` in order (for migrations written as SQL)."""
    for statement in statements:
        await conn.execute(statement)
