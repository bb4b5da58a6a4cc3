"""Checking a sign-in: password, TOTP code, disabled flag, and lockouts per account and address.

A guesser is slowed twice: ``max_failures`` wrong tries on one account within ``window_s``
lock that account for ``lockout_s`` (staff see it in ``assistant staff list``), and
``address_failures`` wrong tries from one address within ``window_s`` refuse that address
until they age out, so spreading guesses over many names does not help. A locked account or
address is refused before its password is checked, and an unknown name costs as much time as
a known one, so timing tells nothing about which names exist.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from assistant.key_locks import KeyLocking, KeyLocks
from assistant.staff.accounts import Account, StaffAccounts
from assistant.staff.audit import AuditAction, AuditLog

_LOGGER = logging.getLogger(__name__)


class Outcome(StrEnum):
    """What a sign-in attempt came to; each has its own sentence on the login page."""

    OK = "ok"
    WRONG = "wrong"  # unknown name or wrong password: the same answer for both
    LOCKED = "locked"
    DISABLED = "disabled"
    CODE_NEEDED = "code_needed"
    CODE_WRONG = "code_wrong"
    MFA_REQUIRED = "mfa_required"  # an admin without TOTP while staff_require_mfa is on


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    """How many failures lock what, for how long; and whether admins need TOTP."""

    max_failures: int = 5
    address_failures: int = 20
    window_s: float = 900.0
    lockout_s: float = 900.0
    require_mfa: bool = False


@dataclass(frozen=True, slots=True)
class SignInResult:
    """The outcome, and the account when the name was known."""

    outcome: Outcome
    account: Account | None = None


# Told of every attempt (its result, with the account when the name was known, and the
# address): the audit log's way in. An unknown name is not passed on: people type their
# password into the name field, and it must not reach a log.
AttemptListener = Callable[[SignInResult, str], Awaitable[None]]


class SignIn:
    """One sign-in check at a time per call; state lives in the store, not here."""

    def __init__(
        self,
        accounts: StaffAccounts,
        policy: SignInPolicy,
        *,
        listeners: list[AttemptListener] | None = None,
        locks: KeyLocking | None = None,
    ) -> None:
        self.accounts = accounts
        self.policy = policy
        self.listeners = listeners if listeners is not None else []
        # With several instances (issue 17) the locks are every instance's (Redis), so two
        # attempts sent to two instances still take turns.
        self._locks: KeyLocking = locks if locks is not None else KeyLocks()
        # Verified against for unknown names, so they cost as much as known ones.
        self._decoy = accounts.hasher.hash("not a password of anyone")

    async def attempt(self, name: str, password: str, code: str, address: str) -> SignInResult:
        """Check one sign-in from ``address``; failures are counted before returning, and
        the listeners are told (never the password or the code).

        Attempts on one name, and from one address, take turns: fired all at once, they
        would all pass the lockout check before the first failure is counted."""
        async with self._locks.hold(f"name:{name}"), self._locks.hold(f"address:{address}"):
            result = await self._check(name, password, code, address)
        level = logging.INFO if result.outcome is Outcome.OK else logging.WARNING
        known = repr(result.account.name) if result.account is not None else "an unknown name"
        _LOGGER.log(level, "staff sign-in %s: %s from %s", result.outcome.value, known, address)
        for listener in self.listeners:
            await listener(result, address)
        return result

    async def _check(self, name: str, password: str, code: str, address: str) -> SignInResult:
        store, now = self.accounts.store, self.accounts.clock()
        since = now - self.policy.window_s
        if await store.address_failures(address, since) >= self.policy.address_failures:
            return SignInResult(Outcome.LOCKED)
        account = await store.get(name)
        if account is not None and account.locked(now):
            return SignInResult(Outcome.LOCKED, account)
        right = await self._verify(account, password)
        if account is None or not right:
            await self._failed(account, address, now)
            return SignInResult(Outcome.WRONG, account)
        if account.disabled:
            return SignInResult(Outcome.DISABLED, account)
        step = account.totp_last_step
        if account.mfa:
            if not code.strip():
                return SignInResult(Outcome.CODE_NEEDED, account)
            step = _code_step(account.totp_secret or "", code.strip(), now)
            used = account.totp_last_step
            if step is None or (used is not None and step <= used):  # wrong, or replayed
                await self._failed(account, address, now)
                return SignInResult(Outcome.CODE_WRONG, account)
        elif self.policy.require_mfa and account.role == "admin":
            return SignInResult(Outcome.MFA_REQUIRED, account)
        await store.update(
            name, failures=0, first_failure=None, locked_until=None, totp_last_step=step
        )
        await self._rehash_if_old(account, password)
        return SignInResult(Outcome.OK, account)

    async def _verify(self, account: Account | None, password: str) -> bool:
        stored = account.password_hash if account is not None else self._decoy
        try:
            await asyncio.to_thread(self.accounts.hasher.verify, stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return account is not None

    async def _failed(self, account: Account | None, address: str, now: float) -> None:
        """Count a failure for the address and, when the name is known, the account (in one
        transaction in the store, so other processes' failures add up too)."""
        store = self.accounts.store
        await store.record_address_failure(address, now)
        if account is not None:
            policy = self.policy
            await store.record_failure(
                account.name, now, policy.window_s, policy.max_failures, policy.lockout_s
            )

    async def _rehash_if_old(self, account: Account, password: str) -> None:
        """A hash made with weaker parameters than today's is replaced after a right sign-in."""
        if self.accounts.hasher.check_needs_rehash(account.password_hash):
            hashed = await asyncio.to_thread(self.accounts.hasher.hash, password)
            await self.accounts.store.update(account.name, password_hash=hashed)


def _code_step(secret: str, code: str, now: float) -> int | None:
    """The TOTP time step ``code`` belongs to (now's, or one either side for a phone's clock
    drift), or None; the step is kept so the same code cannot sign in twice."""
    totp = pyotp.TOTP(secret)
    base = int(now // totp.interval)
    for step in (base, base - 1, base + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def audited(audit: AuditLog) -> AttemptListener:
    """Every sign-in attempt into the audit log (issue 16): who (or "(unknown name)": what
    was typed as a name may be a password), the outcome, and the address it came from."""

    async def record(result: SignInResult, address: str) -> None:
        account = result.account
        if result.outcome is Outcome.OK:
            action = AuditAction.SIGN_IN
        elif result.outcome is Outcome.LOCKED:
            action = AuditAction.LOCKED_OUT
        else:
            action = AuditAction.SIGN_IN_FAILED
        await audit.record(
            account.name if account is not None else "(unknown name)",
            account.role if account is not None else "",
            action,
            address=address,
            detail={"outcome": result.outcome.value},
        )

    return record
