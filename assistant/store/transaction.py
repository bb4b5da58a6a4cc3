"""Write transactions that take the writer's lock first (``BEGIN IMMEDIATE``).

In WAL mode a transaction opened with a plain ``BEGIN`` takes the writer's lock only at its
first write. When it has read before that (``claim_next`` and ``finish`` look at a task's
status, then update it) and another connection holds the lock at that moment (the
checkpointer's TRUNCATE), SQLite cannot wait for it without risking a deadlock, so it fails
at once with "database is locked", ignoring the busy timeout: in a burst of 2,000 deliveries
that killed the generation workers. ``BEGIN IMMEDIATE`` takes the lock before the first
read, where waiting is safe, so the writer waits on the busy timeout instead of failing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlite_utils


@contextlib.contextmanager
def writing(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction, committed at the end and rolled back on any error; inside
    another transaction it is a savepoint of that one (as ``db.atomic()``)."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:  # an error may have ended the transaction already
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
