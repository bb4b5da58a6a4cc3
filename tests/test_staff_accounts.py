"""Staff accounts (issue 16, part A): argon2 hashes, lockouts, TOTP, and `assistant staff`.

Both stores (a real SQLite file, and a real PostgreSQL for the ``slow`` cases; issue 17),
real argon2 (cheap parameters where many hashes are made), a clock the test moves instead of
sleeping, and the command line through ``main([...])``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sqlite3
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher

from assistant.cli.main import main
from assistant.staff.accounts import StaffAccounts, StaffError
from assistant.staff.signin import Outcome, SignIn, SignInPolicy, SignInResult
from testing.staff_console import CHEAP_HASHER, PASSWORD
from tests.store_backends import Backend, sqlite_only

START = 1_800_000_000.0


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def accounts(backend: Backend, clock: Clock) -> StaffAccounts:
    store = await backend.open(clock=clock)
    return StaffAccounts(store.staff_accounts(), hasher=CHEAP_HASHER, clock=clock)


def sign_in(accounts: StaffAccounts, **policy: float | bool) -> SignIn:
    return SignIn(accounts, SignInPolicy(**policy))  # type: ignore[arg-type]


@sqlite_only  # reads the rows from SQLite's file itself
async def test_only_an_argon2_hash_is_stored(accounts: StaffAccounts, tmp_path: Path) -> None:
    await accounts.add("ana", "admin", PASSWORD)
    with sqlite3.connect(tmp_path / "assistant.db") as conn:
        rows = conn.execute("SELECT * FROM staff_accounts").fetchall()
    assert len(rows) == 1
    assert not any(PASSWORD in str(value) for value in rows[0])
    stored = await accounts.store.get("ana")
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert CHEAP_HASHER.verify(stored.password_hash, PASSWORD)


async def test_bad_names_roles_and_short_passwords_are_refused(accounts: StaffAccounts) -> None:
    with pytest.raises(StaffError, match="unknown role 'boss'; roles: admin, staff, viewer"):
        await accounts.add("ana", "boss", PASSWORD)
    with pytest.raises(StaffError, match="not a usable account name"):
        await accounts.add("<script>", "staff", PASSWORD)
    with pytest.raises(StaffError, match="at least 10 characters"):
        await accounts.add("ana", "staff", "short")
    await accounts.add("ana", "staff", PASSWORD)
    with pytest.raises(StaffError, match="exists already"):
        await accounts.add("ana", "viewer", PASSWORD)
    with pytest.raises(StaffError, match="no staff account is called 'bob'"):
        await accounts.disable("bob")


async def test_right_and_wrong_passwords(accounts: StaffAccounts) -> None:
    await accounts.add("ana", "staff", PASSWORD)
    check = sign_in(accounts)
    assert (await check.attempt("ana", PASSWORD, "", "10.0.0.1")).outcome is Outcome.OK
    assert (await check.attempt("ana", "wrong password", "", "10.0.0.1")).outcome is Outcome.WRONG
    # An unknown name gets the very same answer as a wrong password.
    assert (await check.attempt("nobody", PASSWORD, "", "10.0.0.1")).outcome is Outcome.WRONG


async def test_an_account_locks_after_five_failures_and_unlocks_later(
    accounts: StaffAccounts, clock: Clock
) -> None:
    await accounts.add("ana", "staff", PASSWORD)
    check = sign_in(accounts, max_failures=5, window_s=900.0, lockout_s=900.0)
    for attempt in range(5):  # from five addresses: the account's own count locks it
        result = await check.attempt("ana", "guess", "", f"10.0.0.{attempt}")
        assert result.outcome is Outcome.WRONG
    locked = await accounts.store.get("ana")
    assert locked is not None and locked.locked_until == START + 900.0
    # Even the right password is refused while it is locked, from any address.
    assert (await check.attempt("ana", PASSWORD, "", "10.9.9.9")).outcome is Outcome.LOCKED
    clock.now = START + 899.0
    assert (await check.attempt("ana", PASSWORD, "", "10.9.9.9")).outcome is Outcome.LOCKED
    clock.now = START + 901.0
    assert (await check.attempt("ana", PASSWORD, "", "10.9.9.9")).outcome is Outcome.OK


async def test_guesses_fired_at_once_still_lock_after_five(accounts: StaffAccounts) -> None:
    await accounts.add("ana", "staff", PASSWORD)
    check = sign_in(accounts, max_failures=5)
    results = await asyncio.gather(
        *(check.attempt("ana", f"guess {n}", "", f"10.0.0.{n}") for n in range(20))
    )
    outcomes = [result.outcome for result in results]
    assert outcomes.count(Outcome.WRONG) == 5 and outcomes.count(Outcome.LOCKED) == 15
    stored = await accounts.store.get("ana")
    assert stored is not None and stored.locked_until == START + 900.0


async def test_failures_spread_over_more_than_the_window_do_not_lock(
    accounts: StaffAccounts, clock: Clock
) -> None:
    await accounts.add("ana", "staff", PASSWORD)
    check = sign_in(accounts, max_failures=3, window_s=600.0)
    for _ in range(4):
        assert (await check.attempt("ana", "guess", "", "10.0.0.1")).outcome is Outcome.WRONG
        clock.now += 400.0  # two failures at most within any 600 s
    assert (await check.attempt("ana", PASSWORD, "", "10.0.0.1")).outcome is Outcome.OK


async def test_an_address_is_refused_after_guessing_many_names(
    accounts: StaffAccounts, clock: Clock
) -> None:
    await accounts.add("ana", "staff", PASSWORD)
    check = sign_in(accounts, address_failures=4, window_s=900.0)
    for number in range(4):
        result = await check.attempt(f"guess{number}", "guess", "", "203.0.113.7")
        assert result.outcome is Outcome.WRONG
    refused = await check.attempt("ana", PASSWORD, "", "203.0.113.7")
    assert refused.outcome is Outcome.LOCKED
    # Only that address: the account itself is not locked, and ana signs in from elsewhere.
    assert (await check.attempt("ana", PASSWORD, "", "10.0.0.2")).outcome is Outcome.OK
    clock.now = START + 901.0  # the failures have aged out of the window
    assert (await check.attempt("ana", PASSWORD, "", "203.0.113.7")).outcome is Outcome.OK


async def test_a_disabled_account_cannot_sign_in(accounts: StaffAccounts) -> None:
    await accounts.add("ana", "staff", PASSWORD)
    await accounts.disable("ana")
    result = await sign_in(accounts).attempt("ana", PASSWORD, "", "10.0.0.1")
    assert result.outcome is Outcome.DISABLED


async def test_totp_right_wrong_and_required_for_admins(
    accounts: StaffAccounts, clock: Clock
) -> None:
    await accounts.add("ana", "admin", PASSWORD)
    strict = sign_in(accounts, require_mfa=True)
    without = await strict.attempt("ana", PASSWORD, "", "10.0.0.1")
    assert without.outcome is Outcome.MFA_REQUIRED
    uri = await accounts.enable_mfa("ana")
    secret = pyotp.parse_uri(uri).secret
    assert uri.startswith("otpauth://totp/facility-assistant:ana?")
    assert (await strict.attempt("ana", PASSWORD, "", "10.0.0.1")).outcome is Outcome.CODE_NEEDED
    totp = pyotp.TOTP(secret)
    wrong = str((int(totp.at(START)) + 1) % 1_000_000).zfill(6)
    assert (await strict.attempt("ana", PASSWORD, wrong, "10.0.0.1")).outcome is Outcome.CODE_WRONG
    stale = totp.at(START - 90)  # three steps ago: past a phone's clock drift
    assert (await strict.attempt("ana", PASSWORD, stale, "10.0.0.1")).outcome is Outcome.CODE_WRONG
    right = totp.at(START)
    assert (await strict.attempt("ana", PASSWORD, right, "10.0.0.1")).outcome is Outcome.OK
    # A code works once: seen over a shoulder and typed again, it is refused.
    assert (await strict.attempt("ana", PASSWORD, right, "10.0.0.1")).outcome is Outcome.CODE_WRONG
    clock.now = START + 30
    later = totp.at(clock.now)
    assert (await strict.attempt("ana", PASSWORD, later, "10.0.0.1")).outcome is Outcome.OK
    # Without require_mfa a staff member with no TOTP simply signs in.
    await accounts.add("bo", "admin", PASSWORD)
    assert (await sign_in(accounts).attempt("bo", PASSWORD, "", "10.0.0.1")).outcome is Outcome.OK


async def test_listeners_hear_every_attempt_but_no_secret(
    accounts: StaffAccounts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await accounts.add("ana", "staff", PASSWORD)
    heard: list[tuple[Outcome, str, str]] = []

    async def listen(result: SignInResult, address: str) -> None:
        heard.append((result.outcome, result.account.name if result.account else "", address))

    check = SignIn(accounts, SignInPolicy(), listeners=[listen])
    await check.attempt("ana", "wrong one", "", "10.0.0.1")
    await check.attempt("ana", PASSWORD, "", "10.0.0.2")
    await check.attempt(PASSWORD, PASSWORD, "", "10.0.0.3")  # the password typed as the name
    assert heard == [
        (Outcome.WRONG, "ana", "10.0.0.1"),
        (Outcome.OK, "ana", "10.0.0.2"),
        (Outcome.WRONG, "", "10.0.0.3"),
    ]
    assert "staff sign-in wrong: 'ana' from 10.0.0.1" in caplog.text
    assert "staff sign-in wrong: an unknown name from 10.0.0.3" in caplog.text
    assert PASSWORD not in caplog.text and "wrong one" not in caplog.text


# -- the command line -----------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_staff_commands_end_to_end(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["staff", "add", "ana", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    password = re.search(r"one-time password \(shown once\): (\S+)", out)
    assert "added ana (admin)" in out and password is not None
    with sqlite3.connect(data_dir / "assistant.db") as conn:
        stored = conn.execute("SELECT password_hash FROM staff_accounts").fetchone()[0]
    assert PasswordHasher().verify(stored, password.group(1))

    monkeypatch.setattr("sys.stdin", io.StringIO("a chosen password\n"))
    assert main(["staff", "add", "vi", "--role", "viewer", "--password-stdin"]) == 0
    assert "one-time password" not in capsys.readouterr().out

    assert main(["staff", "mfa", "ana"]) == 0
    assert re.search(
        r"^otpauth://totp/facility-assistant:ana\?secret=", capsys.readouterr().out, re.M
    )
    assert main(["staff", "disable", "vi"]) == 0
    capsys.readouterr()
    with sqlite3.connect(data_dir / "assistant.db") as conn:  # as five wrong tries leave it
        conn.execute("UPDATE staff_accounts SET locked_until = 4102444800 WHERE name = 'ana'")
    assert main(["staff", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "name\trole\tstate\tlocked until\tmfa"
    assert lines[1] == "ana\tadmin\tactive\t" + _local(4102444800) + "\tmfa on"
    assert lines[2] == "vi\tviewer\tdisabled\t-\tmfa off"

    monkeypatch.setattr("sys.stdin", io.StringIO("another good password\n"))
    assert main(["staff", "reset-password", "ana", "--password-stdin"]) == 0
    assert main(["staff", "list"]) == 0
    assert "ana\tadmin\tactive\t-\tmfa on" in capsys.readouterr().out  # the lock is lifted


def _local(moment: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(moment).isoformat(timespec="seconds")


def test_staff_commands_explain_bad_input(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["staff", "add", "ana", "--role", "boss"]) == 2
    assert "unknown role 'boss'; roles: admin, staff, viewer" in capsys.readouterr().err
    for command in (["disable", "bob"], ["reset-password", "bob"], ["mfa", "bob"]):
        assert main(["staff", *command]) == 2
        assert "no staff account is called 'bob'" in capsys.readouterr().err
    assert main(["staff", "list"]) == 0
    assert "no staff accounts yet" in capsys.readouterr().out
