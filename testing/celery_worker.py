"""``assistant worker`` with a gate file in front of the real generators, for the tests that
kill a worker in the middle of a build: ``python -m testing.celery_worker GATE_FOLDER``.

A build that reaches the gate leaves ``held-<generation id>-<pid>`` in the folder and waits
until a file ``open`` appears there; then the real generator does the work. Everything else
is the production worker (``assistant/cli/worker.py``), in a process of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.cli.worker import run_worker
from assistant.config import load_settings
from assistant.jobs.catalog import Job
from assistant.ports import Generator
from assistant.session import GenerationRequest

GATE_POLL_S = 0.05  # how often a held build looks for the ``open`` file


@dataclass
class FileGatedGenerator:
    """A real generator that waits for ``gate/open`` before it starts."""

    inner: Any
    gate: Path

    async def generate(
        self, job: Job, request: GenerationRequest, folder: Path, *args: Any, **kwargs: Any
    ) -> Any:
        (self.gate / f"held-{request.id}-{os.getpid()}").touch()
        while not (self.gate / "open").exists():  # noqa: ASYNC110 - another process's file
            await asyncio.sleep(GATE_POLL_S)
        return await self.inner.generate(job, request, folder, *args, **kwargs)


def held(gate: Path) -> list[str]:
    """The ``held-`` marks builds left at ``gate``."""
    return sorted(path.name for path in gate.glob("held-*"))


def main() -> int:
    """Run the production worker with its generators behind the gate folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("gate", type=Path)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    gate: Path = args.gate

    def wrap(generators: Mapping[str, Generator]) -> Mapping[str, Generator]:
        return {kind: FileGatedGenerator(inner, gate) for kind, inner in generators.items()}

    return run_worker(load_settings(), args, wrap=wrap)


if __name__ == "__main__":
    sys.exit(main())
