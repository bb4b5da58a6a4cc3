"""The daily clean-up: what is past retention leaves the store, and artifact folders the disk.

Without it sessions, turns and artifacts only ever grew (no ``DELETE`` anywhere). One owner
runs it on a timer: ``assistant serve`` (``Janitor.serve``), and staff can run it at once with
``assistant cleanup`` (``--dry-run`` only counts). The last run is stored, so a second server
on the same database finds it done and waits, ``/healthz`` shows it, and a run that is
repeated removes nothing twice. A session in use now (``busy``) is never removed, nor an
artifact a kept session points at (the store's rules, ``assistant/store/retention.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from assistant.config import Settings
from assistant.ports import PhotoFolder
from assistant.upkeep_ports import CleanupReport, RetentionPolicy, RetentionStore

_LOGGER = logging.getLogger(__name__)

DAY = 86_400.0
RETRY_SECONDS = 600.0  # after a failed run (the database busy or full), try again this soon
ORDER = (
    "sessions", "turns", "links", "artifacts", "generations", "attempts", "ledger", "photos",
)  # fmt: skip
# A picture is sent a moment before the turn that answers with it is stored: one that nobody
# uses yet is kept this long, so a clean-up never races an upload.
PHOTO_GRACE = DAY


def policy_from(settings: Settings) -> RetentionPolicy:
    """The retention settings, in seconds (0 keeps things forever)."""
    return RetentionPolicy(
        ended=settings.retention_ended_days * DAY,
        idle=settings.retention_idle_days * DAY,
        turns=settings.retention_turns_days * DAY,
        artifacts=settings.retention_artifacts_days * DAY,
        links=settings.retention_links_days * DAY,
    )


def describe(report: CleanupReport) -> str:
    """One line for a log or a terminal: what was (or would be) removed."""
    counts = ", ".join(f"{report.removed.get(name, 0)} {name}" for name in ORDER)
    return f"{'would remove' if report.dry_run else 'removed'} {counts}"


class Janitor:
    """Runs the clean-up now (``run``) or every ``interval`` seconds (``start``/``stop``)."""

    def __init__(
        self,
        store: RetentionStore,
        artifacts_dir: Path,
        policy: RetentionPolicy,
        *,
        interval: float = DAY,
        busy: Callable[[], Awaitable[frozenset[str]]] | None = None,
        clock: Callable[[], float] = time.time,
        photos: PhotoFolder | None = None,
    ) -> None:
        self.store = store
        self.artifacts_dir = artifacts_dir
        self.policy = policy
        self.interval = interval
        self.busy = busy
        self.clock = clock
        self.photos = photos
        self._task: asyncio.Task[None] | None = None

    async def run(self, *, dry_run: bool = False) -> CleanupReport:
        """One clean-up; the folders of removed artifacts are deleted after the rows are."""
        busy = await self.busy() if self.busy is not None else frozenset[str]()
        report = await self.store.clean_up(self.policy, self.clock(), busy, dry_run=dry_run)
        if self.photos is not None:  # after the sessions went, their pictures are unused
            keep = await self.store.strings_in_use()
            swept = await asyncio.to_thread(
                self.photos.sweep, keep, self.clock() - PHOTO_GRACE, dry_run=dry_run
            )
            report = replace(report, removed={**report.removed, "photos": swept})
        if not dry_run:
            await asyncio.to_thread(self._remove_folders, report.folders)
            await self.store.record_cleanup(report)
        _LOGGER.info("clean-up: %s", describe(report))
        return report

    def _remove_folders(self, folders: tuple[str, ...]) -> None:
        root = self.artifacts_dir.resolve()
        for folder in folders:
            path = Path(folder).resolve()
            if path == root or not path.is_relative_to(root):  # never outside the artifacts
                _LOGGER.warning("clean-up: not removing %s (outside %s)", path, root)
                continue
            shutil.rmtree(path, ignore_errors=True)

    async def due_in(self) -> float:
        """Seconds until the next run is due (0: now), by the last run any process made."""
        last = await self.store.last_cleanup()
        if last is None:
            return 0.0
        return max(0.0, last.at + self.interval - self.clock())

    def start(self) -> None:
        """Clean up now if due, then every ``interval`` (0 turns the timer off)."""
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._serve(), name="clean-up")

    async def stop(self) -> None:
        """Stop the timer (a run already in the store's thread still finishes its transaction)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _serve(self) -> None:
        while True:
            try:
                wait = await self.due_in()
                if wait <= 0:
                    await self.run()
                    wait = self.interval
            except asyncio.CancelledError:
                raise
            except Exception:  # the service goes on; staff see the last run in /healthz
                _LOGGER.exception("clean-up failed; trying again in %.0f s", RETRY_SECONDS)
                wait = RETRY_SECONDS
            await asyncio.sleep(wait)
