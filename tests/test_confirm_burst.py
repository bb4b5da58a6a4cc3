"""Many sessions confirming at once (issue 13, part E): every one gets its delivery, none a
database error, and a writer that meets another connection's lock waits for it.

What a user noticed: in a burst of 2,000 web confirmations, the checkpointer's TRUNCATE held
SQLite's writer lock at the moment a generation worker, having read a task's status, wanted
to write; SQLite refused at once ("database is locked", no busy timeout for a read that turns
into a write), the worker died, and every delivery after it waited forever. Write
transactions now take the lock first (``BEGIN IMMEDIATE``), where SQLite waits for it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from assistant.compose import Services
from assistant.config import load_settings
from assistant.events import Reply, Turn
from assistant.session import GenerationRequest
from assistant.store import checkpoint
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk

CAFE = cafe_walk(confirm=False)
SESSIONS = 30


def _request(key: str) -> GenerationRequest:
    return GenerationRequest(
        session_key=key, job_id="cafe_page", language="en", answers={}, series=key, version=1
    )


async def test_a_worker_waits_for_another_connections_write_lock_instead_of_failing(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "assistant.db")
    await store.open()
    other = sqlite3.connect(tmp_path / "assistant.db", isolation_level=None, timeout=30)
    try:
        await store.enqueue_running(_request("first"))  # a task left running...
        await store.requeue_interrupted()  # ...back in the queue, as after a crash
        started = asyncio.Event()
        loop = asyncio.get_running_loop()

        def traced(statement: str) -> None:
            # The worker has asked for the lock (BEGIN IMMEDIATE) or read and now writes.
            if statement.startswith(("BEGIN IMMEDIATE", "UPDATE generations")):
                loop.call_soon_threadsafe(started.set)

        await store.run(lambda: store.db.conn.set_trace_callback(traced))
        other.execute("BEGIN IMMEDIATE")  # another connection (the checkpointer) writes
        other.execute("INSERT INTO attempts (kind, address, code, at) VALUES ('code', 'x', '', 0)")
        claim = asyncio.create_task(store.claim_next())
        await started.wait()
        other.execute("COMMIT")
        task = await claim  # waited for the lock; before, "database is locked"
        assert task is not None and task.request.series == "first"
        assert await store.generation_status(task.request.id or 0) == "running"
    finally:
        other.close()
        await store.run(lambda: store.db.conn.set_trace_callback(None))
        await store.close()


@pytest.mark.slow  # thirty real deliveries through the queue, the page generator and checks
async def test_every_session_confirming_at_once_gets_its_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The checkpointer truncates the log all through the burst, as under 2,000 sessions.
    monkeypatch.setattr(checkpoint.Checkpointer, "EVERY_COMMITS", 3)
    monkeypatch.setattr(checkpoint.Checkpointer, "EVERY_SECONDS", 0.01)
    env = {"ASSISTANT_LLM_BACKEND": "none", "ASSISTANT_WARM_UP": "false"}
    services = Services.build(load_settings(environ=env, data_dir=str(tmp_path / "data")))
    delivered: dict[str, list[Reply]] = {}
    everyone = asyncio.Event()

    async def listen(key: str, replies: list[Reply]) -> None:
        if any(reply.links for reply in replies):
            delivered[key] = replies
            if len(delivered) == SESSIONS:
                everyone.set()

    services.manager.add_listener("t", listen)
    await services.start()
    try:
        keys = [f"burst-{n}" for n in range(SESSIONS)]
        for key in keys:
            for text in CAFE:
                replies = await services.manager.handle(Turn(key, text, "en", channel="t"))
            assert replies[-1].state == "confirm", replies[-1].text
        await asyncio.gather(*(services.manager.handle(Turn(k, "yes", channel="t")) for k in keys))
        await asyncio.wait_for(everyone.wait(), 300)
        assert sorted(delivered) == sorted(keys)
        for key in keys:
            session = await services.manager.session(key)
            assert session is not None and session.state == "delivered"
            artifact = await services.store.artifact(session.artifact_id or "")
            assert artifact is not None
            folder = Path(artifact.folder)
            assert (folder / "index.html").is_file() and (folder / "manifest.json").is_file()
        statuses = await services.store.run(
            lambda: services.store.db.conn.execute(
                "SELECT status, count(*) FROM generations GROUP BY status"
            ).fetchall()
        )
        assert statuses == [("done", SESSIONS)]
        staging = [p.name for p in services.settings.artifacts_dir.iterdir()]
        assert not any(name.startswith(".staging") for name in staging)
    finally:
        await services.stop()
