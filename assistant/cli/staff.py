"""``assistant staff add|list|disable|reset-password|mfa``: staff accounts for ``/staff/``.

Run on the server by whoever administers it, so no sign-in is asked: access to the data
folder is the authority. A new or reset password is printed once (or read from standard
input with ``--password-stdin``) and only its argon2 hash is kept; a TOTP secret is shown
once as a provisioning URI and never logged.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from argon2 import PasswordHasher

from assistant.compose import Services
from assistant.compose_jobs import checked_jobs
from assistant.compose_store import store_for
from assistant.config import Settings
from assistant.jobs.phrases import load_phrases
from assistant.key_locks import KeyLocking
from assistant.staff.accounts import ROLES, Account, StaffAccounts, StaffError, new_password
from assistant.staff.audit import AuditLog
from assistant.staff.keys import session_key
from assistant.staff.signin import SignIn, SignInPolicy, audited
from channels.staff import init_staff_app
from channels.staff.guard import ConsoleConfig
from channels.staff.parts import ConsoleParts

if TYPE_CHECKING:
    from assistant.compose_store import AppStore


def add_staff_parser(commands: Any) -> None:
    """The ``staff`` command and its subcommands."""
    staff = commands.add_parser("staff", help="staff accounts of the console at /staff/")
    actions = staff.add_subparsers(dest="staff_command", required=True)
    add = actions.add_parser("add", help="a new account; prints its one-time password")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="admin, staff or viewer")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    actions.add_parser("list", help="every account: role, disabled, locked until, MFA")
    disable = actions.add_parser("disable", help="the account can no longer sign in")
    disable.add_argument("name")
    reset = actions.add_parser("reset-password", help="a new password; lifts a lockout")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    mfa = actions.add_parser("mfa", help="a TOTP secret for the account (prints its URI)")
    mfa.add_argument("name")


def sign_in_policy(settings: Settings) -> SignInPolicy:
    """The lockout and MFA rules the settings ask for."""
    return SignInPolicy(
        max_failures=settings.staff_max_failures,
        address_failures=settings.staff_address_failures,
        window_s=settings.staff_failure_window_minutes * 60,
        lockout_s=settings.staff_lockout_minutes * 60,
        require_mfa=settings.staff_require_mfa,
    )


def staff_services(
    store: AppStore,
    settings: Settings,
    hasher: PasswordHasher | None = None,
    locks: KeyLocking | None = None,
) -> tuple[StaffAccounts, SignIn]:
    """Accounts and the sign-in check over the store's database (the store must be open);
    ``locks`` are every instance's with ``redis_url`` (else this process's own)."""
    accounts = StaffAccounts(store.staff_accounts(), hasher=hasher, clock=store.clock)
    audit = AuditLog(store, clock=store.clock)
    policy = sign_in_policy(settings)
    return accounts, SignIn(accounts, policy, listeners=[audited(audit)], locks=locks)


def staff_app(
    store: AppStore,
    settings: Settings,
    hasher: PasswordHasher | None = None,
    services: Services | None = None,
) -> web.Application:
    """The console app for ``/staff/`` over the (open) store, as the settings ask; with
    ``services`` (``assistant serve``) its screens act on the running service."""
    cluster = services.cluster if services is not None else None
    locks = cluster.sign_in_locks() if cluster is not None else None
    accounts, sign_in = staff_services(store, settings, hasher, locks)
    config = ConsoleConfig(
        accounts=accounts,
        sign_in=sign_in,
        phrases=load_phrases(settings.locales_dir),
        idle_s=settings.staff_idle_minutes * 60,
        absolute_s=settings.staff_absolute_hours * 3600,
        default_language=settings.language,
        body_timeout_s=settings.http_body_timeout_s,
    )
    key = session_key(settings.staff_secret_key, settings.data_dir)
    parts = None
    if services is not None:
        parts = ConsoleParts(
            settings=settings,
            store=services.store,
            manager=services.manager,
            jobs=services.jobs,
            jobs_dir=settings.jobs_dir,
            desk=services.artifact_desk(),
            audit=AuditLog(services.store, clock=services.store.clock),
            knowledge=services.knowledge,
            load_jobs_from=checked_jobs,  # jobs screen (part J)
            reload_jobs=services.reload_jobs,
        )
    secure = settings.base_url.startswith("https://")
    return init_staff_app(config, key, secure=secure, parts=parts)


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password to set and whether it was made here (then it is printed once)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return new_password(), True


def _when(moment: float | None, now: float) -> str:
    if moment is None or moment <= now:
        return "-"
    return datetime.datetime.fromtimestamp(moment).isoformat(timespec="seconds")


def _row(account: Account, now: float) -> str:
    return "\t".join(
        (
            account.name,
            account.role,
            "disabled" if account.disabled else "active",
            _when(account.locked_until, now),
            "mfa on" if account.mfa else "mfa off",
        )
    )


async def run_staff(settings: Settings, args: argparse.Namespace) -> int:
    """One ``staff`` subcommand; 2 with a sentence on bad input (unknown name, bad role)."""
    store = store_for(settings)
    await store.open()
    try:
        accounts, _ = staff_services(store, settings)
        return await _run(accounts, args)
    except StaffError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
    finally:
        await store.close()


async def _run(accounts: StaffAccounts, args: argparse.Namespace) -> int:
    command = args.staff_command
    if command == "add":
        if args.role not in ROLES:  # before a password is read or made
            raise StaffError(f"unknown role {args.role!r}; roles: admin, staff, viewer")
        password, made = _password(args)
        await accounts.add(args.name, args.role, password)
        print(f"added {args.name} ({args.role})")
        if made:
            print(f"one-time password (shown once): {password}")
    elif command == "list":
        now = time.time()
        listed = await accounts.list()
        print("name\trole\tstate\tlocked until\tmfa")
        for account in listed:
            print(_row(account, now))
        if not listed:
            print("no staff accounts yet: add one with `assistant staff add NAME --role admin`")
    elif command == "disable":
        await accounts.disable(args.name)
        print(f"disabled {args.name}: it can no longer sign in")
    elif command == "reset-password":
        await accounts.require(args.name)
        password, made = _password(args)
        await accounts.reset_password(args.name, password)
        print(f"new password set for {args.name}")
        if made:
            print(f"one-time password (shown once): {password}")
    elif command == "mfa":
        uri = await accounts.enable_mfa(args.name)
        print(f"TOTP is now on for {args.name}. Add it to an authenticator app with this URI")
        print("(or a QR code of it); it is shown only this once:")
        print(uri)
    return 0
