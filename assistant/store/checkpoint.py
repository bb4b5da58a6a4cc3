"""WAL checkpoints on a thread of their own, so no turn ever waits for the disk.

Why the WAL used to grow (75 MB beside a 12 MB database between clean shutdowns): only
PASSIVE checkpoints ran. A PASSIVE checkpoint copies pages back but never resets the log, and
under steady writes it rarely catches up with the writer, so the WAL kept being appended to;
and a WAL file never shrinks below its high-water mark by itself. Now the checkpointer
truncates the log (TRUNCATE) whenever it has grown past ``WAL_LIMIT`` or the store has been
quiet for a round, and ``journal_size_limit`` caps what a reset leaves on disk.

Under Litestream (issue 17) only PASSIVE checkpoints run: Litestream keeps a read transaction
open on the database so no frame it has not shipped is lost, which makes every TRUNCATE wait
its full busy timeout (measured: 250 ms each, holding the writers back) and then fail.
Litestream resets the log itself once it has copied it, and SQLite restarts a log that was
wholly checkpointed at the next write, so the log still stays small.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

WAL_LIMIT = 4 * 1024 * 1024  # bytes: journal_size_limit, and the size that forces a truncation
# A TRUNCATE checkpoint blocks new writers for as long as it waits for readers to move on, so
# it may wait only briefly: with the store's 30 s a reader that lingered stalled every turn
# behind it until the writer gave up ("database is locked"). A checkpoint that finds the
# readers busy simply tries again next round.
CHECKPOINT_WAIT_S = 0.25


class Checkpointer:
    """Copies the WAL back into the database file from a thread of its own.

    A checkpoint fsyncs; done inside a commit it stalls that turn, and every turn queued
    behind it, for milliseconds. PASSIVE checkpoints never block writers; a TRUNCATE one waits
    for the writer between two turns, which the store's short transactions allow.
    """

    EVERY_COMMITS = 500
    SIZE_EVERY_COMMITS = 50  # how often a commit looks at the WAL's size (one stat)
    EVERY_SECONDS = 5.0

    def __init__(self, path: Path, wal_limit: int = WAL_LIMIT, *, truncate: bool = True) -> None:
        self._wal = Path(f"{path}-wal")
        self._truncate = truncate  # False under Litestream, which resets the log itself
        self._wal_limit = wal_limit
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=CHECKPOINT_WAIT_S)
        self._conn.execute(f"PRAGMA journal_size_limit={wal_limit}")
        self._commits = 0
        self._seen = 0  # commits counted at the start of the last round
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self, *, bulk: bool = False) -> None:
        """Count a commit; ask for a checkpoint every few hundred, when the WAL has grown past
        its limit, or after a ``bulk`` change (a clean-up)."""
        self._commits += 1
        due = bulk or self._commits % self.EVERY_COMMITS == 0
        if due or (
            self._commits % self.SIZE_EVERY_COMMITS == 0 and self._wal_size() > self._wal_limit
        ):
            self._wake.set()

    def _wal_size(self) -> int:
        try:
            return self._wal.stat().st_size
        except OSError:
            return 0

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(self.EVERY_SECONDS)
            self._wake.clear()
            commits = self._commits
            quiet = commits == self._seen
            self._seen = commits
            size = self._wal_size()
            if self._truncate and (size > self._wal_limit or (quiet and size > 0)):
                # Copy what can be copied without blocking first: the TRUNCATE that resets the
                # log then holds the writer back only for the last few pages and the fsync.
                self._checkpoint("PASSIVE")
                self._checkpoint("TRUNCATE")
            else:
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
        self._checkpoint("TRUNCATE" if self._truncate else "PASSIVE")
        self._conn.close()
