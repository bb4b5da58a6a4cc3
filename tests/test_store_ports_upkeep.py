"""The upkeep ports on both stores (SQLite on a real file, PostgreSQL on a real server):
attempts per address, the retention clean-up and its runs, the strings a stored photo needs,
counts of rows, and the Telegram ledger.

What staff and users would notice: a guesser's attempts are counted wherever they came from;
a clean-up removes what is past retention and keeps what is in use, a dry run counts the
same and changes nothing, two instances cleaning up at once remove each row once; the bot's
inbox refuses a redelivery and its outbox keeps what is owed, seen by a second instance too.
Only the ports are used: the rows are made and read as the service makes and reads them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from assistant.errors import StoreError
from assistant.events import SessionState
from assistant.ledger import OwedMessage
from assistant.ports import TurnEffects
from assistant.session import Artifact, GenerationRequest, PendingAnswer, Session, TurnRecord
from assistant.upkeep_ports import CleanupReport, RetentionPolicy
from tests.store_backends import Backend, Store

DAY = 86_400.0
NOW = float(int(time.time()))  # chat links and tasks run by hand are stamped with the real time
POLICY = RetentionPolicy(
    ended=7 * DAY, idle=30 * DAY, turns=30 * DAY, artifacts=30 * DAY, links=30 * DAY
)
BUSY = frozenset({"web:idle-long-but-open"})


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()


# -- attempts per address -----------------------------------------------------------------


async def test_attempts_are_counted_per_kind_and_address_within_the_window(store: Store) -> None:
    for code, at in (("AAA", NOW - 100), ("BBB", NOW - 50), ("BBB", NOW - 10), ("CCC", NOW)):
        await store.record_attempt("code", "10.0.0.1", code, at)
    await store.record_attempt("code", "10.0.0.2", "AAA", NOW)
    await store.record_attempt("new_session", "10.0.0.1", "", NOW)
    assert await store.count_attempts("code", "10.0.0.1", NOW - 100) == 4
    assert await store.count_attempts("code", "10.0.0.1", NOW - 60) == 3  # the window's edge
    assert await store.count_attempts("code", "10.0.0.1", NOW - 60, distinct=True) == 2
    assert await store.count_attempts("code", "10.0.0.1", NOW + 1) == 0
    assert await store.count_attempts("new_session", "10.0.0.1", NOW - 1) == 1
    assert await store.count_attempts("staff_sign_in", "10.0.0.1", 0) == 0


async def test_two_instances_count_every_attempt_of_both(backend: Backend) -> None:
    here, elsewhere = await backend.open(), await backend.open()
    await asyncio.gather(
        *(
            s.record_attempt("code", "10.0.0.9", f"C{n}", NOW)
            for n in range(30)
            for s in (here, elsewhere)
        )
    )
    for store in (here, elsewhere):
        assert await store.count_attempts("code", "10.0.0.9", NOW) == 60
        assert await store.count_attempts("code", "10.0.0.9", NOW, distinct=True) == 30


# -- the clean-up -------------------------------------------------------------------------


async def _session(
    store: Store,
    key: str,
    *days_ago: float,
    state: SessionState = SessionState.ASK,
    artifact_id: str | None = None,
) -> Session:
    """A session with one turn per age in ``days_ago`` (oldest first)."""
    session = Session(key=key, language="en", channel="web", state=state, artifact_id=artifact_id)
    for n, days in enumerate(days_ago):
        replies = [{"kind": "text", "text": f"turn {n}"}]
        record = TurnRecord(key, NOW - days * DAY + n, "web", "hi", "ask", state.value, replies)
        session = await store.commit_turn(session, record, TurnEffects())
    return session


async def _artifact(store: Store, name: str, days_ago: float) -> Artifact:
    request = GenerationRequest("cli:generate", "cafe_page", "en", {}, name, 1)
    task_id = await store.enqueue_running(request)
    artifact = Artifact(
        id=name, series=name, version=1, session_key="cli:generate", job_id="cafe_page",
        folder=f"/srv/artifacts/{name}", files=("index.html",), manifest={},
        created=NOW - days_ago * DAY, token=f"token-{name}-" + "x" * 20,
    )  # fmt: skip
    assert await store.finish(task_id, artifact)
    return artifact


async def _fill(store: Store) -> int:
    """Sessions, turns, links, artifacts, tasks and attempts of every age; returns the id of
    a cancelled task 40 days old."""
    await _artifact(store, "old-unused", 40)
    await _artifact(store, "old-but-shown", 40)
    await _artifact(store, "new", 1)
    await _session(store, "web:ended-long-ago", 8, state=SessionState.ENDED)
    await _session(store, "web:ended-yesterday", 1, state=SessionState.ENDED)
    await _session(store, "web:idle-long", 31)
    await _session(store, "web:idle-long-but-open", 31, 31)
    await _session(store, "web:active", 0, 0, 0, artifact_id="old-but-shown")
    await _session(store, "web:long-history", 40, 40, 0)  # long ago, and still used today
    # Idle for long, but its task still waits to be built: kept.
    building = await _session(store, "web:building", 35)  # its latest words, long ago
    request = GenerationRequest("web:building", "cafe_page", "en", {"x": "y"}, "b1", 1)
    record = TurnRecord("web:building", NOW - 31 * DAY, "web", "yes", "confirm", "generating", [])
    await store.commit_turn(building, record, TurnEffects(enqueue=request))
    # A task asked for 40 days ago and cancelled today: its row goes with the old history.
    cancelled = Session(key="web:changed-mind", language="en", channel="web")
    request = GenerationRequest("web:changed-mind", "cafe_page", "en", {}, "c1", 1)
    replies = [{"kind": "text", "text": "building"}]
    record = TurnRecord("web:changed-mind", NOW - 40 * DAY, "web", "yes", "confirm", "ask", replies)
    cancelled = await store.commit_turn(cancelled, record, TurnEffects(enqueue=request))
    task_id = cancelled.generation_id
    assert task_id is not None
    cancelled.generation_id = None
    record = TurnRecord("web:changed-mind", NOW, "web", "stop", "ask", "ask", replies)
    await store.commit_turn(cancelled, record, TurnEffects(cancel_generation=task_id))
    await store.link("telegram:7", "web:idle-long")
    await store.link("telegram:8", "web:active")
    for at in (NOW - 2 * DAY, NOW - 2 * DAY, NOW - 3600):
        await store.record_attempt("code", "10.0.0.1", "AAA", at)
    return task_id


EXPECTED = {
    "sessions": 2,  # ended long ago, idle long
    # Their two; long-history's two old ones, changed-mind's old one, and web:building's
    # last turn, which said nothing (a session's latest words are kept, not its silence).
    "turns": 6,
    "links": 1,  # telegram:7, with its session
    "artifacts": 1,
    "generations": 1,  # the cancelled one
    "attempts": 2,
    "ledger": 0,
}
KEPT = {
    "web:ended-yesterday", "web:idle-long-but-open", "web:active", "web:long-history",
    "web:building", "web:changed-mind",
}  # fmt: skip
GONE = {"web:ended-long-ago", "web:idle-long"}


async def _kept(store: Store) -> set[str]:
    return {key for key in KEPT | GONE if await store.load(key) is not None}


async def test_a_dry_run_counts_what_the_real_run_removes_and_changes_nothing(
    store: Store,
) -> None:
    task_id = await _fill(store)
    turns = await store.count("turns")
    dry = await store.clean_up(POLICY, NOW, BUSY, dry_run=True)
    assert dry.removed == EXPECTED and dry.dry_run
    assert dry.folders == ("/srv/artifacts/old-unused",)
    assert await _kept(store) == KEPT | GONE and await store.count("turns") == turns
    assert await store.artifact("old-unused") is not None
    assert await store.generation_status(task_id) == "cancelled"

    real = await store.clean_up(POLICY, NOW, BUSY, dry_run=False)
    assert (real.removed, real.folders, real.dry_run) == (dry.removed, dry.folders, False)
    assert await store.count("turns") == turns - EXPECTED["turns"]
    again = await store.clean_up(POLICY, NOW, BUSY, dry_run=False)
    assert set(again.removed.values()) == {0} and again.folders == ()


async def test_the_clean_up_keeps_sessions_in_use_and_what_they_point_at(store: Store) -> None:
    task_id = await _fill(store)
    await store.clean_up(POLICY, NOW, BUSY, dry_run=False)
    assert await _kept(store) == KEPT
    assert await store.history("web:idle-long") == []
    assert (
        await store.linked("telegram:7") is None
        and await store.linked("telegram:8") == "web:active"
    )
    assert await store.artifact("old-unused") is None
    assert await store.artifact("old-but-shown") is not None and await store.artifact("new")
    # A kept session loses turns past retention, never its latest words; a busy one none.
    history = await store.history("web:long-history")
    assert [turn["replies"][0]["text"] for turn in history] == ["turn 2"]
    assert await store.last_replies("web:long-history") == [{"kind": "text", "text": "turn 2"}]
    assert len(await store.history("web:idle-long-but-open")) == 2
    assert await store.generation_status(task_id) is None
    assert await store.depth() == 1  # web:building's task still waits
    assert await store.last_replies("web:building") == [{"kind": "text", "text": "turn 0"}]
    assert len(await store.history("web:building")) == 1
    assert await store.count_attempts("code", "10.0.0.1", 0) == 1


async def test_nothing_is_removed_by_ages_of_zero(store: Store) -> None:
    await _fill(store)
    report = await store.clean_up(RetentionPolicy(attempts=0), NOW, frozenset(), dry_run=False)
    assert set(report.removed.values()) == {0} and report.removed.keys() == EXPECTED.keys()
    assert await _kept(store) == KEPT | GONE


async def test_two_instances_cleaning_up_at_once_remove_each_row_once(backend: Backend) -> None:
    here, elsewhere = await backend.open(), await backend.open()
    await _fill(here)
    first, second = await asyncio.gather(
        here.clean_up(POLICY, NOW, BUSY, dry_run=False),
        elsewhere.clean_up(POLICY, NOW, BUSY, dry_run=False),
    )
    summed = {name: first.removed[name] + second.removed[name] for name in EXPECTED}
    assert summed == EXPECTED
    assert sorted(first.folders + second.folders) == ["/srv/artifacts/old-unused"]
    assert await _kept(elsewhere) == KEPT


async def test_a_session_used_elsewhere_during_the_clean_up_keeps_its_turn_or_refuses_it(
    backend: Backend,
) -> None:
    """Never both: a turn stored on one instance and its session removed by another's
    clean-up at the same moment (the user would find their session gone after an answer)."""
    janitor, serving = await backend.open(), await backend.open()
    sessions = [await _session(serving, f"web:old-{n}", 31) for n in range(20)]

    async def come_back(session: Session) -> bool:
        replies = [{"kind": "text", "text": "welcome back"}]
        record = TurnRecord(session.key, NOW, "web", "hi", "ask", "ask", replies)
        try:
            await serving.commit_turn(session, record, TurnEffects())
        except StoreError as err:
            assert err.code == "session_conflict"
            return False
        return True

    report, stored = await asyncio.gather(
        janitor.clean_up(POLICY, NOW, frozenset(), dry_run=False),
        asyncio.gather(*(come_back(session) for session in sessions)),
    )
    for session, turn_stored in zip(sessions, stored, strict=True):
        assert (await janitor.load(session.key) is not None) == turn_stored, session.key
    assert report.removed["sessions"] == stored.count(False)


async def test_the_last_real_run_is_kept_for_staff_and_seen_by_another_instance(
    backend: Backend,
) -> None:
    here, elsewhere = await backend.open(), await backend.open()
    assert await here.last_cleanup() is None
    await here.record_cleanup(CleanupReport(NOW, False, {"sessions": 3, "photos": 1}))
    await here.record_cleanup(CleanupReport(NOW + 60, True, {"sessions": 9}))  # a dry run
    last = await elsewhere.last_cleanup()
    assert last == CleanupReport(NOW, False, {"sessions": 3, "photos": 1})
    for n in range(105):
        await elsewhere.record_cleanup(CleanupReport(NOW + 100 + n, False, {"sessions": n}))
    assert await here.last_cleanup() == CleanupReport(NOW + 204, False, {"sessions": 104})
    assert await here.count("cleanup_runs") == 100  # only the latest runs are kept


async def test_the_strings_in_use_are_those_of_kept_sessions_and_tasks_to_build(
    store: Store,
) -> None:
    session = Session(
        key="web:a", language="en", channel="web", state=SessionState.ASK,
        answers={"logo": "photo-1", "menu": ["パン", {"name": "photo-2", "n": 3}], "ok": True},
        pending=PendingAnswer("shop_name", "photo-3"),
        undo=[{"answers": {"logo": "photo-4"}, "look": {"title": 2}}],
    )  # fmt: skip
    await store.commit_turn(
        session, TurnRecord("web:a", NOW, "web", "hi", "ask", "ask", []), TurnEffects()
    )
    waiting = GenerationRequest("web:b", "cafe_page", "en", {"photo": "photo-5"}, "s5", 1)
    built = GenerationRequest("web:c", "cafe_page", "en", {"photo": "photo-6"}, "s6", 1)
    session_b = Session(key="web:b", language="en", channel="web")
    record = TurnRecord("web:b", NOW, "web", "yes", "confirm", "generating", [])
    await store.commit_turn(session_b, record, TurnEffects(enqueue=waiting))
    task_id = await store.enqueue_running(built)
    await store.fail(task_id, "broken", "a finished task's answers are not in use")
    assert await store.strings_in_use() == {
        "photo-1", "パン", "photo-2", "shop_name", "photo-3", "photo-4", "photo-5",
    }  # fmt: skip


# -- counts -------------------------------------------------------------------------------


async def test_count_gives_the_rows_of_a_table_and_refuses_any_other_name(store: Store) -> None:
    await _session(store, "web:a", 1, 0)
    assert (await store.count("sessions"), await store.count("turns")) == (1, 2)
    assert await store.count("attempts") == 0
    with pytest.raises((StoreError, sqlite3.OperationalError)):
        await store.count("sessions; DROP TABLE turns")
    assert await store.count("turns") == 2


# -- the Telegram ledger ------------------------------------------------------------------


def _message(chat_id: int, text: str, **extra: object) -> OwedMessage:
    return OwedMessage(chat_id, "sendMessage", {"chat_id": chat_id, "text": text, **extra})


async def test_the_ledger_takes_an_update_once_and_finishes_it_with_its_messages(
    backend: Backend,
) -> None:
    bot, other = await backend.open(), await backend.open()
    ledger = bot.telegram_ledger
    payload = '{"update_id": 3000000001, "message": {"message_id": 41, "text": "こんにちは"}}'
    assert await ledger.take(3_000_000_001, 5_000_000_005, payload) is True
    assert await ledger.take(3_000_000_001, 5_000_000_005, payload) is False  # a redelivery
    assert await other.telegram_ledger.take(3_000_000_001, 5_000_000_005, payload) is False
    await ledger.begin(3_000_000_001, 7)
    [pending] = await other.telegram_ledger.unfinished()
    assert (pending.update_id, pending.chat_id, pending.revision) == (
        3_000_000_001,
        5_000_000_005,
        7,
    )
    assert pending.payload == payload  # handed back as written

    owed = [_message(5_000_000_005, "ようこそ"), _message(5_000_000_005, "…", progress=True)]
    stored = await ledger.finish(3_000_000_001, owed)
    assert [m.params for m in stored] == [m.params for m in owed]
    assert stored[0].id and stored[1].id > stored[0].id
    assert await other.telegram_ledger.unfinished() == []
    assert await other.telegram_ledger.unsent() == stored
    await ledger.begin(3_000_000_001, 9)  # a done update is not begun again
    assert await ledger.unfinished() == []


async def test_the_ledger_sends_gives_up_and_remembers_the_progress_message(
    backend: Backend,
) -> None:
    bot, other = await backend.open(), await backend.open()
    ledger = bot.telegram_ledger
    await ledger.take(1, 5, '{"message": {"message_id": 50}}')
    first, progress, failing, later_progress, owed = await ledger.finish(
        1,
        [
            _message(5, "hello"), _message(5, "working", progress=True),
            _message(5, "see token-abc"), _message(5, "working", progress=True),
            _message(6, "still owed"),
        ],
    )  # fmt: skip
    assert await other.telegram_ledger.progress_message(5) is None  # none sent yet
    await ledger.sent(first.id, 51)
    await ledger.sent(progress.id, 52)
    await ledger.given_up(failing.id, "gave up after 5 tries: " + "x" * 600)
    assert await other.telegram_ledger.progress_message(5) == 52
    await ledger.sent(later_progress.id, 54)
    assert await other.telegram_ledger.progress_message(5) == 54
    assert await other.telegram_ledger.progress_message(6) is None
    assert await other.telegram_ledger.unsent() == [owed]
    [given_up] = await other.telegram_ledger.given_up_messages()
    assert (given_up["id"], given_up["chat_id"], given_up["method"]) == (
        failing.id,
        5,
        "sendMessage",
    )
    assert "see token-abc" in given_up["params"] and len(given_up["reason"]) == 500
    assert await other.telegram_ledger.mentions(5, "token-abc")
    assert not await other.telegram_ledger.mentions(6, "token-abc")
    assert await other.telegram_ledger.last_message_ids() == {5: 54}
    await ledger.take(2, 5, '{"message": {"message_id": 60}}')  # the user wrote since
    await ledger.take(3, 7, '{"message": {"message_id": 8}}')
    assert await other.telegram_ledger.last_message_ids() == {5: 60, 7: 8}
    assert sorted(await other.telegram_ledger.recent_chats(time.time() - 60)) == [5, 7]
    assert await other.telegram_ledger.recent_chats(time.time() + 60) == []


async def test_the_clean_up_keeps_what_the_bot_still_needs_from_its_ledger(store: Store) -> None:
    ledger = store.telegram_ledger
    for update_id, chat in ((1, 5), (2, 5), (3, 5), (4, 6), (5, 7)):
        await ledger.take(update_id, chat, f'{{"message": {{"message_id": {update_id}}}}}')
    for update_id in (1, 2, 3):
        await ledger.finish(update_id, [])
    await ledger.begin(5, 1)  # unfinished: recovery needs it
    sent_old, sent_new, given_up, owed = await ledger.finish(
        4, [_message(5, "a"), _message(5, "b"), _message(6, "c"), _message(6, "d")]
    )
    await ledger.sent(sent_old.id, 10)
    await ledger.sent(sent_new.id, 11)
    await ledger.given_up(given_up.id, "blocked")
    later = time.time() + 40 * DAY  # everything is past the history's 30 days by then
    report = await store.clean_up(POLICY, later, frozenset(), dry_run=False)
    # Gone: updates 1 and 2 (chat 5's latest is 3), message 10 (chat 5's latest sent is 11)
    # and the given-up one (no message id); kept: chat 6's latest update, the unfinished
    # update, and the message still owed.
    assert report.removed["ledger"] == 4
    assert [u.update_id for u in await ledger.unfinished()] == [5]
    assert await ledger.unsent() == [owed]
    assert await ledger.given_up_messages() == []
    assert await ledger.last_message_ids() == {5: 11, 6: 4, 7: 5}
    assert await store.count("telegram_updates") == 3
