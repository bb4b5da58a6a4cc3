"""The store's side of generation on Celery: a task named by a message is claimed once, a
dead worker's claim lapses after its lease, and the sweep finds what no worker builds."""

from __future__ import annotations

import time

from assistant.session import GenerationRequest
from assistant.store import generations
from assistant.store.sqlite import SQLiteStore
from assistant.store.transaction import writing


async def _enqueue(store: SQLiteStore, series: str) -> int:
    """A pending café page task, as a confirm stores it; its id."""
    request = GenerationRequest(
        session_key=f"key-{series}", job_id="cafe_page", language="en",
        answers={"shop_name": "Blue Bakery"}, series=series, version=1,
    )  # fmt: skip

    def pending() -> int:
        with writing(store.db):
            return generations.enqueue(store.db.conn, request, time.time())

    return await store.run(pending)


async def test_a_task_sent_twice_is_claimed_once(store: SQLiteStore) -> None:
    task_id = await _enqueue(store, "a")
    first = await store.claim(task_id, lease_s=60)
    assert first is not None and first.request.id == task_id and first.attempts == 1
    assert first.request.answers == {"shop_name": "Blue Bakery"}
    assert await store.claim(task_id, lease_s=60) is None, "being built: the copy builds nothing"
    assert await store.generation_status(task_id) == "running"


async def test_a_claim_past_its_lease_is_taken_again(store: SQLiteStore) -> None:
    task_id = await _enqueue(store, "b")
    assert await store.claim(task_id, lease_s=60) is not None
    # Its worker died: with a lease already over (0 s), the redelivered message claims it.
    again = await store.claim(task_id, lease_s=0)
    assert again is not None and again.attempts == 2


async def test_finished_and_cancelled_tasks_are_never_claimed(store: SQLiteStore) -> None:
    done, cancelled = await _enqueue(store, "c"), await _enqueue(store, "d")
    assert await store.claim(done, lease_s=60) is not None
    await store.fail(done, "test_failure", "failed on purpose")

    def cancel() -> None:
        with writing(store.db):
            generations.cancel(store.db.conn, cancelled, time.time())

    await store.run(cancel)
    for task_id in (done, cancelled):
        assert await store.claim(task_id, lease_s=0) is None
    assert await store.claim(12345, lease_s=0) is None, "no such row"


async def test_the_sweep_finds_waiting_and_abandoned_tasks_only(store: SQLiteStore) -> None:
    waiting, building, abandoned = [await _enqueue(store, series) for series in "efg"]
    assert await store.claim(building, lease_s=60) is not None
    assert await store.claim(abandoned, lease_s=60) is not None
    now = time.time()
    assert await store.unbuilt(now - 60) == [waiting], "fresh claims are a worker's"
    assert await store.unbuilt(now + 1) == [waiting, building, abandoned]
