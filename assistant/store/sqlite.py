"""SQLite persistence with sqlite-utils: sessions, turn history, the generation queue, artifacts.

One file in the data folder, WAL mode, schema changes as registered ``Migrations``. All
database work runs on one dedicated thread so the event loop never blocks and the connection
is only ever touched from one thread. A turn's session change, its history row and its queue
effect are committed together, before the reply reaches the user.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from sqlite_utils.migrations import Migrations

from assistant.errors import StoreError
from assistant.events import SessionState
from assistant.ports import GenerationTask, TurnEffects
from assistant.session import (
    Artifact,
    GenerationRequest,
    Session,
    TurnRecord,
    new_code,
    pending_from_json,
    pending_to_json,
)

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")

MIGRATIONS = Migrations("facility_assistant")


@MIGRATIONS()
def m001_initial(db: sqlite_utils.Database) -> None:
    """Sessions, turns, the generation queue and artifacts."""
    db["sessions"].create(
        {
            "key": str,
            "code": str,
            "language": str,
            "channel": str,
            "state": str,
            "job_id": str,
            "idx": int,
            "answers": str,
            "edit_id": str,
            "paused": int,
            "preferences": str,
            "generation_id": int,
            "series": str,
            "version": int,
            "artifact_id": str,
            "revision": int,
            "created": float,
            "updated": float,
        },
        pk="key",
        not_null={"code", "language", "channel", "state", "revision"},
    )
    db["sessions"].create_index(["code"], unique=True)
    db["turns"].create(
        {
            "id": int,
            "session_key": str,
            "at": float,
            "channel": str,
            "text": str,
            "state_before": str,
            "state_after": str,
            "replies": str,
        },
        pk="id",
    )
    db["turns"].create_index(["session_key", "id"])
    db["generations"].create(
        {
            "id": int,
            "session_key": str,
            "job_id": str,
            "language": str,
            "answers": str,
            "series": str,
            "version": int,
            "status": str,
            "attempts": int,
            "created": float,
            "started": float,
            "finished": float,
            "artifact_id": str,
            "error_code": str,
            "error_message": str,
        },
        pk="id",
    )
    db["generations"].create_index(["status", "id"])
    db["artifacts"].create(
        {
            "id": str,
            "series": str,
            "version": int,
            "session_key": str,
            "job_id": str,
            "folder": str,
            "files": str,
            "manifest": str,
            "created": float,
        },
        pk="id",
    )
    db["artifacts"].create_index(["series", "version"], unique=True)


@MIGRATIONS()
def m002_artifact_links(db: sqlite_utils.Database) -> None:
    """Unguessable download tokens and optional expiry for delivery links."""
    db["artifacts"].add_column("token", str)
    db["artifacts"].add_column("expires", float)
    db["artifacts"].create_index(["token"], unique=True)


@MIGRATIONS()
def m003_pending_answer(db: sqlite_utils.Database) -> None:
    """An answer heard unsurely, waiting for the user's yes before it is kept."""
    db["sessions"].add_column("pending", str)


@MIGRATIONS()
def m004_channel_links(db: sqlite_utils.Database) -> None:
    """Which session a chat continues (after /resume CODE), and updates already handled.

    Chat platforms deliver updates at least once: after a restart the same update can come
    again, and it must not become a second turn.
    """
    db["channel_links"].create({"address": str, "session_key": str, "updated": float}, pk="address")
    db["channel_links"].create_index(["session_key"])
    db["seen_updates"].create(
        {"source": str, "update_id": int, "at": float}, pk=("source", "update_id")
    )


@MIGRATIONS()
def m005_ask_next(db: sqlite_utils.Database) -> None:
    """Questions still to ask after a free description filled the others (auto mode)."""
    db["sessions"].add_column("ask_next", str)


_SESSION_COLUMNS = (
    "key", "code", "language", "channel", "state", "job_id", "idx", "answers", "edit_id",
    "paused", "preferences", "generation_id", "series", "version", "artifact_id", "pending",
    "ask_next", "revision", "created", "updated",
)  # fmt: skip
_SELECT_SESSION = f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions"
_INSERT_SESSION = (
    f"INSERT INTO sessions ({', '.join(_SESSION_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _SESSION_COLUMNS)})"
)
_UPDATE_SESSION = (
    "UPDATE sessions SET "
    + ", ".join(f"{c} = ?" for c in _SESSION_COLUMNS[1:])
    + " WHERE key = ? AND revision = ?"
)


def _session_row(session: Session) -> tuple[Any, ...]:
    return (
        session.key, session.code, session.language, session.channel, session.state.value,
        session.job_id, session.index, json.dumps(session.answers, ensure_ascii=False),
        session.edit_id, int(session.paused),
        json.dumps(session.preferences, ensure_ascii=False), session.generation_id,
        session.series, session.version, session.artifact_id,
        json.dumps(pending_to_json(session.pending), ensure_ascii=False)
        if session.pending else None,
        json.dumps(session.ask_next) if session.ask_next else None,
        session.revision, session.created, session.updated,
    )  # fmt: skip


def _session_from_row(row: tuple[Any, ...]) -> Session:
    values = dict(zip(_SESSION_COLUMNS, row, strict=True))
    return Session(
        key=values["key"], code=values["code"], language=values["language"],
        channel=values["channel"], state=SessionState(values["state"]), job_id=values["job_id"],
        index=values["idx"] or 0, answers=json.loads(values["answers"] or "{}"),
        edit_id=values["edit_id"], paused=bool(values["paused"]),
        preferences=json.loads(values["preferences"] or "{}"),
        generation_id=values["generation_id"], series=values["series"],
        version=values["version"] or 0, artifact_id=values["artifact_id"],
        pending=pending_from_json(json.loads(values["pending"])) if values["pending"] else None,
        ask_next=json.loads(values["ask_next"]) if values["ask_next"] else [],
        revision=values["revision"],
        created=values["created"] or 0.0, updated=values["updated"] or 0.0,
    )  # fmt: skip


class SQLiteStore:
    """The session store and generation queue store, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite_utils.Database | None = None
        self._checkpointer: _Checkpointer | None = None

    # -- life cycle -------------------------------------------------------------------------

    def open_sync(self) -> None:
        """Open the file, switch on WAL and apply pending migrations (blocking)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            db = sqlite_utils.Database(conn, execute_plugins=False)
            db.enable_wal()
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            MIGRATIONS.apply(db)
            # Checkpoints (the only fsyncs in WAL mode) run on their own connection and thread,
            # so no turn ever waits for the disk.
            conn.execute("PRAGMA wal_autocheckpoint=0")
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path}: cannot open the database: {err}") from err
        self._db = db
        self._checkpointer = _Checkpointer(self.path)

    async def open(self) -> None:
        """Open the database on the store's own thread."""
        await self._run(self.open_sync)

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        if self._db is not None:
            await self._run(self._db.close)
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

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def call(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``fn`` with the connection on the store's thread, for a channel's own tables.

        A second connection writing the same file would make the store's read-then-write
        transactions fail with "database is locked" (a WAL snapshot gone stale), so channels
        that keep state of their own (the Telegram ledger) write through this one.
        """
        return await self._run(lambda: fn(self.db.conn))

    # -- sessions ---------------------------------------------------------------------------

    def load_sync(self, key: str) -> Session | None:
        """The stored session for ``key`` (blocking)."""
        row = self.db.conn.execute(f"{_SELECT_SESSION} WHERE key = ?", (key,)).fetchone()
        return _session_from_row(row) if row else None

    async def load(self, key: str) -> Session | None:
        """The stored session for ``key``."""
        return await self._run(self.load_sync, key)

    async def find_by_code(self, code: str) -> Session | None:
        """The session a continuation code belongs to (codes are case-insensitive)."""

        def find() -> Session | None:
            row = self.db.conn.execute(
                f"{_SELECT_SESSION} WHERE code = ?", (code.strip().upper(),)
            ).fetchone()
            return _session_from_row(row) if row else None

        return await self._run(find)

    def commit_turn_sync(
        self, session: Session, record: TurnRecord, effects: TurnEffects
    ) -> Session:
        """Write the session, its history row and its effects in one transaction (blocking)."""
        db = self.db
        now = record.at
        saved = replace(session)
        saved.updated = now
        if not saved.created:
            saved.created = now
        try:
            with db.atomic():
                conn = db.conn
                if effects.cancel_generation is not None:
                    conn.execute(
                        "UPDATE generations SET status = 'cancelled', finished = ? "
                        "WHERE id = ? AND status IN ('pending', 'running')",
                        (now, effects.cancel_generation),
                    )
                if effects.enqueue is not None:
                    saved.generation_id = self._enqueue(conn, effects.enqueue, now)
                previous = saved.revision
                saved.revision = previous + 1
                if previous == 0:
                    self._insert_session(conn, saved)
                else:
                    cursor = conn.execute(
                        _UPDATE_SESSION, (*_session_row(saved)[1:], saved.key, previous)
                    )
                    if cursor.rowcount != 1:
                        raise StoreError(
                            f"session {saved.key!r} was changed elsewhere; the turn was not saved",
                            code="session_conflict",
                        )
                conn.execute(
                    "INSERT INTO turns (session_key, at, channel, text, state_before, "
                    "state_after, replies) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.session_key, record.at, record.channel, record.text,
                        record.state_before, record.state_after,
                        json.dumps(record.replies, ensure_ascii=False),
                    ),
                )  # fmt: skip
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot save the turn of {session.key!r}: {err}") from err
        if self._checkpointer is not None:
            self._checkpointer.wrote()
        return saved

    async def commit_turn(
        self, session: Session, record: TurnRecord, effects: TurnEffects
    ) -> Session:
        """Write the session, its history row and its effects in one transaction."""
        return await self._run(self.commit_turn_sync, session, record, effects)

    @staticmethod
    def _insert_session(conn: sqlite3.Connection, session: Session) -> None:
        for _ in range(8):
            try:
                conn.execute(_INSERT_SESSION, _session_row(session))
                return
            except sqlite3.IntegrityError as err:
                if "code" not in str(err):
                    raise StoreError(
                        f"session {session.key!r} already exists; the turn was not saved",
                        code="session_conflict",
                    ) from err
                session.code = new_code()
        raise StoreError("could not find a free continuation code")

    async def history(self, key: str) -> list[dict[str, Any]]:
        """Every stored turn of a session, oldest first (for staff and tests)."""

        def read() -> list[dict[str, Any]]:
            rows = self.db["turns"].rows_where("session_key = ?", [key], order_by="id")
            return [{**row, "replies": json.loads(row["replies"])} for row in rows]

        return await self._run(read)

    async def link(self, address: str, session_key: str) -> None:
        """From now on ``address`` (a chat) talks to ``session_key``."""
        row = {"address": address, "session_key": session_key, "updated": time.time()}
        await self._run(lambda: self.db["channel_links"].upsert(row, pk="address"))

    async def linked(self, address: str) -> str | None:
        """The session a chat continues, if it continued another one."""

        def read() -> str | None:
            row = self.db.execute(
                "SELECT session_key FROM channel_links WHERE address = ?", [address]
            ).fetchone()
            return row[0] if row else None

        return await self._run(read)

    async def addresses(self, session_key: str, prefix: str) -> list[str]:
        """The chats (addresses starting with ``prefix``) that continue ``session_key``."""

        def read() -> list[str]:
            rows = self.db.execute(
                "SELECT address FROM channel_links WHERE session_key = ? AND address LIKE ?",
                [session_key, prefix + "%"],
            ).fetchall()
            return [row[0] for row in rows]

        return await self._run(read)

    async def first_time(self, source: str, update_id: int) -> bool:
        """Record an update; False when it was handled before (a redelivery)."""

        def record() -> bool:
            with self.db.conn:
                cursor = self.db.conn.execute(
                    "INSERT OR IGNORE INTO seen_updates (source, update_id, at) VALUES (?, ?, ?)",
                    (source, update_id, time.time()),
                )
            return cursor.rowcount == 1

        return await self._run(record)

    async def revisions(self, keys: list[str]) -> dict[str, int]:
        """The stored revision of each of ``keys`` that exists, in one read (change polling)."""

        def read() -> dict[str, int]:
            found: dict[str, int] = {}
            for start in range(0, len(keys), 500):  # under SQLite's variable limit
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = self.db.execute(
                    f"SELECT key, revision FROM sessions WHERE key IN ({marks})", part
                ).fetchall()
                found.update({str(key): int(revision) for key, revision in rows})
            return found

        return await self._run(read)

    async def last_replies(self, key: str) -> list[dict[str, Any]]:
        """The replies of the session's latest turn that said something, as stored."""

        def read() -> list[dict[str, Any]]:
            row = self.db.execute(
                "SELECT replies FROM turns WHERE session_key = ? AND replies != '[]' "
                "ORDER BY id DESC LIMIT 1",
                [key],
            ).fetchone()
            return json.loads(row[0]) if row else []

        return await self._run(read)

    async def count(self, table: str) -> int:
        """Rows in one of the store's tables."""
        return await self._run(lambda: self.db[table].count)

    # -- the generation queue ---------------------------------------------------------------

    @staticmethod
    def _enqueue(conn: sqlite3.Connection, request: GenerationRequest, now: float) -> int:
        cursor = conn.execute(
            "INSERT INTO generations (session_key, job_id, language, answers, series, version, "
            "status, attempts, created) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
            (
                request.session_key, request.job_id, request.language,
                json.dumps(request.answers, ensure_ascii=False), request.series,
                request.version, now,
            ),
        )  # fmt: skip
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def enqueue_running(self, request: GenerationRequest) -> int:
        """A task that the caller runs at once itself (``assistant generate``)."""

        def enqueue() -> int:
            with self.db.atomic():
                task_id = self._enqueue(self.db.conn, request, time.time())
                self.db.conn.execute(
                    "UPDATE generations SET status = 'running', attempts = 1, started = ? "
                    "WHERE id = ?",
                    (time.time(), task_id),
                )
            return task_id

        return await self._run(enqueue)

    async def requeue_interrupted(self) -> int:
        """Tasks left ``running`` by a crash go back to ``pending``."""

        def requeue() -> int:
            with self.db.atomic():
                cursor = self.db.conn.execute(
                    "UPDATE generations SET status = 'pending' WHERE status = 'running'"
                )
            return cursor.rowcount

        count = await self._run(requeue)
        if count:
            _LOGGER.warning("put %d interrupted generation task(s) back in the queue", count)
        return count

    async def claim_next(self) -> GenerationTask | None:
        """Mark the oldest pending task running and return it."""

        def claim() -> GenerationTask | None:
            with self.db.atomic():
                row = self.db.conn.execute(
                    "SELECT id, session_key, job_id, language, answers, series, version, "
                    "attempts FROM generations WHERE status = 'pending' ORDER BY id LIMIT 1"
                ).fetchone()
                if row is None:
                    return None
                cursor = self.db.conn.execute(
                    "UPDATE generations SET status = 'running', attempts = attempts + 1, "
                    "started = ? WHERE id = ? AND status = 'pending'",
                    (time.time(), row[0]),
                )
                if cursor.rowcount != 1:  # another process took it first
                    return None
            request = GenerationRequest(
                id=row[0], session_key=row[1], job_id=row[2], language=row[3],
                answers=json.loads(row[4]), series=row[5], version=row[6],
            )  # fmt: skip
            return GenerationTask(request=request, attempts=row[7] + 1)

        return await self._run(claim)

    async def finish(self, task_id: int, artifact: Artifact) -> bool:
        """Store the artifact and close the task; False if it was cancelled meanwhile."""

        def finish() -> bool:
            with self.db.atomic():
                conn = self.db.conn
                row = conn.execute(
                    "SELECT status FROM generations WHERE id = ?", (task_id,)
                ).fetchone()
                if row is None or row[0] != "running":
                    return False
                conn.execute(
                    "INSERT INTO artifacts (id, series, version, session_key, job_id, folder, "
                    "files, manifest, created, token, expires) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        artifact.id, artifact.series, artifact.version, artifact.session_key,
                        artifact.job_id, artifact.folder, json.dumps(list(artifact.files)),
                        json.dumps(artifact.manifest, ensure_ascii=False), artifact.created,
                        artifact.token, artifact.expires,
                    ),
                )  # fmt: skip
                conn.execute(
                    "UPDATE generations SET status = 'done', finished = ?, artifact_id = ? "
                    "WHERE id = ?",
                    (time.time(), artifact.id, task_id),
                )
            return True

        return await self._run(finish)

    async def fail(self, task_id: int, code: str, message: str) -> None:
        """Record a failed task with its reason for staff."""

        def fail() -> None:
            with self.db.atomic():
                self.db.conn.execute(
                    "UPDATE generations SET status = 'failed', finished = ?, error_code = ?, "
                    "error_message = ? WHERE id = ? AND status = 'running'",
                    (time.time(), code, message, task_id),
                )

        await self._run(fail)

    async def generation_status(self, task_id: int) -> str | None:
        """The status of one queued task."""

        def status() -> str | None:
            row = self.db.conn.execute(
                "SELECT status FROM generations WHERE id = ?", (task_id,)
            ).fetchone()
            return row[0] if row else None

        return await self._run(status)

    async def depth(self) -> int:
        """Tasks pending or running."""

        def depth() -> int:
            row = self.db.conn.execute(
                "SELECT count(*) FROM generations WHERE status IN ('pending', 'running')"
            ).fetchone()
            return int(row[0])

        return await self._run(depth)

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """One stored artifact by its id."""
        return await self._run(self._artifact_where, "id", artifact_id)

    async def artifact_by_token(self, token: str) -> Artifact | None:
        """The artifact a download or preview link names (expiry is the caller's to check)."""
        return await self._run(self._artifact_where, "token", token)

    def _artifact_where(self, column: str, value: str) -> Artifact | None:
        row = self.db.conn.execute(
            "SELECT id, series, version, session_key, job_id, folder, files, manifest, "
            f"created, token, expires FROM artifacts WHERE {column} = ?",
            (value,),
        ).fetchone()
        if row is None:
            return None
        return Artifact(
            id=row[0], series=row[1], version=row[2], session_key=row[3], job_id=row[4],
            folder=row[5], files=tuple(json.loads(row[6])), manifest=json.loads(row[7]),
            created=row[8], token=row[9] or "", expires=row[10],
        )  # fmt: skip

    async def ping(self) -> bool:
        """Whether the database answers a query."""
        try:
            await self._run(lambda: self.db.conn.execute("SELECT 1").fetchone())
        except (StoreError, sqlite3.DatabaseError):
            return False
        return True


class _Checkpointer:
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
