"""The staff console's ports on both stores (issue 17, pg-staff): the audit log, the figures
behind the charts, the live list, job versions and staff accounts.

Each test uses the ports as the console, the sign-in and ``assistant staff`` do; two stores
opened on one database stand for two instances racing (a job saved twice at once, failed
sign-ins on both at once). The charts test fills a SQLite store and a PostgreSQL store
through the same port calls and holds their figures equal, in a zone whose offset is not a
whole hour, with sessions on both sides of its midnight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import StoreError
from assistant.events import SessionState
from assistant.ports import TurnEffects
from assistant.session import Artifact, GenerationRequest, Session, TurnRecord
from assistant.staff.accounts import Account
from assistant.staff.audit import AuditAction
from assistant.staff.live import HELP_ACTS, SessionActivity
from assistant.store.postgres.store import PostgresStore
from assistant.store.sqlite import SQLiteStore
from tests.store_backends import Backend, Store

NOW = 1_700_000_000.0


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()


async def _say(
    store: Store,
    session: Session,
    at: float,
    state: SessionState,
    replies: list[dict[str, Any]] | None = None,
    confidence: float | None = None,
    effects: TurnEffects | None = None,
) -> Session:
    """One turn of ``session`` that leaves it in ``state``."""
    before = session.state.value
    session = replace(session, state=state)
    record = TurnRecord(
        session.key, at, session.channel, "words", before, state.value, replies or [], confidence
    )
    return await store.commit_turn(session, record, effects or TurnEffects())


def _asks(question: str, problem: bool = False) -> list[dict[str, Any]]:
    told = [{"kind": "problem", "text": "Too long."}] if problem else []
    return [*told, {"kind": "question", "text": "?", "question_id": question}]


# -- the audit log ------------------------------------------------------------------------


def _entry(n: int, who: str, action: str, **more: Any) -> dict[str, Any]:
    return {"at": NOW + n, "who": who, "role": "staff", "action": action, **more}


async def test_the_audit_log_is_searched_by_every_filter_newest_first(store: Store) -> None:
    ids = [
        await store.append_audit(_entry(0, "ana", AuditAction.SIGN_IN, address="10.0.0.1")),
        await store.append_audit(
            _entry(1, "bo", AuditAction.STAFF_MESSAGE, session_key="web:1",
                   detail={"text": "Café 100% OK_ja 青い店", "n": 2})
        ),
        await store.append_audit(
            _entry(2, "ana", "artifact_approved", artifact_id="s1v1", detail={"note": "ÉTÉ"})
        ),
        await store.append_audit(_entry(3, "cy", AuditAction.HAND_BACK, session_key="web:1")),
    ]  # fmt: skip
    assert ids == sorted(ids)
    everything = await store.search_audit({}, 0)
    assert [row["id"] for row in everything] == ids[::-1], "0 is every row, newest first"
    assert everything[2] == {
        "id": ids[1], "at": NOW + 1, "who": "bo", "role": "staff", "action": "staff_message",
        "address": "", "session_key": "web:1", "artifact_id": None,
        "detail": {"text": "Café 100% OK_ja 青い店", "n": 2},
    }  # fmt: skip
    assert [r["id"] for r in await store.search_audit({}, 2)] == ids[:1:-1]

    async def found(**filters: Any) -> list[int]:
        return [row["id"] for row in await store.search_audit(filters, 0)]

    assert await found(who="ana") == [ids[2], ids[0]]
    assert await found(who="ana", action="sign_in") == [ids[0]]
    assert await found(session_key="web:1", who=None) == [ids[3], ids[1]]
    assert await found(artifact_id="s1v1") == [ids[2]]
    assert await found(since=NOW + 1, until=NOW + 3) == [ids[2], ids[1]]
    assert await found(text="10.0.0") == [ids[0]], "the address"
    assert await found(text="cafÉ") == [], "non-ASCII letters keep their case, as in SQLite"
    assert await found(text="CAFé 100%") == [ids[1]], "ASCII case folds; % is a character"
    assert await found(text="k_j") == [ids[1]], "_ is a character"
    assert await found(text="0%") == [ids[1]]
    assert await found(text="青い") == [ids[1]], "the detail is searched"
    assert await found(text="été") == [], "É is not é"
    assert await found(text="ÉTÉ") == [ids[2]]
    assert await found(text="HAND_back") == [ids[3]], "the action"
    assert await found(text="nobody") == []


async def test_audit_rows_cannot_be_changed_or_removed_even_by_sql(store: Store) -> None:
    await store.append_audit(_entry(0, "ana", AuditAction.SIGN_IN))
    statements = ["UPDATE audit_log SET who = 'eve'", "DELETE FROM audit_log"]
    if isinstance(store, PostgresStore):
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(Exception, match="append-only"):
            await _raw_sql(store, statement)
    assert [row["who"] for row in await store.search_audit({}, 0)] == ["ana"]


async def _raw_sql(store: Store, statement: str) -> None:
    """``statement`` on the store's own database, past every port."""
    if isinstance(store, SQLiteStore):

        def run() -> None:
            with store.db.conn:
                store.db.conn.execute(statement)

        await store.run(run)
    else:
        async with store.db.connection() as conn:
            await conn.execute(statement)


async def test_each_sessions_latest_help_act_whoever_wrote_it(backend: Backend) -> None:
    here, there = await backend.open(), await backend.open()
    await here.append_audit(_entry(0, "ana", AuditAction.STAFF_MESSAGE, session_key="a"))
    await there.append_audit(_entry(1, "bo", AuditAction.ANSWER_FOR_USER, session_key="a"))
    await here.append_audit(_entry(2, "cy", AuditAction.SIGN_IN, session_key="a"))
    await there.append_audit(_entry(3, "di", AuditAction.HAND_BACK, session_key="b"))
    await here.append_audit(_entry(4, "eve", AuditAction.STAFF_MESSAGE, session_key="c"))
    acts = await here.latest_session_acts(["a", "b", "nobody"], HELP_ACTS)
    assert acts == {"a": ("bo", "answer_for_user"), "b": ("di", "hand_back")}
    assert await there.latest_session_acts([], HELP_ACTS) == {}
    assert await there.latest_session_acts(["a"], []) == {}


# -- the figures behind the charts --------------------------------------------------------


@pytest.fixture
def india_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """Local time in a zone of UTC+5:30; yields its midnight starting 25 November 2026."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield time.mktime((2026, 11, 25, 0, 0, 0, 0, 0, -1))
    monkeypatch.undo()
    time.tzset()


async def _fill_history(store: Store, midnight: float, folder: Path) -> None:
    """Four sessions in the window (two jobs, re-asks, spoken answers, a page delivered, a
    build failed, one that never chose) and one before it, through the ports alone."""
    old = Session(key="old", language="en", channel="web", job_id="cafe_page")
    await _say(store, old, midnight - 86_400 * 10, SessionState.ASK, _asks("shop_name"))

    ann = Session(key="ann", language="en", channel="web", job_id="cafe_page")
    at = midnight - 600  # 23:50 the evening before
    ann = await _say(store, ann, at, SessionState.ASK, _asks("shop_name"))
    ann = await _say(store, ann, at + 5, SessionState.ASK, _asks("menu_items"), 0.5)
    ann = await _say(store, ann, at + 9, SessionState.ASK, _asks("menu_items", True), 0.25)
    ann = await _say(store, ann, at + 20, SessionState.ASK, _asks("opening_hours"), 0.75)
    ann = await _say(store, ann, at + 30, SessionState.CONFIRM)
    request = GenerationRequest("ann", "cafe_page", "en", {"shop_name": "A"}, "s-ann", 1)
    ann = await _say(store, ann, at + 40, SessionState.GENERATING, effects=TurnEffects(request))
    task = await store.claim_next()
    assert task is not None and task.request.id is not None
    manifest = {"llm": {"model": "qwen", "outcome": "used", "seconds": 1.5}}
    made = Artifact("s-annv1", "s-ann", 1, "ann", "cafe_page", str(folder), ("index.html",),
                    manifest, midnight + 50, token="t-ann")  # fmt: skip
    assert await store.finish(task.request.id, made)
    await _say(store, ann, at + 100, SessionState.DELIVERED)

    bo = Session(key="bo", language="ja", channel="kiosk", job_id="cafe_page")
    bo = await _say(store, bo, midnight + 600, SessionState.ASK, _asks("shop_name"))
    await _say(store, bo, midnight + 610, SessionState.ASK, _asks("menu_items"), 0.5)

    cy = Session(key="cy", language="en", channel="web")
    await _say(store, cy, midnight + 700, SessionState.CHOOSE_JOB)

    di = Session(key="di", language="en", channel="telegram", job_id="quiz")
    di = await _say(store, di, midnight + 3600, SessionState.ASK, _asks("topic"))
    di = await _say(store, di, midnight + 3610, SessionState.CONFIRM, [], 0.5)
    request = GenerationRequest("di", "quiz", "en", {"topic": "x"}, "s-di", 1)
    await _say(store, di, midnight + 3620, SessionState.GENERATING, effects=TurnEffects(request))
    task = await store.claim_next()
    assert task is not None and task.request.id is not None
    await store.fail(task.request.id, "check_failed", "the quiz did not pass its checks")


@pytest.mark.slow
async def test_the_charts_read_the_same_rows_from_both_stores(
    india_time: float, tmp_path: Path, postgres_url: str
) -> None:
    sqlite, postgres = SQLiteStore(tmp_path / "assistant.db"), PostgresStore(postgres_url)
    await sqlite.open()
    await postgres.open()
    try:
        for one in (sqlite, postgres):
            await _fill_history(one, india_time, tmp_path)
        since = india_time - 86_400
        on_sqlite, on_postgres = await sqlite.figures(since), await postgres.figures(since)
    finally:
        await sqlite.close()
        await postgres.close()
    assert set(on_postgres) == set(on_sqlite)
    # Durations of builds are the wall clock's: the same jobs, each a time.
    assert [job for job, _ in on_postgres.pop("generation")] == ["cafe_page"]
    assert [job for job, _ in on_sqlite.pop("generation")] == ["cafe_page"]
    unordered = ("questions", "confidence", "to_delivery")  # SQLite gives these no order
    for name, rows in on_sqlite.items():
        expected = sorted(rows) if name in unordered else rows
        assert on_postgres[name] == expected, name
    assert on_postgres["days"] == [
        ("2026-11-24", "web", 1, 1), ("2026-11-25", "kiosk", 1, 0),
        ("2026-11-25", "telegram", 1, 0), ("2026-11-25", "web", 1, 0),
    ]  # fmt: skip
    assert on_postgres["jobs"] == [("cafe_page", 2, 1, 1), ("", 1, 0, 0), ("quiz", 1, 1, 0)]
    assert on_postgres["confidence"] == [
        ("cafe_page", "menu_items", 2, 0.5, 1), ("cafe_page", "shop_name", 2, 0.5, 2),
        ("quiz", "topic", 1, 0.5, 1),
    ]  # fmt: skip
    assert on_postgres["to_delivery"] == [(100.0,)]
    assert on_postgres["models"] == [("qwen", "used", 1, 1.5)]
    assert on_postgres["failures"] == [("check_failed", 1)]


# -- the live list ------------------------------------------------------------------------


async def test_the_live_list_reads_sessions_turns_builds_and_helpers(backend: Backend) -> None:
    here, there = await backend.open(), await backend.open()
    ann = Session(key="ann", language="en", channel="web", job_id="cafe_page")
    for n in range(5):
        ann = await _say(here, ann, NOW + n, SessionState.ASK, _asks(f"q{n}"))
    request = GenerationRequest("ann", "cafe_page", "en", {}, "s-ann", 1)
    ann = await _say(here, ann, NOW + 5, SessionState.GENERATING, effects=TurnEffects(request))
    bo = Session(key="bo", language="ja", channel="kiosk", paused=True)
    bo = await _say(there, bo, NOW + 7, SessionState.CHOOSE_JOB)
    gone = Session(key="gone", language="en", channel="web")
    gone = await _say(there, gone, NOW + 8, SessionState.ASK)
    await _say(there, gone, NOW + 9, SessionState.ENDED)
    old = Session(key="old", language="en", channel="web")
    await _say(here, old, NOW - 3600, SessionState.ASK)
    await there.append_audit(_entry(6, "ana", AuditAction.STAFF_MESSAGE, session_key="bo"))

    live = await there.live_activity(NOW - 60, limit=10, turns=3)
    assert [(a.key, a.updated) for a in live] == [("bo", NOW + 7), ("ann", NOW + 5)]
    assert live[0] == SessionActivity(
        key="bo", channel="kiosk", language="ja", state="choose_job", job_id=None, paused=True,
        updated=NOW + 7,
        turns=[{"at": NOW + 7, "text": "words", "state_after": "choose_job", "replies": []}],
        last_generation=None, last_help_act=("ana", "staff_message"),
    )  # fmt: skip
    assert [turn["at"] for turn in live[1].turns] == [NOW + 3, NOW + 4, NOW + 5]
    assert live[1].turns[0]["replies"] == _asks("q3")
    assert (live[1].last_generation, live[1].last_help_act) == ("pending", None)
    assert [a.key for a in await here.live_activity(NOW - 60, limit=1)] == ["bo"]
    assert [a.turns for a in await here.live_activity(NOW + 6, turns=0)] == [[]]
    assert await here.live_activity(NOW + 60) == []


# -- job versions -------------------------------------------------------------------------


async def test_job_versions_are_numbered_per_job_and_sessions_in_a_job_found(
    store: Store,
) -> None:
    versions = store.job_versions()
    first = await versions.add("cafe_page", "a: 1\n", "ana", NOW, "")
    await versions.add("quiz", "q: 1\n", "ana", NOW + 1, "quiz")
    second = await versions.add("cafe_page", "a: 2\n", "bo", NOW + 2, "longer hours")
    assert (first.version, second.version) == (1, 2)
    assert await versions.versions("cafe_page") == [first, second]
    assert [v.version for v in await versions.versions("quiz")] == [1]
    assert await versions.versions("none") == []

    for key, state, digest in [
        ("b", SessionState.ASK, "d1"), ("a", SessionState.CONFIRM, None),
        ("c", SessionState.ENDED, "d1"), ("d", SessionState.GENERATING, "d2"),
    ]:  # fmt: skip
        session = Session(key=key, language="en", channel="web", job_id="cafe_page")
        await _say(store, replace(session, job_digest=digest), NOW, state)
    assert sorted(await versions.sessions_in("cafe_page")) == ["a", "b", "d"]
    assert await versions.started() == [("b", "cafe_page", "d1"), ("d", "cafe_page", "d2")]


async def test_two_instances_saving_one_job_at_once_never_share_a_number(
    backend: Backend,
) -> None:
    stores = [await backend.open(), await backend.open()]
    saves = [
        stores[n % 2].job_versions().add("cafe_page", f"text {n}\n", f"staff{n}", NOW + n, "")
        for n in range(12)
    ]
    saved = await asyncio.gather(*saves)
    assert sorted(v.version for v in saved) == list(range(1, 13))
    kept = await stores[0].job_versions().versions("cafe_page")
    assert sorted(v.text for v in kept) == sorted(f"text {n}\n" for n in range(12))
    assert kept == sorted(saved, key=lambda v: v.version), "what each save returned is kept"


# -- staff accounts -----------------------------------------------------------------------


def _account(name: str, role: str = "staff") -> Account:
    return Account(name=name, role=role, password_hash=f"$argon2id$hash-of-{name}", created=NOW)


async def test_accounts_are_stored_changed_and_listed_by_name(store: Store) -> None:
    accounts = store.staff_accounts()
    assert await accounts.insert(_account("bo")) is True
    assert await accounts.insert(_account("Zed", "admin")) is True
    assert await accounts.insert(_account("bo", "admin")) is False, "a name is taken once"
    assert await accounts.get("bo") == _account("bo")
    assert await accounts.get("nobody") is None
    await accounts.update("bo", disabled=1, session_epoch=1, totp_secret="SECRET", role="admin")
    await accounts.update("bo", totp_last_step=59_000_000, first_failure=None)
    changed = await accounts.get("bo")
    assert changed == replace(
        _account("bo", "admin"), disabled=True, session_epoch=1, totp_secret="SECRET",
        totp_last_step=59_000_000,
    )  # fmt: skip
    assert [a.name for a in await accounts.all()] == ["Zed", "bo"], "byte order, as SQLite"
    with pytest.raises(ValueError, match="created"):
        await accounts.update("bo", created=0.0)


async def test_failures_count_in_a_window_and_lock_then_start_again(store: Store) -> None:
    accounts = store.staff_accounts()
    await accounts.insert(_account("ana"))
    for n in range(4):
        await accounts.record_failure("ana", NOW + n, 900, 5, 600)
    ana = await accounts.get("ana")
    assert ana is not None and (ana.failures, ana.first_failure, ana.locked_until) == (
        4, NOW, None,
    )  # fmt: skip
    await accounts.record_failure("ana", NOW + 1000, 900, 5, 600)  # the window passed
    ana = await accounts.get("ana")
    assert ana is not None and (ana.failures, ana.first_failure) == (1, NOW + 1000)
    for n in range(4):
        await accounts.record_failure("ana", NOW + 1001 + n, 900, 5, 600)
    ana = await accounts.get("ana")
    assert ana is not None and (ana.failures, ana.first_failure, ana.locked_until) == (
        0, None, NOW + 1004 + 600,
    )  # fmt: skip
    await accounts.record_failure("nobody", NOW, 900, 5, 600)  # no account: nothing to count


async def test_failures_on_two_instances_at_once_are_all_counted(backend: Backend) -> None:
    stores = [await backend.open(), await backend.open()]
    await stores[0].staff_accounts().insert(_account("ana"))
    await stores[0].staff_accounts().insert(_account("bo"))
    # Nine guesses at ana at once (the ninth past a limit of 5), four at bo.
    guesses = [
        stores[n % 2].staff_accounts().record_failure(name, NOW + 1, 900, 5, 600)
        for name, times in (("ana", 9), ("bo", 4))
        for n in range(times)
    ]
    addresses = [
        stores[n % 2].staff_accounts().record_address_failure("10.0.0.9", NOW + n) for n in range(6)
    ]
    await asyncio.gather(*guesses, *addresses)
    ana, bo = (
        await stores[1].staff_accounts().get("ana"),
        await stores[1].staff_accounts().get("bo"),
    )
    assert ana is not None and bo is not None
    assert (ana.locked_until, ana.failures) == (NOW + 601, 4), "locked by the fifth, four since"
    assert (bo.locked_until, bo.failures) == (None, 4), "no failure lost"
    accounts = stores[0].staff_accounts()
    assert await accounts.address_failures("10.0.0.9", NOW) == 6
    assert await accounts.address_failures("10.0.0.9", NOW + 4) == 2
    assert await accounts.address_failures("10.0.0.8", NOW) == 0


async def test_the_store_refuses_what_the_port_does_not_allow(store: Store) -> None:
    """An unknown field names itself; a second account of one name is not an error but False."""
    accounts = store.staff_accounts()
    await accounts.insert(_account("ana"))
    with pytest.raises(ValueError, match="password"):
        await accounts.update("ana", password="plain")
    with pytest.raises(StoreError):
        await store.append_audit({"at": NOW, "who": None, "role": "staff", "action": "x"})
