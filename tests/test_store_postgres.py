"""What only the PostgreSQL store has to do, on a real server (``testing/postgres.py``): leases
that keep a live instance's running task its own, migrations that several instances starting
together apply once and that fail whole, JSON kept as jsonb, and connections that recover.
The behaviour both stores share is in ``test_store_ports.py``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from assistant.errors import StoreError
from assistant.events import SessionState
from assistant.ports import TurnEffects
from assistant.session import GenerationRequest, Session, TurnRecord
from assistant.store.postgres.database import Connection, Database
from assistant.store.postgres.migrate import Migration, discovered, migrate
from assistant.store.postgres.store import PostgresStore
from testing.postgres import free_port

pytestmark = pytest.mark.slow  # a subprocess server (about 2 s to make, 5-7 s on a busy machine)


@pytest.fixture
async def opened(postgres_url: str) -> AsyncIterator[list[PostgresStore]]:
    """Stores to close after the test, whatever it left open."""
    stores: list[PostgresStore] = []
    yield stores
    for store in stores:
        await store.close()


async def _open(url: str, opened: list[PostgresStore]) -> PostgresStore:
    store = PostgresStore(url)
    opened.append(store)
    await store.open()
    return store


async def _enqueue(store: PostgresStore, key: str = "k") -> None:
    session = Session(key=key, language="en", channel="web", state=SessionState.GENERATING)
    request = GenerationRequest(key, "cafe_page", "en", {"shop_name": "Blue"}, "s1", 1)
    record = TurnRecord(key, 1.0, "web", "yes", "confirm", "generating", [])
    await store.commit_turn(session, record, TurnEffects(enqueue=request))


async def test_a_starting_instance_leaves_a_live_instances_task_alone(
    postgres_url: str,
    opened: list[PostgresStore],
) -> None:
    working = await _open(postgres_url, opened)
    await _enqueue(working)
    task = await working.claim_next()
    assert task is not None
    starting = await _open(postgres_url, opened)
    assert await starting.requeue_interrupted() == 0, "its owner is alive: not interrupted"
    assert await working.requeue_interrupted() == 0, "nor does an instance requeue its own"
    await working.close()  # the lease goes with the connection
    assert await starting.requeue_interrupted() == 1
    again = await starting.claim_next()
    assert again is not None and again.attempts == 2


async def test_instances_starting_together_migrate_once(
    postgres_url: str,
    opened: list[PostgresStore],
) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(3)]
    opened.extend(stores)
    await asyncio.gather(*(store.open() for store in stores))
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert rows.fetchall() == [(m.version, m.name) for m in discovered()]
    assert await stores[2].depth() == 0


async def _broken(conn: Connection) -> None:
    await conn.execute("SELECT no_such_column FROM sessions")


async def test_a_failing_migration_leaves_nothing_half_made(postgres_url: str) -> None:
    db = Database(postgres_url)
    await db.open()
    try:
        steps = [*discovered(), Migration(999, "m999_broken", _broken)]
        with pytest.raises(StoreError, match="no_such_column"):
            await migrate(db, steps)
        async with db.connection() as conn:
            cursor = await conn.execute(
                "SELECT to_regclass('sessions'), to_regclass('schema_migrations')"
            )
            assert await cursor.fetchone() == (None, None)
        assert await migrate(db) == [m.name for m in discovered()]
        assert await migrate(db) == [], "applied once"
    finally:
        await db.close()


async def test_a_database_of_a_newer_release_is_refused(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    await store.open()
    await store.close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (998, 'm998_later')")
    newer = PostgresStore(postgres_url)
    with pytest.raises(StoreError, match="schema version 998, newer than this release"):
        await newer.open()


async def test_json_is_kept_as_jsonb(postgres_url: str, opened: list[PostgresStore]) -> None:
    await _open(postgres_url, opened)
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            "SELECT table_name || '.' || column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = 'jsonb'"
        ).fetchall()
    assert {row[0] for row in rows} == {
        "sessions.answers", "sessions.preferences", "sessions.pending", "sessions.ask_next",
        "sessions.look", "sessions.undo", "turns.replies", "generations.answers",
        "generations.look", "artifacts.files", "artifacts.manifest",
        "audit_log.detail",
        # m002_upkeep (an update's payload stays text: handed back as written)
        "cleanup_runs.removed", "telegram_messages.params",
    }  # fmt: skip


async def test_the_pool_recovers_when_the_server_drops_its_connections(
    postgres_url: str,
    opened: list[PostgresStore],
) -> None:
    store = await _open(postgres_url, opened)
    await _enqueue(store)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        dropped = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert dropped is not None and dropped[0] >= 2  # the pool's and the lease's
    loaded = await store.load("k")  # a dead connection is checked, replaced, not lent
    assert loaded is not None and loaded.revision == 1
    assert await store.ping() is True


async def test_a_server_that_cannot_be_reached_is_one_sentence_without_the_password() -> None:
    url = f"postgresql://assistant:s3cret-word@127.0.0.1:{free_port()}/assistant"
    store = PostgresStore(url, connect_within_s=1.0)
    with pytest.raises(StoreError) as caught:
        await store.open()
    message = caught.value.message
    assert message.startswith("cannot connect to the database at postgresql://127.0.0.1:")
    assert "s3cret-word" not in message
