"""Staff accounts (``assistant/staff``) in the store's SQLite file (issue 16, part A).

Every read and write runs on the store's own connection and thread, like the Telegram
ledger: a second connection writing the file would make the store's transactions wait.
Failed sign-ins per address go to the store's ``attempts`` table (kind ``staff_sign_in``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlite_utils

from assistant.staff.accounts import Account
from assistant.store import attempts
from assistant.store.transaction import writing

if TYPE_CHECKING:
    from assistant.store.sqlite import SQLiteStore

ATTEMPT_KIND = "staff_sign_in"
COLUMNS = (
    "name, role, password_hash, disabled, totp_secret, created, failures, first_failure, "
    "locked_until, session_epoch, totp_last_step"
)
CHANGEABLE = {"password_hash", "disabled", "totp_secret", "failures", "first_failure",
              "locked_until", "role", "session_epoch", "totp_last_step"}  # fmt: skip


def _row(cursor_row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip([c.strip() for c in COLUMNS.split(",")], cursor_row, strict=True))


def get(db: sqlite_utils.Database, name: str) -> Account | None:
    """One account by name (blocking)."""
    found = db.conn.execute(
        f"SELECT {COLUMNS} FROM staff_accounts WHERE name = ?", (name,)
    ).fetchone()
    return Account.from_row(_row(found)) if found else None


def every(db: sqlite_utils.Database) -> list[Account]:
    """Every account by name (blocking)."""
    rows = db.conn.execute(f"SELECT {COLUMNS} FROM staff_accounts ORDER BY name").fetchall()
    return [Account.from_row(_row(row)) for row in rows]


def insert(db: sqlite_utils.Database, account: Account) -> bool:
    """Store a new account; False when the name is taken (blocking)."""
    with writing(db):
        cursor = db.conn.execute(
            "INSERT OR IGNORE INTO staff_accounts (name, role, password_hash, disabled, "
            "totp_secret, created, failures) VALUES (?, ?, ?, ?, ?, ?, 0)",
            (account.name, account.role, account.password_hash, int(account.disabled),
             account.totp_secret, account.created),
        )  # fmt: skip
    return cursor.rowcount == 1


def update(db: sqlite_utils.Database, name: str, changes: dict[str, Any]) -> None:
    """Change the named fields of one account (blocking)."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"not a changeable account field: {sorted(unknown)}")
    assignments = ", ".join(f"{key} = ?" for key in changes)
    with writing(db):
        db.conn.execute(
            f"UPDATE staff_accounts SET {assignments} WHERE name = ?", (*changes.values(), name)
        )


def record_failure(
    db: sqlite_utils.Database,
    name: str,
    at: float,
    window_s: float,
    max_failures: int,
    lockout_s: float,
) -> None:
    """Count one failure, starting a new window when the last began too long ago, and lock
    the account when the count reaches ``max_failures`` (blocking, one transaction)."""
    values = {"name": name, "at": at, "window": window_s, "max": max_failures, "lockout": lockout_s}
    with writing(db):
        db.conn.execute(
            """UPDATE staff_accounts SET
                 failures = CASE WHEN first_failure IS NULL OR :at - first_failure > :window
                                 THEN 1 ELSE failures + 1 END,
                 first_failure = CASE WHEN first_failure IS NULL OR :at - first_failure > :window
                                      THEN :at ELSE first_failure END
               WHERE name = :name""",
            values,
        )
        db.conn.execute(
            """UPDATE staff_accounts SET locked_until = :at + :lockout, failures = 0,
                 first_failure = NULL
               WHERE name = :name AND failures >= :max""",
            values,
        )


class SQLiteStaffAccounts:
    """The ``AccountStore`` port over the store's database."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def get(self, name: str) -> Account | None:
        """One account by its name."""
        return await self._store.run(lambda: get(self._store.db, name))

    async def all(self) -> list[Account]:
        """Every account, by name."""
        return await self._store.run(lambda: every(self._store.db))

    async def insert(self, account: Account) -> bool:
        """Store a new account; False when the name is taken."""
        return await self._store.run(lambda: insert(self._store.db, account))

    async def update(self, name: str, **changes: Any) -> None:
        """Change stored fields of one account."""
        await self._store.run(lambda: update(self._store.db, name, changes))

    async def record_failure(
        self, name: str, at: float, window_s: float, max_failures: int, lockout_s: float
    ) -> None:
        """Count one failed sign-in on the account; enough of them lock it."""
        await self._store.run(
            lambda: record_failure(self._store.db, name, at, window_s, max_failures, lockout_s)
        )

    async def record_address_failure(self, address: str, at: float) -> None:
        """One failed sign-in from ``address``."""
        await self._store.run(
            lambda: attempts.record(self._store.db, ATTEMPT_KIND, address, "", at)
        )

    async def address_failures(self, address: str, since: float) -> int:
        """Failed sign-ins from ``address`` since ``since``."""
        return await self._store.run(
            lambda: attempts.count(self._store.db, ATTEMPT_KIND, address, since, distinct=False)
        )
