"""Staff accounts in PostgreSQL: the ``AccountStore`` port of ``assistant/staff/accounts.py``,
as ``assistant/store/staff_accounts.py`` serves it on SQLite.

Several instances take sign-ins at once, so a failed one is counted, and the account locked
when the count reaches the limit, in ONE ``UPDATE`` whose every value is computed from the
row it changes: a concurrent failure on another instance waits for the row lock and is then
computed again from the row as that one left it (READ COMMITTED's re-check), so no failure is
lost and the one that reaches the limit locks the account once. Failed sign-ins per address
go to ``attempts`` (kind ``staff_sign_in``), as in SQLite.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from assistant.staff.accounts import Account
from assistant.store.postgres.database import Connection, Database
from assistant.store.staff_accounts import ATTEMPT_KIND, CHANGEABLE, COLUMNS

# Whether this failure starts a new window, and the account's count with it.
_FRESH = "(first_failure IS NULL OR %(at)s - first_failure > %(window)s)"
_COUNT = f"(CASE WHEN {_FRESH} THEN 1 ELSE failures + 1 END)"
_RECORD_FAILURE = f"""UPDATE staff_accounts SET
    failures = CASE WHEN {_COUNT} >= %(max)s THEN 0 ELSE {_COUNT} END,
    first_failure = CASE WHEN {_COUNT} >= %(max)s THEN NULL
                         WHEN {_FRESH} THEN %(at)s ELSE first_failure END,
    locked_until = CASE WHEN {_COUNT} >= %(max)s THEN %(at)s + %(lockout)s
                        ELSE locked_until END
  WHERE name = %(name)s"""


async def get(conn: Connection, name: str) -> Account | None:
    """One account by name."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(f"SELECT {COLUMNS} FROM staff_accounts WHERE name = %s", (name,))
        row = await cursor.fetchone()
    return Account.from_row(row) if row else None


async def every(conn: Connection) -> list[Account]:
    """Every account by name (SQLite's byte order)."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(f'SELECT {COLUMNS} FROM staff_accounts ORDER BY name COLLATE "C"')
        rows = await cursor.fetchall()
    return [Account.from_row(row) for row in rows]


async def insert(conn: Connection, account: Account) -> bool:
    """Store a new account; False when the name is taken (by any instance, at any moment)."""
    cursor = await conn.execute(
        "INSERT INTO staff_accounts (name, role, password_hash, disabled, totp_secret, created, "
        "failures) VALUES (%s, %s, %s, %s, %s, %s, 0) ON CONFLICT (name) DO NOTHING",
        (account.name, account.role, account.password_hash, bool(account.disabled),
         account.totp_secret, account.created),
    )  # fmt: skip
    return cursor.rowcount == 1


async def update(conn: Connection, name: str, changes: dict[str, Any]) -> None:
    """Change the named fields of one account (``disabled`` given as 0/1 or a bool)."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"not a changeable account field: {sorted(unknown)}")
    if not changes:
        return
    values = {**changes}
    if "disabled" in values:
        values["disabled"] = bool(values["disabled"])
    assignments = ", ".join(f"{key} = %s" for key in values)
    await conn.execute(
        f"UPDATE staff_accounts SET {assignments} WHERE name = %s", (*values.values(), name)
    )


async def record_failure(
    conn: Connection, name: str, at: float, window_s: float, max_failures: int, lockout_s: float
) -> None:
    """Count one failure, starting a new window when the last began too long ago, and lock the
    account when the count reaches ``max_failures`` (one statement)."""
    await conn.execute(
        _RECORD_FAILURE,
        {"name": name, "at": at, "window": window_s, "max": max_failures, "lockout": lockout_s},
    )


class PostgresStaffAccounts:
    """The ``AccountStore`` port over the store's pool."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, name: str) -> Account | None:
        """One account by its name."""
        async with self._db.connection() as conn:
            return await get(conn, name)

    async def all(self) -> list[Account]:
        """Every account, by name."""
        async with self._db.connection() as conn:
            return await every(conn)

    async def insert(self, account: Account) -> bool:
        """Store a new account; False when the name is taken."""
        async with self._db.connection() as conn:
            return await insert(conn, account)

    async def update(self, name: str, **changes: Any) -> None:
        """Change stored fields of one account."""
        async with self._db.connection() as conn:
            await update(conn, name, changes)

    async def record_failure(
        self, name: str, at: float, window_s: float, max_failures: int, lockout_s: float
    ) -> None:
        """Count one failed sign-in on the account; enough of them lock it."""
        async with self._db.connection() as conn:
            await record_failure(conn, name, at, window_s, max_failures, lockout_s)

    async def record_address_failure(self, address: str, at: float) -> None:
        """One failed sign-in from ``address``."""
        async with self._db.connection() as conn:
            await conn.execute(
                "INSERT INTO attempts (kind, address, code, at) VALUES (%s, %s, '', %s)",
                (ATTEMPT_KIND, address, at),
            )

    async def address_failures(self, address: str, since: float) -> int:
        """Failed sign-ins from ``address`` since ``since``."""
        async with self._db.connection() as conn:
            cursor = await conn.execute(
                "SELECT count(*) FROM attempts WHERE kind = %s AND address = %s AND at >= %s",
                (ATTEMPT_KIND, address, since),
            )
            row = await cursor.fetchone()
        return int(row[0]) if row else 0
