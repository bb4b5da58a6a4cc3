"""Both stores for one port suite: SQLite on a real file and PostgreSQL on a real server.

``backend`` is parametrized: each test that takes it runs twice, once on a SQLite file in
the test's folder and once on a database of its own in the test process's PostgreSQL
(``testing/postgres.py``; those cases are ``slow``, a subprocess server). A ``Backend`` opens
as many stores on its database as a test asks for; each stands for one process, and every
store still open is closed at the end. Any port test file (``tests/test_store_ports*.py``)
uses it (with a ``store`` fixture of its own: ``backend.open()``; the
conftest's ``store`` is SQLite alone), so the two stores are held to one behaviour.

Older SQLite-only test files join the same way (a ``store`` fixture of their own on
``backend``). A test there that reads SQLite's file itself is kept to SQLite with
``sqlite_only``; a file that keeps most of its tests on SQLite (for time) overrides
``backend`` with ``sqlite_unless_asked`` and marks the few it runs on both with ``both_stores``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assistant.store.postgres.store import PostgresStore
from assistant.store.sqlite import SQLiteStore

Store = SQLiteStore | PostgresStore


@dataclass
class Backend:
    """One database, and every store opened on it (each stands for a process)."""

    kind: str
    where: str  # the SQLite file, or the PostgreSQL URL
    opened: list[Store] = field(default_factory=list)

    async def open(self, **options: Any) -> Store:
        """Another store on the same database, opened."""
        store: Store = (
            SQLiteStore(Path(self.where), **options)
            if self.kind == "sqlite"
            else PostgresStore(self.where, **options)
        )
        await store.open()
        self.opened.append(store)
        return store

    async def close(self, store: Store) -> None:
        """Close one store (its process ended)."""
        self.opened.remove(store)
        await store.close()


KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.slow)]

# Test-level choices of ``backend``'s kinds (a test's own parametrize wins over the fixture's).
both_stores = pytest.mark.parametrize("backend", KINDS, indirect=True)
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def _backend(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Backend]:
    """A database of ``kind``, closed with every store opened on it."""
    where = (
        str(tmp_path / "assistant.db")
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    backend = Backend(kind, where)
    yield backend
    for store in list(backend.opened):
        await backend.close(store)


@pytest.fixture(params=KINDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """A database of each kind in turn, closed with every store opened on it."""
    async for opened in _backend(request.param, request, tmp_path):
        yield opened


async def sqlite_unless_asked(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Backend]:
    """SQLite alone, unless the test asks for both stores (``both_stores``): a file that
    keeps most of its tests on SQLite registers it as its own ``backend`` fixture."""
    async for opened in _backend(getattr(request, "param", "sqlite"), request, tmp_path):
        yield opened
