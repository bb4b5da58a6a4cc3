"""Staff accounts: roles, argon2 password hashes, a TOTP secret, and their storage port.

The console's sign-in (``signin.py``) and the ``assistant staff`` command both work through
``StaffAccounts``; the rows live behind ``AccountStore`` (SQLite in ``assistant/store``), so
this module does no I/O of its own and hashing runs off the event loop. Passwords are never
kept: only their argon2id hash, which ``argon2-cffi`` salts and parameterises itself.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pyotp
from argon2 import PasswordHasher

from assistant.errors import AssistantError

ROLES = ("viewer", "staff", "admin")  # each may do what the ones before it may
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD = 10
TOTP_ISSUER = "facility-assistant"


class StaffError(AssistantError):
    """A staff command or sign-in that cannot be done as asked (unknown name, bad role)."""

    code = "staff"


def role_rank(role: str) -> int:
    """How much a role may do: viewer 0, staff 1, admin 2 (an unknown role: less than any)."""
    return ROLES.index(role) if role in ROLES else -1


@dataclass(frozen=True, slots=True)
class Account:
    """One staff member's account as stored (the hash, never the password)."""

    name: str
    role: str
    password_hash: str
    disabled: bool = False
    totp_secret: str | None = None
    created: float = 0.0
    failures: int = 0
    first_failure: float | None = None
    locked_until: float | None = None
    session_epoch: int = 0  # a signed-in session of an older epoch has ended
    totp_last_step: int | None = None

    @property
    def mfa(self) -> bool:
        """Whether sign-in asks for a TOTP code too."""
        return bool(self.totp_secret)

    def locked(self, now: float) -> bool:
        """Whether too many failed sign-ins lock the account at ``now``."""
        return self.locked_until is not None and now < self.locked_until

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Account:
        """An account from its stored row."""
        return cls(
            name=row["name"],
            role=row["role"],
            password_hash=row["password_hash"],
            disabled=bool(row["disabled"]),
            totp_secret=row["totp_secret"] or None,
            created=row["created"],
            failures=row["failures"] or 0,
            first_failure=row["first_failure"],
            locked_until=row["locked_until"],
            session_epoch=row["session_epoch"] or 0,
            totp_last_step=row["totp_last_step"],
        )


class AccountStore(Protocol):
    """Where accounts and sign-in attempts per address are kept (``SQLiteStaffAccounts``)."""

    async def get(self, name: str) -> Account | None:
        """One account by its name."""

    async def all(self) -> list[Account]:
        """Every account, by name."""

    async def insert(self, account: Account) -> bool:
        """Store a new account; False when the name is taken."""

    async def update(self, name: str, **changes: Any) -> None:
        """Change stored fields of one account."""

    async def record_failure(
        self, name: str, at: float, window_s: float, max_failures: int, lockout_s: float
    ) -> None:
        """Count one failed sign-in on the account in one transaction; the one that reaches
        ``max_failures`` within ``window_s`` locks it until ``at + lockout_s``."""

    async def record_address_failure(self, address: str, at: float) -> None:
        """One failed sign-in from ``address``."""

    async def address_failures(self, address: str, since: float) -> int:
        """Failed sign-ins from ``address`` since ``since``."""


def check_name(name: str) -> str:
    """The name itself, or ``StaffError`` saying what a name may hold."""
    if not NAME.fullmatch(name):
        raise StaffError(
            f"{name!r} is not a usable account name: use 1-64 letters, digits or ._- "
            "(starting with a letter or digit)"
        )
    return name


def check_role(role: str) -> str:
    """The role itself, or ``StaffError`` naming the roles there are."""
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}; roles: {', '.join(reversed(ROLES))}")
    return role


def new_password() -> str:
    """A one-time password to hand over once (about 96 bits, easy to type)."""
    return secrets.token_urlsafe(12)


class StaffAccounts:
    """Adding, listing, disabling accounts, passwords and TOTP: what ``assistant staff`` does."""

    def __init__(
        self,
        store: AccountStore,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()
        self.clock = clock

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (in a thread: it takes tens of milliseconds)."""
        if len(password) < MIN_PASSWORD:
            raise StaffError(f"a password needs at least {MIN_PASSWORD} characters")
        return await asyncio.to_thread(self.hasher.hash, password)

    async def require(self, name: str) -> Account:
        """The account called ``name``, or ``StaffError`` saying there is none."""
        account = await self.store.get(name)
        if account is None:
            raise StaffError(f"no staff account is called {name!r} (see `assistant staff list`)")
        return account

    async def add(self, name: str, role: str, password: str) -> Account:
        """A new account; ``StaffError`` for a bad name or role or a name already taken."""
        account = Account(
            name=check_name(name),
            role=check_role(role),
            password_hash=await self.hash(password),
            created=self.clock(),
        )
        if not await self.store.insert(account):
            raise StaffError(f"a staff account called {name!r} exists already")
        return account

    async def list(self) -> list[Account]:
        """Every account, by name."""
        return await self.store.all()

    async def disable(self, name: str) -> None:
        """The account can no longer sign in (signed-in sessions end at their next request)."""
        await self.end_sessions(await self.require(name), disabled=1)

    async def end_sessions(self, account: Account, **changes: Any) -> None:
        """Every session the account has signed in ends at its next request."""
        await self.store.update(account.name, session_epoch=account.session_epoch + 1, **changes)

    async def reset_password(self, name: str, password: str) -> None:
        """A new password, the account's lockout lifted, and its sessions ended."""
        account = await self.require(name)
        hashed = await self.hash(password)
        await self.end_sessions(
            account, password_hash=hashed, failures=0, first_failure=None, locked_until=None
        )

    async def enable_mfa(self, name: str) -> str:
        """A new TOTP secret for the account; returns its provisioning URI (for a QR code)."""
        await self.require(name)
        secret = pyotp.random_base32()
        await self.store.update(name, totp_secret=secret, totp_last_step=None)
        return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)
