"""Generation on Celery with Redis as broker: the app, the task's name, and the instance's
side that sends one task per queued row.

The store's row stays the source of truth: a confirm writes it in the same transaction as the
turn, and only then is a message sent that names it. A message can be lost (a crash between
commit and send, Redis restarted without persistence), so a sweep sends again every row that
still waits, or that a worker claimed longer ago than the lease (its worker died). A message
sent twice is harmless: the worker's claim takes a row once (``generations.claim``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from assistant.config import Settings
from assistant.extras import require_extra
from assistant.generation.relay import (
    DeliveryCallback,
    FailureCallback,
    ProgressCallback,
    RelayListener,
)
from assistant.ports import ClusterQueueStore

_LOGGER = logging.getLogger(__name__)

TASK_NAME = "assistant.generation.build"
QUEUE_NAME = "generation"
LEASE_MARGIN_S = 30.0  # past the generation timeout: the build has ended, one way or another
SWEEP_S = 5.0  # how often an instance looks for rows whose message may be lost


def lease_seconds(settings: Settings) -> float:
    """How long a worker's claim holds: a build never runs longer than the generation
    timeout, so a claim older than this belongs to a worker that died. It is also Redis'
    visibility timeout, after which an unacknowledged message is given to another worker."""
    return settings.generation_lease_s or settings.generation_timeout + LEASE_MARGIN_S


def celery_app(settings: Settings) -> Any:
    """The Celery app every instance and worker share: Redis as broker, no result backend
    (outcomes travel over pub/sub), acknowledged only after the build so a task whose worker
    was killed runs again, and one message at a time per worker slot."""
    celery = require_extra("celery", "cluster", "generation on Celery with Redis")
    app = celery.Celery("assistant", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QUEUE_NAME,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": lease_seconds(settings),
            # Look for messages of dead workers every 10 s (kombu's default scans every
            # tenth look: a killed worker's message came back after 100 s).
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


class CeleryDispatch:
    """Sends a Celery task for each row the store holds unbuilt: at once when the dialog
    enqueues one (``wake``), and again in the sweep when its message may be lost."""

    def __init__(
        self,
        store: ClusterQueueStore,
        app: Any,
        *,
        lease_s: float,
        sweep_s: float = SWEEP_S,
        clock: Callable[[], float] = time.time,
        also: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.store = store
        self.app = app
        self.lease_s = lease_s
        self.sweep_s = sweep_s
        self.clock = clock
        self.also = also  # more work for each sweep (the relay's catch-up)
        self.sent = 0  # messages sent by this instance (a figure for tests and logs)
        self._sent_at: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._catching: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Send what waits now (rows a crash left unsent among them), then keep watching."""
        await self.send_due()
        self._task = asyncio.create_task(self._run(), name="generation-dispatch")

    async def stop(self) -> None:
        """Stop watching; rows not yet sent wait for the next instance's sweep."""
        for task in (self._task, self._catching):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._catching = None

    def wake(self) -> None:
        """A row was enqueued (and committed): send its message now."""
        self._wake.set()

    async def _run(self) -> None:
        caught_up = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_s)
            self._wake.clear()
            try:
                await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: the next sweep tries again
                _LOGGER.warning("generation dispatch: could not send", exc_info=True)
            # Wakes come often on a busy server: the catch-up runs by the clock, in a task of
            # its own, so a slow catch-up (a thousand deliveries, each under its session's
            # lock) never holds back the sweep that sends the rows still waiting.
            idle = self._catching is None or self._catching.done()
            if self.also is not None and idle and time.monotonic() - caught_up >= self.sweep_s:
                caught_up = time.monotonic()
                self._catching = asyncio.create_task(self._catch_up(), name="generation-catch-up")

    async def _catch_up(self) -> None:
        assert self.also is not None
        try:
            await self.also()
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis or the database away: the next catch-up tries again
            _LOGGER.warning("generation dispatch: could not catch up", exc_info=True)

    async def send_due(self) -> int:
        """Send each unbuilt row not sent by this instance within the lease; how many."""
        now = self.clock()
        unbuilt = await self.store.unbuilt(now - self.lease_s)
        still = set(unbuilt)  # rows built or cancelled since are forgotten
        self._sent_at = {key: at for key, at in self._sent_at.items() if key in still}
        count = 0
        for task_id in unbuilt:
            last = self._sent_at.get(task_id)
            if last is not None and now - last < self.lease_s:
                continue
            if last is not None:
                _LOGGER.warning("generation %s: no worker took it; sending it again", task_id)
            await asyncio.to_thread(self.app.send_task, TASK_NAME, args=[task_id])
            self._sent_at[task_id] = now
            self.sent += 1
            count += 1
        return count


class ClusterGeneration:
    """An instance's part of generation on Celery: sending the rows' tasks, and hearing the
    workers' progress and outcomes for the dialog (``relay``)."""

    def __init__(
        self,
        settings: Settings,
        store: ClusterQueueStore,
        *,
        on_delivered: DeliveryCallback,
        on_failed: FailureCallback,
        on_progress: ProgressCallback,
    ) -> None:
        self.listener = RelayListener(
            settings.redis_url, store, on_delivered=on_delivered, on_failed=on_failed,
            on_progress=on_progress,
        )  # fmt: skip
        self.dispatch = CeleryDispatch(
            store, celery_app(settings), lease_s=lease_seconds(settings),
            also=self.listener.catch_up,
        )  # fmt: skip

    def wake(self) -> None:
        """A row was enqueued: send its task now."""
        self.dispatch.wake()

    async def start(self) -> None:
        """Listen first, so no outcome of a task sent now is missed; then send."""
        await self.listener.start()
        await self.dispatch.start()

    async def stop(self) -> None:
        """Stop sending, then listening."""
        await self.dispatch.stop()
        await self.listener.stop()
