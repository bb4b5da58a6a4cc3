"""The staff audit log (issue 16, part C): append-only in the database, searchable, exported
as CSV a spreadsheet cannot be tricked by, and readable with ``assistant audit``."""

from __future__ import annotations

import asyncio
import csv
import datetime
import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from assistant.cli.main import main
from assistant.staff.audit import (
    CSV_COLUMNS,
    REDACTED,
    AuditAction,
    AuditEntry,
    AuditLog,
    AuditQuery,
    neutralised,
    write_csv,
)
from assistant.store.sqlite import SQLiteStore
from assistant.store.transaction import writing
from tests.store_backends import Backend, Store, sqlite_only

T0 = 1_796_000_000.0  # a fixed moment; each entry below is one minute after the previous


class Clock:
    """A clock the test moves on, so every entry has a known time."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        self.now += 60
        return self.now


@pytest.fixture
async def store(backend: Backend) -> Store:
    """This file's tests on both stores (issue 17): the conftest's ``store`` is SQLite alone."""
    return await backend.open()


async def _filled(store: Store) -> AuditLog:
    log = AuditLog(store, clock=Clock())
    await log.record("ana", "admin", "sign_in", address="192.0.2.1")
    await log.record("ben", "staff", "sign_in_failed", address="192.0.2.9", detail={"why": "wrong"})
    await log.record(
        "ben", "staff", "message", address="192.0.2.9", session_key="web:s1",
        detail={"text": "Shall I help with the colour?"},
    )  # fmt: skip
    await log.record(
        "ana", "admin", "approve", address="192.0.2.1", artifact_id="a1", detail={"note": "50%_off"}
    )
    await log.record("ana", "admin", AuditAction.PUBLISH, address="192.0.2.1", artifact_id="a1")
    return log


@sqlite_only  # tampers through SQLite's own connections (PostgreSQL: test_store_ports_staff.py)
async def test_audit_rows_cannot_be_changed_or_removed_even_by_sql(store: SQLiteStore) -> None:
    await _filled(store)

    def tamper(statement: str) -> str:
        with pytest.raises(sqlite3.IntegrityError) as refused, writing(store.db):
            store.db.conn.execute(statement)
        return str(refused.value)

    assert "append-only" in await store.run(tamper, "UPDATE audit_log SET who = 'eve'")
    assert "append-only" in await store.run(tamper, "DELETE FROM audit_log WHERE who = 'ana'")
    # Another connection to the file (another process) is refused as well.
    other = sqlite3.connect(store.path, timeout=30)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            other.execute("DELETE FROM audit_log")
        with pytest.raises(sqlite3.IntegrityError):
            other.execute("UPDATE audit_log SET detail = '{}' WHERE id = 2")
        assert other.execute("SELECT count(*) FROM audit_log WHERE who = 'ana'").fetchone() == (3,)
    finally:
        other.close()
    entries = await AuditLog(store).search(AuditQuery())
    assert [e.who for e in entries] == ["ana", "ana", "ben", "ben", "ana"]
    assert entries[-1].action == "sign_in"


async def test_search_by_who_action_session_artifact_time_and_text(store: Store) -> None:
    log = await _filled(store)

    async def actions(**filters: Any) -> list[str]:
        return [e.action for e in await log.search(AuditQuery(**filters))]

    assert await actions() == ["publish", "approve", "message", "sign_in_failed", "sign_in"]
    assert await actions(who="ben") == ["message", "sign_in_failed"]
    assert await actions(action="sign_in") == ["sign_in"]
    assert await actions(session_key="web:s1") == ["message"]
    assert await actions(artifact_id="a1") == ["publish", "approve"]
    # Entries are at T0 + 60, +120, … +300: from the 2nd (inclusive) to the 4th (exclusive).
    assert await actions(since=T0 + 120, until=T0 + 240) == ["message", "sign_in_failed"]
    assert await actions(text="COLOUR") == ["message"]  # in the detail, any case
    assert await actions(text="192.0.2.9") == ["message", "sign_in_failed"]
    assert await actions(text="50%_") == ["approve"]  # % and _ are literal, not wildcards
    assert await actions(text="5%") == []
    assert await actions(who="ana", artifact_id="a1", limit=1) == ["publish"]
    assert len(await actions(limit=0)) == 5  # 0: every match
    message = (await log.search(AuditQuery(action="message")))[0]
    assert message == AuditEntry(
        id=3, at=T0 + 180, who="ben", role="staff", action="message", address="192.0.2.9",
        session_key="web:s1", detail={"text": "Shall I help with the colour?"},
    )  # fmt: skip


@sqlite_only  # reads the rows with SQLite's own connection
async def test_secrets_in_a_detail_never_reach_the_database(store: SQLiteStore) -> None:
    log = AuditLog(store)
    entry = await log.record(
        "ana", "admin", "reset_password",
        detail={"account": "ben", "password": "hunter2", "form": {"csrf_token": "tok-123"},
                "totp": "492039"},
    )  # fmt: skip
    assert entry.detail == {
        "account": "ben", "password": REDACTED, "form": {"csrf_token": REDACTED}, "totp": REDACTED,
    }  # fmt: skip
    raw = await store.run(lambda: store.db.conn.execute("SELECT * FROM audit_log").fetchall())
    assert "hunter2" not in repr(raw) and "tok-123" not in repr(raw) and "492039" not in repr(raw)
    long = await log.record("ana", "admin", "note", detail={"text": "x" * 5000})
    assert set(long.detail) == {"truncated"} and len(long.detail["truncated"]) == 2000


async def test_csv_export_round_trips_and_disarms_formulas(store: Store) -> None:
    log = AuditLog(store, clock=Clock())
    nasty = '=HYPERLINK("http://evil.example","click")'
    await log.record(nasty, "staff", "+sum", address="@home", session_key="-1+1")
    await log.record(
        "chō, \"the\" admin", "admin", "message", session_key="web:s2",
        detail={"text": "line one\nline two, with \"quotes\""},
    )  # fmt: skip
    entries = await log.search(AuditQuery())
    stream = io.StringIO(newline="")
    assert write_csv(entries, stream) == 2
    rows = list(csv.reader(io.StringIO(stream.getvalue(), newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    header, message, formula = rows
    assert message[2] == 'chō, "the" admin' and message[6] == "web:s2"
    assert message[8] == '{"text": "line one\\nline two, with \\"quotes\\""}'
    # Every cell a spreadsheet would run starts with a quote instead, and keeps its text.
    assert formula[2] == "'" + nasty
    assert (formula[4], formula[5], formula[6]) == ("'+sum", "'@home", "'-1+1")
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert neutralised("\t=1") == "'\t=1" and neutralised("plain") == "plain"


def test_assistant_audit_prints_and_exports(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "assistant.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")

    async def fill() -> None:
        store = SQLiteStore(tmp_path / "data" / "assistant.db")
        await store.open()
        try:
            await _filled(store)
        finally:
            await store.close()

    asyncio.run(fill())
    assert main(["--config", str(config), "audit", "--who", "ben"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "\tmessage\t" in lines[0] and "session=web:s1" in lines[0]
    assert "ben (staff)" in lines[1] and "sign_in_failed" in lines[1]

    exported = tmp_path / "audit.csv"
    # After every entry (the last is at T0 + 300), as a local time the way staff type it.
    since = datetime.datetime.fromtimestamp(T0 + 600).isoformat(timespec="minutes")
    assert (
        main(
            [
                "--config",
                str(config),
                "audit",
                "--since",
                since,
                "--csv",
                str(exported),
                "--lang",
                "en",
            ]
        )
        == 0
    )
    assert "0 entries" in capsys.readouterr().out
    assert (
        main(
            [
                "--config",
                str(config),
                "audit",
                "--artifact",
                "a1",
                "--csv",
                str(exported),
                "--lang",
                "en",
            ]
        )
        == 0
    )
    assert "2 entries written" in capsys.readouterr().out
    with exported.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    assert [row[4] for row in rows[1:]] == ["publish", "approve"]
    assert main(["--config", str(config), "audit", "--action", "nothing", "--lang", "en"]) == 0
    assert capsys.readouterr().out == "No entries match.\n"
    assert main(["--config", str(config), "audit", "--action", "nothing", "--lang", "ja"]) == 0
    assert capsys.readouterr().out == "該当する記録はありません。\n"
