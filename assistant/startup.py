"""Opening the slow parts when a service starts, in the background, never on a user's request.

The knowledge base (chromadb and the embedding model), the speech engines (Kokoro, the
recogniser) and the language model each take seconds of CPU to open. Opened on first use,
they cost the first user that wait, and in a burst they share the two cores with everyone's
deliveries: with 2,000 web sessions confirming in the same seconds, the knowledge base that
the first delivery opened held confirm → delivery at 5.3 s at p50 (issue 13). So a service
starts a ``WarmUp`` once it listens: its steps run one after another (together they would
only compete for the same cores), each off the event loop, and a failed step is logged and
skipped: whatever it opens is opened again on first use, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

_LOGGER = logging.getLogger(__name__)

Step = Callable[[], Awaitable[object]]
T = TypeVar("T")
# Niceness of start-up work (embedding the knowledge base and the jobs' examples). On a fresh
# data folder that is a minute of CPU: at the same priority it took the event loop's core
# from a burst of turns and deliveries (issue 13); at this one it gets about a tenth of a
# core they want. Not 19: a test suite's other worker would starve it (about 1.5 %) and the
# tests that wait for the knowledge base would wait out their time.
BACKGROUND_NICE = 10


def lower_thread_priority(nice: int = BACKGROUND_NICE) -> None:
    """Let the calling thread run only when the CPU has nothing more urgent (Linux: niceness
    is per thread, and threads it starts inherit it); a no-op where that is not possible."""
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread)
        if current < nice:
            os.setpriority(os.PRIO_PROCESS, thread, nice)


async def in_background_thread(work: Callable[[], T], name: str) -> T:
    """``work`` on a daemon thread of its own at background priority: not the loop's
    executor, whose threads run users' work afterwards and cannot be raised again (and which
    ``asyncio.run`` waits for at exit, where start-up work must not hold a stopping server)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        lower_thread_priority()
        try:
            result, error = work(), None
        except BaseException as err:  # handed to the awaiting code, like to_thread would
            result, error = None, err
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


class StepState(StrEnum):
    """Where one warm-up step is."""

    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class WarmUp:
    """Named steps run in order by one background task, with their state for tests and logs."""

    steps: list[tuple[str, Step]] = field(default_factory=list)
    states: dict[str, StepState] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def add(self, name: str, step: Step) -> None:
        """A step to run after those already added."""
        self.steps.append((name, step))
        self.states[name] = StepState.WAITING

    def start(self) -> asyncio.Task[None]:
        """Run the steps in the background (once); the caller goes on at once."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="warm-up")
        return self._task

    async def wait(self) -> None:
        """Until every step has ended (done or failed)."""
        await self.finished.wait()

    async def stop(self) -> None:
        """Cancel what is still to run (a service stopping before it finished)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        try:
            for name, step in self.steps:
                self.states[name] = StepState.RUNNING
                started = time.perf_counter()
                try:
                    await step()
                except Exception:
                    self.states[name] = StepState.FAILED
                    _LOGGER.exception("warm-up: %s failed; it opens on first use instead", name)
                else:
                    self.states[name] = StepState.DONE
                self.seconds[name] = time.perf_counter() - started
                _LOGGER.info(
                    "warm-up: %s %s in %.2f s", name, self.states[name], self.seconds[name]
                )
        finally:
            self.finished.set()
