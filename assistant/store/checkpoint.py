"""WAL checkpoints on a thread of their own, so no turn ever waits for the disk."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

_LOGGER = logging.getLogger(__name__)


class Checkpointer:
    """Copies the WAL back into the database file from a thread of its own.

    A checkpoint fsyncs; done inside a commit it stalls that turn, and every turn queued
    behind it, for milliseconds. PASSIVE checkpoints never block writers.
    """

    EVERY_COMMITS = 500
    EVERY_SECONDS = 5.0

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._commits = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self) -> None:
        """Count a commit; every few hundred, ask for a checkpoint."""
        self._commits += 1
        if self._commits % self.EVERY_COMMITS == 0:
            self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(self.EVERY_SECONDS)
            self._wake.clear()
            self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        try:
            self._conn.execute(f"PRAGMA wal_checkpoint({mode})")
        except sqlite3.DatabaseError as err:  # busy or closing: the next round catches up
            _LOGGER.debug("checkpoint skipped: %s", err)

    def stop(self) -> None:
        """Final checkpoint, so the database file alone holds everything."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._checkpoint("TRUNCATE")
        self._conn.close()
