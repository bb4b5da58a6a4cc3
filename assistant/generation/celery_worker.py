"""The worker process's side of generation on Celery: the task that builds one row.

Celery calls a task in one of its pool's threads; our build code is asyncio (generators,
the store's thread, the relay's Redis client), so the process keeps one event loop in a
thread of its own and each task runs its build there. The store's claim by id makes the
task idempotent: a message delivered twice (a resend, a worker killed after the build)
finds its row taken or done and builds nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from assistant.generation.celery_queue import TASK_NAME
from assistant.generation.queue import GenerationQueue
from assistant.ports import ClusterQueueStore

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


class WorkerRuntime:
    """One per worker process: the loop thread, the store and the queue's build step."""

    def __init__(
        self,
        queue: GenerationQueue,
        store: ClusterQueueStore,
        *,
        lease_s: float,
        open_: Callable[[], Coroutine[Any, Any, None]],
        close: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self.queue = queue
        self.store = store
        self.lease_s = lease_s
        self._open = open_
        self._close = close
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="worker-loop")

    def start(self) -> None:
        """Start the loop and open what the builds need (the store, the relay)."""
        self._thread.start()
        self.run(self._open())

    def stop(self) -> None:
        """Close what ``start`` opened and end the loop."""
        try:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the worker's loop and wait for it (from another thread), so
        what it opens (the metrics' socket) belongs to that loop; its exception is raised."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def build(self, task_id: int) -> str:
        """The task's body, on a pool thread: ``built`` or ``skipped`` (taken or done)."""
        return self.run(self._build(task_id))

    async def _build(self, task_id: int) -> str:
        task = await self.store.claim(task_id, self.lease_s)
        if task is None:
            _LOGGER.info("generation %s: taken or done already; nothing to build", task_id)
            return "skipped"
        if task.attempts > 1:
            _LOGGER.warning("generation %s: attempt %d (a worker stopped)", task_id, task.attempts)
        await self.queue.build_claimed(task)
        return "built"


def register_build(app: Any, runtime: WorkerRuntime) -> None:
    """The build task on ``app``, run by this process's ``runtime``."""

    @app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)
    def build(task_id: int) -> str:
        return runtime.build(int(task_id))
