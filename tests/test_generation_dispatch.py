"""The generation queue in a burst (issue 13, part B): builds run side by side up to
``workers``, and waking the queue costs the store one claim, not one per idle worker.

What a user noticed: with 2,000 web sessions confirming in the same seconds, a template
delivery took seconds at p50. Two workers each waited for their build's trips to worker
threads on a busy event loop, so deliveries queued behind each other; and every enqueue woke
every idle worker, each asking the store's one thread for a task only one could have.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from assistant.generation.queue import POLL_SECONDS, GenerationQueue
from assistant.jobs.catalog import Job, JobCatalog
from assistant.ports import GeneratedFiles, ReportProgress
from assistant.session import Artifact, GenerationRequest
from assistant.store import generations
from assistant.store.sqlite import SQLiteStore
from assistant.store.transaction import writing


class GatedGenerator:
    """A generator whose builds wait for ``release``; it counts the builds in flight."""

    def __init__(self, wanted: int) -> None:
        self.wanted = wanted  # builds in flight that set ``started``
        self.in_flight = 0
        self.most = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def generate(
        self,
        job: Job,
        request: GenerationRequest,
        folder: Path,
        progress: ReportProgress | None = None,
    ) -> GeneratedFiles:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight >= self.wanted:
            self.started.set()
        try:
            await self.release.wait()
            (folder / "index.html").write_text("<p>Blue Bakery</p>", encoding="utf-8")
        finally:
            self.in_flight -= 1
        return GeneratedFiles(files=("index.html",), details={})


class Deliveries:
    """What the queue told the dialog, with an event per count reached."""

    def __init__(self) -> None:
        self.series: list[str] = []
        self._waiting: dict[int, asyncio.Event] = {}

    async def delivered(self, request: GenerationRequest, artifact: Artifact) -> None:
        self.series.append(request.series)
        for count, event in self._waiting.items():
            if len(self.series) >= count:
                event.set()

    async def failed(self, request: GenerationRequest) -> None:
        raise AssertionError(f"generation {request.series} failed")

    async def reach(self, count: int) -> None:
        event = self._waiting.setdefault(count, asyncio.Event())
        if len(self.series) >= count:
            event.set()
        await asyncio.wait_for(event.wait(), 60)


async def _enqueue(store: SQLiteStore, series: str) -> None:
    """A pending café page task, as a confirm stores it."""
    request = GenerationRequest(
        session_key=f"key-{series}", job_id="cafe_page", language="en",
        answers={"shop_name": "Blue Bakery"}, series=series, version=1,
    )  # fmt: skip

    def pending() -> None:
        with writing(store.db):
            generations.enqueue(store.db.conn, request, time.time())

    await store.run(pending)


@pytest.fixture
async def deliveries() -> AsyncIterator[Deliveries]:
    yield Deliveries()


def _queue(
    store: SQLiteStore,
    catalog: JobCatalog,
    generator: Any,
    deliveries: Deliveries,
    tmp_path: Path,
    workers: int,
) -> GenerationQueue:
    job = catalog.jobs["cafe_page"]
    return GenerationQueue(
        store=store,
        jobs=catalog,
        generators={job.generator: generator},
        artifacts_dir=tmp_path / "artifacts",
        on_delivered=deliveries.delivered,
        on_failed=deliveries.failed,
        workers=workers,
    )


async def test_builds_run_side_by_side_up_to_the_worker_count(
    store: SQLiteStore, catalog: JobCatalog, deliveries: Deliveries, tmp_path: Path
) -> None:
    generator = GatedGenerator(wanted=3)
    queue = _queue(store, catalog, generator, deliveries, tmp_path, workers=3)
    for n in range(5):
        await _enqueue(store, f"s{n}")
    await queue.start()
    try:
        await asyncio.wait_for(generator.started.wait(), 60)  # three builds at once...
        generator.release.set()
        await deliveries.reach(5)
    finally:
        await queue.stop()
    assert generator.most == 3  # ...and never a fourth
    assert sorted(deliveries.series) == [f"s{n}" for n in range(5)]
    assert await store.depth() == 0


async def test_waking_the_queue_costs_one_claim_not_one_per_idle_worker(
    store: SQLiteStore, catalog: JobCatalog, deliveries: Deliveries, tmp_path: Path
) -> None:
    generator = GatedGenerator(wanted=1)
    generator.release.set()  # builds end at once
    queue = _queue(store, catalog, generator, deliveries, tmp_path, workers=8)
    claims = 0
    claim_next = store.claim_next

    async def counted() -> Any:
        nonlocal claims
        claims += 1
        return await claim_next()

    store.claim_next = counted  # type: ignore[method-assign]
    await queue.start()
    started = time.monotonic()
    try:
        for n in range(5):  # one confirm after another, each woken as the dialog does
            await _enqueue(store, f"s{n}")
            queue.wake()
            await deliveries.reach(n + 1)
    finally:
        await queue.stop()
    polls = (time.monotonic() - started) / POLL_SECONDS + 1
    # A claim that finds the task and one that finds the queue empty, per enqueue (plus the
    # start and the idle polls); before, each of the eight idle workers asked every time.
    assert claims <= 1 + 2 * 5 + polls, claims


async def test_stopping_leaves_builds_in_flight_for_the_next_start(
    store: SQLiteStore, catalog: JobCatalog, deliveries: Deliveries, tmp_path: Path
) -> None:
    generator = GatedGenerator(wanted=2)
    queue = _queue(store, catalog, generator, deliveries, tmp_path, workers=4)
    for n in range(2):
        await _enqueue(store, f"s{n}")
    await queue.start()
    await asyncio.wait_for(generator.started.wait(), 60)
    await queue.stop()  # as a server stopping mid-build: nothing delivered, nothing lost
    assert deliveries.series == []
    assert generator.in_flight == 0
    assert not list((tmp_path / "artifacts").glob("s*"))
    again = _queue(store, catalog, GatedGenerator(wanted=1), deliveries, tmp_path, workers=4)
    again.generators[catalog.jobs["cafe_page"].generator].release.set()  # type: ignore[attr-defined]
    await again.start()  # the interrupted tasks are claimed again and delivered
    try:
        await deliveries.reach(2)
    finally:
        await again.stop()
    assert sorted(deliveries.series) == ["s0", "s1"]
