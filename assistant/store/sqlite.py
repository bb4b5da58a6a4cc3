"""SQLite persistence with sqlite-utils: sessions, turn history, the generation queue, artifacts.

One file in the data folder, WAL mode, schema changes as registered migrations
(``migrations.py``). All database work runs on one dedicated thread so the event loop never
blocks and the connection is only ever touched from one thread. A turn's session change, its
history row and its queue effect are committed together, before the reply reaches the user.

This class only composes: the SQL of each concern lives in its own module (``sessions``,
``generations``, ``artifacts``, ``links``, ``ledger``), and ``SQLiteStore`` implements the
ports of ``assistant/ports.py`` by running those functions on its thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from assistant.errors import StoreError
from assistant.ports import GenerationTask, TurnEffects
from assistant.private_files import FILE_MODE, private_file, private_folder
from assistant.session import Artifact, GenerationRequest, Session, TurnRecord
from assistant.staff.live import SessionActivity
from assistant.store import (
    artifacts,
    attempts,
    audit,
    generations,
    links,
    live,
    retention,
    seats,
    sessions,
    stats,
)
from assistant.store.checkpoint import WAL_LIMIT, Checkpointer
from assistant.store.job_versions import SQLiteJobVersions
from assistant.store.ledger import SQLiteTelegramLedger
from assistant.store.migrations import MIGRATIONS
from assistant.store.review import SQLiteReviewStore
from assistant.store.staff_accounts import SQLiteStaffAccounts
from assistant.upkeep_ports import CleanupReport, RetentionPolicy

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
OPEN_WAIT_S = 30.0  # how long a start waits for another instance opening the same new file


class SQLiteStore:
    """Every storage port (sessions, queue, artifacts, chat links, ledger) in one SQLite file."""

    def __init__(
        self,
        path: Path,
        *,
        code_lifetime: float | None = None,
        clock: Callable[[], float] = time.time,
        replicated: bool = False,
    ) -> None:
        self.path = path
        # Litestream ships the WAL (issue 17): checkpoints stay PASSIVE (checkpoint.py).
        self.replicated = replicated
        # Seconds a continuation code works after its session was last used (None: no limit).
        self.code_lifetime = code_lifetime
        self.clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite_utils.Database | None = None
        self._checkpointer: Checkpointer | None = None
        self.telegram_ledger = SQLiteTelegramLedger(self)

    # -- life cycle -------------------------------------------------------------------------

    def open_sync(self) -> None:
        """Open the file, switch on WAL and apply pending migrations (blocking).

        The folder and the file are the service's alone (0700/0600), made so before SQLite
        creates anything: its WAL and shared-memory files take the database file's mode.
        """
        private_folder(self.path.parent)
        private_file(self.path)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                self.path.with_name(self.path.name + suffix).chmod(FILE_MODE)
        # Several instances started at once on a new file (issue 17): switching to WAL and
        # migrating take write locks SQLite refuses at once rather than wait for (a read
        # lock upgraded), so a refused start waits a moment and begins again.
        deadline = time.monotonic() + OPEN_WAIT_S
        while True:
            try:
                db = self._connect()
                break
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise StoreError(f"{self.path}: cannot open the database: {err}") from err
                time.sleep(0.05)
            except sqlite3.DatabaseError as err:
                raise StoreError(f"{self.path}: cannot open the database: {err}") from err
        self._db = db
        self._checkpointer = Checkpointer(self.path, truncate=not self.replicated)

    def _connect(self) -> sqlite_utils.Database:
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        try:
            db = sqlite_utils.Database(conn, execute_plugins=False)
            db.enable_wal()
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            MIGRATIONS.apply(db)
            # Checkpoints (the only fsyncs in WAL mode) run on their own connection and thread,
            # so no turn ever waits for the disk.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            # A reset of the log leaves at most this much of it on disk.
            conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        except BaseException:
            conn.close()
            raise
        return db

    async def open(self) -> None:
        """Open the database on the store's own thread."""
        await self.run(self.open_sync)

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._db is not None:
            await self.run(self._db.close)
            self._db = None
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        self._executor.shutdown(wait=True)

    @property
    def db(self) -> sqlite_utils.Database:
        """The open database; raises when ``open`` was not awaited."""
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run blocking database work on the store's thread (for the store's own modules).

        Write transactions open with ``BEGIN IMMEDIATE`` (``transaction.py``), so a writer
        waits on the busy timeout while another connection holds the lock, never fails."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def _with_db(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await self.run(lambda: fn(self.db, *args))

    # -- sessions ---------------------------------------------------------------------------

    async def load(self, key: str) -> Session | None:
        """The stored session for ``key``."""
        return await self._with_db(sessions.load, key)

    async def find_by_code(self, code: str) -> Session | None:
        """The session a live continuation code belongs to (codes are case-insensitive); an
        ended session's code, or one unused for ``code_lifetime``, finds nothing."""
        since = self.clock() - self.code_lifetime if self.code_lifetime else None
        return await self._with_db(sessions.find_by_code, code, since)

    async def seat_session(self, seat: str) -> str | None:
        """The key of the current session at a kiosk or console (``seat``), if any."""
        return await self._with_db(seats.current, seat)

    async def take_seat(self, seat: str, session_key: str) -> None:
        """From now on ``session_key`` is the session of the person at ``seat``."""
        await self._with_db(seats.take, seat, session_key, self.clock())

    def commit_turn_sync(
        self, session: Session, record: TurnRecord, effects: TurnEffects
    ) -> Session:
        """Write the session, its history row and its effects in one transaction (blocking)."""
        saved = sessions.commit_turn(self.db, session, record, effects)
        if self._checkpointer is not None:
            self._checkpointer.wrote()
        return saved

    async def commit_turn(
        self, session: Session, record: TurnRecord, effects: TurnEffects
    ) -> Session:
        """Write the session, its history row and its effects in one transaction."""
        return await self.run(self.commit_turn_sync, session, record, effects)

    async def live_activity(
        self, since: float, limit: int = 200, turns: int = 8
    ) -> list[SessionActivity]:
        """Sessions not ended used since ``since``, with their latest turns and build status
        (the staff console's live list)."""
        return await self._with_db(live.activity, since, limit, turns)

    def job_versions(self) -> SQLiteJobVersions:
        """Versions of job files edited in the staff console (issue 16, part J)."""
        return SQLiteJobVersions(self)

    def reviews(self) -> SQLiteReviewStore:
        """Reviews, published sites and sendings of artifacts (issue 16, part B)."""
        return SQLiteReviewStore(self)

    def staff_accounts(self) -> SQLiteStaffAccounts:
        """Staff accounts and failed sign-ins per address (issue 16, part A)."""
        return SQLiteStaffAccounts(self)

    async def history(self, key: str) -> list[dict[str, Any]]:
        """Every stored turn of a session, oldest first (for staff and tests)."""
        return await self._with_db(sessions.history, key)

    async def revisions(self, keys: list[str]) -> dict[str, int]:
        """The stored revision of each of ``keys`` that exists, in one read (change polling)."""
        return await self._with_db(sessions.revisions, keys)

    async def last_replies(self, key: str) -> list[dict[str, Any]]:
        """The replies of the session's latest turn that said something, as stored."""
        return await self._with_db(sessions.last_replies, key)

    async def count(self, table: str) -> int:
        """Rows in one of the store's tables."""
        return await self.run(lambda: self.db[table].count)

    # -- chat links -------------------------------------------------------------------------

    async def link(self, address: str, session_key: str) -> None:
        """From now on ``address`` (a chat) talks to ``session_key``."""
        await self._with_db(links.link, address, session_key)

    async def linked(self, address: str) -> str | None:
        """The session a chat continues, if it continued another one."""
        return await self._with_db(links.linked, address)

    async def addresses(self, session_key: str, prefix: str) -> list[str]:
        """The chats (addresses starting with ``prefix``) that continue ``session_key``."""
        return await self._with_db(links.addresses, session_key, prefix)

    # -- the generation queue ---------------------------------------------------------------

    async def enqueue_running(self, request: GenerationRequest) -> int:
        """A task that the caller runs at once itself (``assistant generate``)."""
        return await self._with_db(generations.enqueue_running, request)

    async def requeue_interrupted(self) -> int:
        """Tasks left ``running`` by a crash go back to ``pending``."""
        count = await self._with_db(generations.requeue_interrupted)
        if count:
            _LOGGER.warning("put %d interrupted generation task(s) back in the queue", count)
        return count

    async def claim_next(self) -> GenerationTask | None:
        """Mark the oldest pending task running and return it."""
        return await self._with_db(generations.claim_next)

    async def claim(self, task_id: int, lease_s: float) -> GenerationTask | None:
        """Take one named task for a Celery worker (``generations.claim``)."""
        return await self._with_db(generations.claim, task_id, lease_s)

    async def unbuilt(self, stale_before: float) -> list[int]:
        """Tasks waiting, or running past their lease (``generations.unbuilt``)."""
        return await self._with_db(generations.unbuilt, stale_before)

    async def unheard(self) -> list[tuple[GenerationRequest, str, str | None]]:
        """Ended builds whose sessions still wait (``generations.unheard``)."""
        return await self._with_db(generations.unheard)

    async def finish(self, task_id: int, artifact: Artifact) -> bool:
        """Store the artifact and close the task; False if it was cancelled meanwhile."""
        return await self._with_db(generations.finish, task_id, artifact)

    async def fail(self, task_id: int, code: str, message: str) -> None:
        """Record a failed task with its reason for staff."""
        await self._with_db(generations.fail, task_id, code, message)

    async def generation_status(self, task_id: int) -> str | None:
        """The status of one queued task."""
        return await self._with_db(generations.status, task_id)

    async def depth(self) -> int:
        """Tasks pending or running."""
        return await self._with_db(generations.depth)

    # -- artifacts and health ---------------------------------------------------------------

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """One stored artifact by its id."""
        return await self.run(lambda: artifacts.by_id(self.db.conn, artifact_id))

    async def artifact_by_token(self, token: str) -> Artifact | None:
        """The artifact a download or preview link names (expiry is the caller's to check)."""
        return await self.run(lambda: artifacts.by_token(self.db.conn, token))

    # -- attempts per address and retention (issue 12, part D) -------------------------------

    async def record_attempt(self, kind: str, address: str, code: str, at: float) -> None:
        """One attempt of ``kind`` from ``address``; ``code`` is what was tried, or ""."""
        await self._with_db(attempts.record, kind, address, code, at)

    async def count_attempts(
        self, kind: str, address: str, since: float, *, distinct: bool = False
    ) -> int:
        """Attempts since ``since``; with ``distinct``, different codes only."""
        return await self.run(
            lambda: attempts.count(self.db, kind, address, since, distinct=distinct)
        )

    async def clean_up(
        self, policy: RetentionPolicy, now: float, busy: frozenset[str], *, dry_run: bool
    ) -> CleanupReport:
        """Remove (or only count) the rows past ``policy``, in one transaction."""
        report = await self.run(
            lambda: retention.clean_up(self.db, policy, now, busy, dry_run=dry_run)
        )
        if not dry_run and self._checkpointer is not None:
            self._checkpointer.wrote(bulk=True)
        return report

    async def record_cleanup(self, report: CleanupReport) -> None:
        """Keep the run for staff."""
        await self._with_db(retention.record, report)

    async def last_cleanup(self) -> CleanupReport | None:
        """The latest run that was not a dry run, if any."""
        return await self._with_db(retention.last)

    async def strings_in_use(self) -> frozenset[str]:
        """Every text value in kept sessions' answers and in tasks still to build."""
        return await self._with_db(retention.strings_in_use)

    # -- the audit log and the staff figures (issue 16, part C) -----------------------------

    async def append_audit(self, row: dict[str, Any]) -> int:
        """Add one entry to the append-only audit log; returns its id."""
        return await self._with_db(audit.append, row)

    async def search_audit(self, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Audit entries matching ``filters``, newest first (``assistant/store/audit.py``)."""
        return await self._with_db(audit.search, filters, limit)

    async def latest_session_acts(
        self, keys: list[str], actions: Collection[str]
    ) -> dict[str, tuple[str, str]]:
        """Each session's newest audit entry among ``actions``: (who, action)."""
        return await self._with_db(audit.latest_acts, keys, actions)

    async def figures(self, since: float) -> dict[str, list[tuple[Any, ...]]]:
        """The raw numbers behind the staff charts since ``since`` (``store/stats.py``)."""
        return await self._with_db(stats.figures, since)

    async def ping(self) -> bool:
        """Whether the database answers a query."""
        try:
            await self.run(lambda: self.db.conn.execute("SELECT 1").fetchone())
        except (StoreError, sqlite3.DatabaseError):
            return False
        return True
