"""A gate in front of the real generator, so a browser test can look at the "generating"
screen (and at a failure) before the artifact arrives."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import GenerationError
from assistant.jobs.catalog import Job
from assistant.session import GenerationRequest

HOLD_WAIT_S = 30.0  # a busy machine's worker reaches the gate well within this


class Gate:
    """Holds every generation until opened, so a test can look at the "generating" screen.

    The real generator still does the work once the gate opens: the delay is the only change,
    unless a test asks for ``failures``, which fail the way a generator reports failure.
    """

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.opened.set()
        self.waiting = 0
        self.failures = 0  # how many of the next generations fail, as a broken model would
        self._held = asyncio.Condition()

    def close(self) -> None:
        self.opened.clear()

    def open(self) -> None:
        self.opened.set()

    async def holding(self, count: int) -> bool:
        """Wait until ``count`` generations are held at the gate; the page may say
        "generating" a moment before the queue's worker reaches the generator."""

        async def reached() -> None:
            async with self._held:
                await self._held.wait_for(lambda: self.waiting == count)

        try:
            await asyncio.wait_for(reached(), HOLD_WAIT_S)
        except TimeoutError:
            return False
        return True

    async def held_changed(self, step: int) -> None:
        async with self._held:
            self.waiting += step
            self._held.notify_all()


@dataclass
class GatedGenerator:
    """A real generator behind the gate; whatever else the queue passes (a progress
    callback, ...) goes through unchanged."""

    inner: Any
    gate: Gate

    async def generate(
        self, job: Job, request: GenerationRequest, folder: Path, *args: Any, **kwargs: Any
    ) -> Any:
        await self.gate.held_changed(+1)
        try:
            await self.gate.opened.wait()
        finally:
            await self.gate.held_changed(-1)
        if self.gate.failures > 0:
            self.gate.failures -= 1
            raise GenerationError("failed on purpose by the test", code="test_failure")
        return await self.inner.generate(job, request, folder, *args, **kwargs)
