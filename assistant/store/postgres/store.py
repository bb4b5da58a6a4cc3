"""``PostgresStore``: every port of the SQLite store over one PostgreSQL database (issue 17).

Sessions and turns, the generation queue (with the Celery workers' claims), artifacts and
their reviews, sites and sendings, chat links and seats, the Telegram ledger, attempts per
address and the retention clean-up, the audit log, staff accounts, job versions, the live
list and the staff figures, with the behaviour of the SQLite store
(``tests/test_store_ports*.py`` run one suite on both). Unlike SQLite, several processes on
several machines share it: revisions refuse a stale writer, claims skip rows another worker
holds, a task is put back only when its owner is gone, slugs, version numbers and sign-in
failures are taken atomically, and two clean-ups run one after the other. The SQL of each
concern is its own module beside this one; this class only composes.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from assistant.errors import StoreError
from assistant.ledger import TelegramLedgerStore
from assistant.ports import (
    ArtifactStore,
    ChatLinkStore,
    ClusterQueueStore,
    GenerationQueueStore,
    GenerationTask,
    SessionStore,
    TurnEffects,
)
from assistant.review import ReviewStore
from assistant.session import Artifact, GenerationRequest, Session, TurnRecord
from assistant.staff.live import SessionActivity
from assistant.store.postgres import (
    artifacts,
    attempts,
    audit,
    claims,
    links,
    live,
    queue,
    retention,
    sessions,
    stats,
    tables,
    turns,
)
from assistant.store.postgres.database import Database
from assistant.store.postgres.job_versions import PostgresJobVersions
from assistant.store.postgres.lease import OwnerLease
from assistant.store.postgres.ledger import PostgresTelegramLedger
from assistant.store.postgres.migrate import migrate
from assistant.store.postgres.review import PostgresReviewStore
from assistant.store.postgres.staff_accounts import PostgresStaffAccounts

if TYPE_CHECKING:
    from assistant.staff.accounts import AccountStore
    from assistant.staff.audit import AuditStore
    from assistant.staff.job_editing import JobVersionStore
    from assistant.staff.metrics import FiguresStore
from assistant.upkeep_ports import AttemptStore, CleanupReport, RetentionPolicy, RetentionStore

_LOGGER = logging.getLogger(__name__)


class PostgresStore:
    """Sessions, the generation queue, artifacts and chat links in one PostgreSQL database."""

    def __init__(
        self,
        url: str,
        *,
        code_lifetime: float | None = None,
        clock: Callable[[], float] = time.time,
        pool_size: int = 10,
        connect_within_s: float = 30.0,
    ) -> None:
        self.url = url
        # Seconds a continuation code works after its session was last used (None: no limit).
        self.code_lifetime = code_lifetime
        self.clock = clock
        self.db = Database(url, max_size=pool_size)
        self.connect_within_s = connect_within_s  # how long ``open`` tries to reach the server
        self.lease = OwnerLease(url)

    # -- life cycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, apply pending migrations and take this process's lease."""
        await self.db.open(self.connect_within_s)
        try:
            await migrate(self.db)
            await self.lease.open()
        except BaseException:
            await self.db.close()
            raise

    async def close(self) -> None:
        """Give the lease up and close the connections."""
        await self.lease.close()
        await self.db.close()

    async def ping(self) -> bool:
        """Whether the database answers a query now."""
        try:
            async with self.db.connection() as conn:
                await conn.execute("SELECT 1")
        except StoreError:  # the pool's timeouts are psycopg errors too, made StoreError
            return False
        return True

    # -- sessions ---------------------------------------------------------------------------

    async def load(self, key: str) -> Session | None:
        """The stored session for ``key``."""
        async with self.db.connection() as conn:
            return await sessions.load(conn, key)

    async def find_by_code(self, code: str) -> Session | None:
        """The session a live continuation code belongs to (codes are case-insensitive); an
        ended session's code, or one unused for ``code_lifetime``, finds nothing."""
        since = self.clock() - self.code_lifetime if self.code_lifetime else None
        async with self.db.connection() as conn:
            return await sessions.find_by_code(conn, code, since)

    async def commit_turn(
        self, session: Session, record: TurnRecord, effects: TurnEffects
    ) -> Session:
        """Write the session, its history row and its effects in one transaction."""
        async with self.db.transaction() as conn:
            return await sessions.commit_turn(conn, session, record, effects)

    async def revisions(self, keys: list[str]) -> dict[str, int]:
        """The stored revision of each of ``keys`` that exists, in one read (change polling)."""
        if not keys:
            return {}
        async with self.db.connection() as conn:
            return await sessions.revisions(conn, keys)

    async def history(self, key: str) -> list[dict[str, Any]]:
        """Every stored turn of a session, oldest first (for staff and tests)."""
        async with self.db.connection() as conn:
            return await turns.history(conn, key)

    async def last_replies(self, key: str) -> list[dict[str, Any]]:
        """The replies of the session's latest turn that said something, as stored."""
        async with self.db.connection() as conn:
            return await turns.last_replies(conn, key)

    async def seat_session(self, seat: str) -> str | None:
        """The key of the current session at a kiosk or console (``seat``), if any."""
        async with self.db.connection() as conn:
            return await links.seat_session(conn, seat)

    async def take_seat(self, seat: str, session_key: str) -> None:
        """From now on ``session_key`` is the session of the person at ``seat``."""
        async with self.db.connection() as conn:
            await links.take_seat(conn, seat, session_key, self.clock())

    # -- chat links -------------------------------------------------------------------------

    async def link(self, address: str, session_key: str) -> None:
        """From now on ``address`` (a chat) talks to ``session_key``."""
        async with self.db.connection() as conn:
            await links.link(conn, address, session_key, time.time())

    async def linked(self, address: str) -> str | None:
        """The session a chat continues, if it continued another one."""
        async with self.db.connection() as conn:
            return await links.linked(conn, address)

    async def addresses(self, session_key: str, prefix: str) -> list[str]:
        """The chats (addresses starting with ``prefix``) that continue ``session_key``."""
        async with self.db.connection() as conn:
            return await links.addresses(conn, session_key, prefix)

    # -- the generation queue ---------------------------------------------------------------

    async def enqueue_running(self, request: GenerationRequest) -> int:
        """A task that the caller runs at once itself (``assistant generate``)."""
        async with self.db.connection() as conn:
            return await queue.enqueue_running(conn, request, self.lease.key)

    async def requeue_interrupted(self) -> int:
        """Tasks whose process died while running them wait again (never a live one's)."""
        async with self.db.connection() as conn:
            count = await queue.requeue_interrupted(conn, self.lease.key)
        if count:
            _LOGGER.warning("put %d interrupted generation task(s) back in the queue", count)
        return count

    async def claim_next(self) -> GenerationTask | None:
        """Mark the oldest waiting task running, as this process's, and return it."""
        async with self.db.connection() as conn:
            return await queue.claim_next(conn, self.lease.key)

    async def finish(self, task_id: int, artifact: Artifact) -> bool:
        """Store the artifact and close the task; False if it was cancelled meanwhile."""
        async with self.db.transaction() as conn:
            return await queue.finish(conn, task_id, artifact)

    async def fail(self, task_id: int, code: str, message: str) -> None:
        """Record a failed task with its reason for staff."""
        async with self.db.connection() as conn:
            await queue.fail(conn, task_id, code, message)

    async def generation_status(self, task_id: int) -> str | None:
        """The status of one queued task."""
        async with self.db.connection() as conn:
            return await queue.status(conn, task_id)

    async def depth(self) -> int:
        """Tasks waiting or running."""
        async with self.db.connection() as conn:
            return await queue.depth(conn)

    # -- artifacts --------------------------------------------------------------------------

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """One stored artifact by its id."""
        async with self.db.connection() as conn:
            return await artifacts.by_id(conn, artifact_id)

    async def artifact_by_token(self, token: str) -> Artifact | None:
        """The artifact a download or preview link names (expiry is the caller's to check)."""
        async with self.db.connection() as conn:
            return await artifacts.by_token(conn, token)

    # -- review, publishing and sending; the Celery queue's claims (pg-review) --------------

    def reviews(self) -> PostgresReviewStore:
        """Reviews, published sites and sendings of artifacts (issue 16, part B)."""
        return PostgresReviewStore(self.db)

    async def claim(self, task_id: int, lease_s: float) -> GenerationTask | None:
        """Take one named task for a Celery worker, as this process's (``claims.claim``)."""
        async with self.db.connection() as conn:
            return await claims.claim(conn, task_id, lease_s, self.lease.key)

    async def unbuilt(self, stale_before: float) -> list[int]:
        """Tasks waiting, or running past their lease (``claims.unbuilt``)."""
        async with self.db.connection() as conn:
            return await claims.unbuilt(conn, stale_before)

    async def unheard(self) -> list[tuple[GenerationRequest, str, str | None]]:
        """Ended builds whose sessions still wait (``claims.unheard``)."""
        async with self.db.connection() as conn:
            return await claims.unheard(conn)

    # -- the staff console: audit log, figures, live list, job versions, accounts (pg-staff) --

    async def append_audit(self, row: dict[str, Any]) -> int:
        """Add one entry to the append-only audit log; returns its id."""
        async with self.db.connection() as conn:
            return await audit.append(conn, row)

    async def search_audit(self, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Audit entries matching ``filters``, newest first, at most ``limit`` (0: all)."""
        async with self.db.connection() as conn:
            return await audit.search(conn, filters, limit)

    async def latest_session_acts(
        self, keys: list[str], actions: Collection[str]
    ) -> dict[str, tuple[str, str]]:
        """Each session's newest audit entry among ``actions``: (who, action)."""
        async with self.db.connection() as conn:
            return await audit.latest_acts(conn, keys, actions)

    async def figures(self, since: float) -> dict[str, list[tuple[Any, ...]]]:
        """The raw numbers behind the staff charts since ``since``, in one snapshot."""
        async with self.db.transaction() as conn:
            return await stats.figures(conn, since)

    async def live_activity(
        self, since: float, limit: int = 200, turns: int = 8
    ) -> list[SessionActivity]:
        """Sessions not ended used since ``since``, with their latest turns, build status and
        staff act (the console's live list), in one snapshot."""
        async with self.db.transaction() as conn:
            return await live.activity(conn, since, limit, turns)

    def job_versions(self) -> PostgresJobVersions:
        """Versions of job files edited in the staff console."""
        return PostgresJobVersions(self.db)

    def staff_accounts(self) -> PostgresStaffAccounts:
        """Staff accounts and failed sign-ins per address."""
        return PostgresStaffAccounts(self.db)

    # -- upkeep: attempts per address, retention, counts, the Telegram ledger (pg-upkeep) ----

    async def record_attempt(self, kind: str, address: str, code: str, at: float) -> None:
        """One attempt of ``kind`` from ``address``; ``code`` is what was tried, or ""."""
        async with self.db.connection() as conn:
            await attempts.record(conn, kind, address, code, at)

    async def count_attempts(
        self, kind: str, address: str, since: float, *, distinct: bool = False
    ) -> int:
        """Attempts since ``since``; with ``distinct``, different codes only."""
        async with self.db.connection() as conn:
            return await attempts.count(conn, kind, address, since, distinct=distinct)

    async def clean_up(
        self, policy: RetentionPolicy, now: float, busy: frozenset[str], *, dry_run: bool
    ) -> CleanupReport:
        """Remove (or only count) the rows past ``policy``, in one transaction."""
        async with self.db.connection() as conn:
            return await retention.clean_up(conn, policy, now, busy, dry_run=dry_run)

    async def record_cleanup(self, report: CleanupReport) -> None:
        """Keep the run for staff."""
        async with self.db.connection() as conn:
            await retention.record(conn, report)

    async def last_cleanup(self) -> CleanupReport | None:
        """The latest run that was not a dry run, if any."""
        async with self.db.connection() as conn:
            return await retention.last(conn)

    async def strings_in_use(self) -> frozenset[str]:
        """Every text value in kept sessions' answers and in tasks still to build."""
        async with self.db.connection() as conn:
            return await retention.strings_in_use(conn)

    async def count(self, table: str) -> int:
        """Rows in one of the store's tables (``tables.TABLES``)."""
        async with self.db.connection() as conn:
            return await tables.count(conn, table)

    @functools.cached_property
    def telegram_ledger(self) -> PostgresTelegramLedger:
        """The Telegram channel's inbox and outbox (``assistant/ledger.py``)."""
        return PostgresTelegramLedger(self.db)


if TYPE_CHECKING:  # mypy proves the class serves the four core ports, signature by signature

    def _serves_the_core_ports(
        store: PostgresStore,
    ) -> tuple[SessionStore, GenerationQueueStore, ArtifactStore, ChatLinkStore]:
        return store, store, store, store


if TYPE_CHECKING:  # and the ports of review and of the Celery queue (pg-review)

    def _serves_the_review_ports(store: PostgresStore) -> tuple[ReviewStore, ClusterQueueStore]:
        return store.reviews(), store

    def _serves_the_staff_ports(
        store: PostgresStore,
    ) -> tuple[AuditStore, FiguresStore, JobVersionStore, AccountStore]:
        return store, store, store.job_versions(), store.staff_accounts()

    def _serves_the_upkeep_ports(
        store: PostgresStore,
    ) -> tuple[AttemptStore, RetentionStore, TelegramLedgerStore]:
        return store, store, store.telegram_ledger
