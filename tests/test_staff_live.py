"""Who needs help now (issue 16, live sessions): real conversations through the dialog manager
on both stores (a real SQLite file; a real PostgreSQL, ``slow``; issue 17), judged from what the
store holds, and ``assistant live``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from assistant.cli.main import main
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.staff.audit import AuditAction, AuditLog
from assistant.staff.live import SILENCE_S, helping, live_sessions
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk
from tests.store_backends import Backend, Store, sqlite_only

START = 1_800_000_000.0


class Clock:
    """The manager's time, moved by the test (turns are stamped with it)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


async def _say(manager: DialogManager, key: str, *texts: str) -> None:
    for text in texts:
        await manager.handle(Turn(session_key=key, text=text, language="en", channel="web"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(backend: Backend) -> Store:
    """This file's tests on both stores (issue 17): the conftest's ``store`` is SQLite alone."""
    return await backend.open()


@pytest.fixture
def live_manager(
    catalog: JobCatalog, phrases: Phrases, store: Store, clock: Clock
) -> DialogManager:
    return DialogManager(
        jobs=catalog, phrases=phrases, store=store, default_language="en", clock=clock
    )


async def _people(manager: DialogManager, store: Store, clock: Clock) -> None:
    """Six people: one going well, one missed three times, one asking for help twice, one
    gone quiet, one who asked to wait, one whose page failed to build."""
    await _say(manager, "web:quiet", "", "1", "Blue Bakery")
    await _say(manager, "web:waiting", "", "1", "Blue Bakery", "wait a minute")
    clock.now += SILENCE_S + 60  # the two above say nothing more from here on
    await _say(manager, "web:fine", "", "1", "Blue Bakery", "bread, cake")
    await _say(manager, "web:missed", "", "4", "Animals", "1", "banana", "lots", "purple")
    await _say(manager, "web:helpless", "", "1", "help", "Blue Bakery", "help")
    for text in cafe_walk():
        await _say(manager, "web:failed", text)
    task = await store.claim_next()
    assert task is not None
    await store.fail(task.request.id or 0, "test_failure", "failed on purpose")  # as a crash
    await manager.generation_failed(task.request)


async def test_each_sign_of_trouble_is_found_and_those_needing_help_come_first(
    live_manager: DialogManager, store: Store, clock: Clock
) -> None:
    await _people(live_manager, store, clock)
    found = live_sessions(await store.live_activity(START - 1), clock.now)
    reasons = {session.key: session.reasons for session in found}
    assert reasons == {
        "web:quiet": ("silence",),
        "web:waiting": (),  # paused on purpose: not stuck
        "web:fine": (),
        "web:missed": ("re_asks",),
        "web:helpless": ("help_twice",),
        "web:failed": ("generation_failed",),
    }
    assert [s.needs_help for s in found] == [True] * 4 + [False] * 2, "help first"
    by_key = {session.key: session for session in found}
    assert by_key["web:fine"].question_id == "opening_hours" and by_key["web:fine"].idle_s == 0
    assert by_key["web:missed"].job_id == "quiz_game" and by_key["web:missed"].channel == "web"
    assert by_key["web:quiet"].idle_s >= SILENCE_S


async def test_ended_and_old_sessions_are_not_live(
    live_manager: DialogManager, store: Store, clock: Clock
) -> None:
    await _say(live_manager, "web:old", "", "1")
    clock.now += 7200
    await _say(live_manager, "web:done", "", "1", "cancel", "yes", "finish")
    await _say(live_manager, "web:new", "", "1")
    keys = [s.key for s in live_sessions(await store.live_activity(clock.now - 3600), clock.now)]
    assert "web:old" not in keys and "web:new" in keys


@sqlite_only  # opens a second store on SQLite's file by its path
async def test_who_is_helping_is_read_from_the_audit_log_until_the_hand_back(
    live_manager: DialogManager, store: SQLiteStore, clock: Clock, tmp_path: Path
) -> None:
    keys = ("web:messaged", "web:handed-back", "web:two-staff", "web:alone")
    for key in keys:
        await _say(live_manager, key, "", "4", "Animals", "1", "banana")
    audit = AuditLog(store, clock=clock)
    await audit.record("sam", "staff", AuditAction.STAFF_MESSAGE, session_key="web:messaged")
    await audit.record("sam", "staff", AuditAction.ANSWER_FOR_USER, session_key="web:handed-back")
    await audit.record("sam", "staff", AuditAction.HAND_BACK, session_key="web:handed-back")
    await audit.record("sam", "staff", AuditAction.STAFF_MESSAGE, session_key="web:two-staff")
    await audit.record("ana", "admin", AuditAction.ANSWER_FOR_USER, session_key="web:two-staff")
    # Acts that are not stepping in name nobody: an artifact reviewed, a sign-in.
    await audit.record("ana", "admin", AuditAction.APPROVE, session_key="web:alone")
    await audit.record("sam", "staff", AuditAction.SIGN_IN)

    async def helpers(read: SQLiteStore) -> dict[str, str | None]:
        found = live_sessions(await read.live_activity(START - 1), clock.now)
        return {session.key: session.helping for session in found}

    assert await helpers(store) == {
        "web:messaged": "sam",  # a message: shown
        "web:handed-back": None,  # handed back: cleared
        "web:two-staff": "ana",  # two staff: the latest
        "web:alone": None,
    }
    await audit.record("ana", "admin", AuditAction.STAFF_MESSAGE, session_key="web:handed-back")
    assert (await helpers(store))["web:handed-back"] == "ana"  # stepping in again after it
    # Another process on the same database file (or this one after a restart) reads the same.
    other = SQLiteStore(tmp_path / "assistant.db")
    await other.open()
    try:
        assert await helpers(other) == await helpers(store)
        assert await other.latest_session_acts(["web:two-staff", "web:nobody"], {"hand_back"}) == {}
    finally:
        await other.close()
    assert helping(None) is None and helping(("sam", AuditAction.HAND_BACK)) is None


async def _fill(data: Path, catalog: JobCatalog, phrases: Phrases) -> None:
    """Two sessions of a moment ago in the data folder ``assistant live`` reads."""
    store = SQLiteStore(data / "assistant.db")
    await store.open()
    try:
        clock = Clock()
        clock.now = time.time()
        manager = DialogManager(
            jobs=catalog, phrases=phrases, store=store, default_language="en", clock=clock
        )
        await _say(manager, "web:missed", "", "4", "Animals", "1", "banana", "lots", "purple")
        await _say(manager, "web:fine", "", "1")
    finally:
        await store.close()


def test_assistant_live_prints_who_needs_help_in_either_language(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    catalog: JobCatalog,
    phrases: Phrases,
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    assert main(["live", "--lang", "en"]) == 0
    assert "No session was used in the last 60 minutes." in capsys.readouterr().out
    asyncio.run(_fill(data, catalog, phrases))
    assert main(["live", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("NEEDS HELP  web:missed  (web, quiz_game, question question_count")
    assert lines[0].endswith("the last three answers were not understood")
    assert lines[1].startswith("ok          web:fine")
    # States as the console names them, not the stored word.
    assert "question question_count, Answering a question, idle" in lines[0]
    assert main(["live", "--lang", "ja"]) == 0
    out = capsys.readouterr().out
    assert "3回続けて答えが伝わりませんでした" in out and "質問に答えている" in out
    assert main(["live", "--minutes", "0"]) == 2
