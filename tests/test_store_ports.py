"""One suite for the store's core ports, run on both stores: SQLite on a real file, and
PostgreSQL on a real server (``testing/postgres.py``: initdb and pg_ctl in a temporary folder).

Each test uses the ports as the dialog, the generation queue, the server and the chat
channels do: sessions saved and loaded, a stale writer refused, codes found and expiring, the
history and the last replies, enqueue and cancel atomic with the turn, claims by concurrent
workers, requeue after a crash, finish and fail, artifacts by id and token, chat links and
seats. Two stores opened on one database stand for two processes. The PostgreSQL cases are
``slow`` (a subprocess server: its cluster takes about 5 s to make once per test worker);
the tests that only PostgreSQL can pass (leases, migrations) are in ``test_store_postgres.py``.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import StoreError
from assistant.events import SessionState, Turn
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.ports import TurnEffects
from assistant.session import (
    Artifact,
    GenerationRequest,
    PendingAnswer,
    Session,
    TurnRecord,
)
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing.cafe_walk import cafe_walk
from testing.walk import english_manager
from tests.store_backends import Backend, Store

NOW = 1_700_000_000.0


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()


def _record(
    session: Session,
    at: float = NOW,
    replies: list[dict[str, Any]] | None = None,
    before: str = "welcome",
    confidence: float | None = None,
) -> TurnRecord:
    return TurnRecord(
        session.key, at, "web", "hi", before, session.state.value, replies or [], confidence
    )


def _request(key: str = "k", version: int = 1) -> GenerationRequest:
    return GenerationRequest(
        key, "cafe_page", "ja", {"shop_name": "青い店"}, "s1", version, look={"title": 1}
    )


def _artifact(task_id: int, version: int = 1, folder: str = "/tmp/a") -> Artifact:
    return Artifact(
        f"s1v{version}", "s1", version, "k", "cafe_page", folder, ("index.html", "style.css"),
        {"job": "cafe_page", "answers": {"shop_name": "青い店"}, "task": task_id},
        NOW + version, token=f"token-{version}", expires=NOW + 3600,
    )  # fmt: skip


# -- sessions -----------------------------------------------------------------------------


async def test_a_session_is_saved_and_loaded_whole(store: Store) -> None:
    session = Session(
        key="web:1", language="ja", channel="web", code="ABC234", state=SessionState.ASK,
        job_id="cafe_page", index=2,
        answers={"shop_name": "青い店", "menu_items": ["パン", "コーヒー"], "open": True, "n": 3.5},
        edit_id="shop_name", paused=True, preferences={"speech_rate": 1.2}, series="s1",
        version=2, artifact_id="s1v1", pending=PendingAnswer("shop_name", "青い店"),
        ask_next=["opening_hours"], look={"title": 2},
        undo=[{"answers": {"shop_name": "赤い店"}, "look": {}}], job_digest="d1",
    )  # fmt: skip
    saved = await store.commit_turn(session, _record(session), TurnEffects())
    assert (saved.revision, saved.created, saved.updated) == (1, NOW, NOW)
    assert await store.load("web:1") == saved
    assert await store.load("nobody") is None

    saved.answers["opening_hours"] = "9-17"
    saved.pending = None
    again = await store.commit_turn(saved, _record(saved, NOW + 5), TurnEffects())
    loaded = await store.load("web:1")
    assert loaded == again and loaded is not None
    assert (loaded.revision, loaded.created, loaded.updated) == (2, NOW, NOW + 5)
    assert loaded.pending is None and loaded.answers["opening_hours"] == "9-17"


async def test_a_stale_writer_is_refused_and_its_turn_leaves_nothing(backend: Backend) -> None:
    here, elsewhere = await backend.open(), await backend.open()
    session = Session(key="k", language="en", channel="web")
    await here.commit_turn(session, _record(session), TurnEffects())
    mine, theirs = await here.load("k"), await elsewhere.load("k")
    assert mine is not None and theirs is not None
    theirs.answers = {"x": "theirs"}
    await elsewhere.commit_turn(theirs, _record(theirs, NOW + 1), TurnEffects())
    mine.answers = {"x": "mine"}
    mine.state = SessionState.GENERATING
    with pytest.raises(StoreError) as caught:
        await here.commit_turn(mine, _record(mine, NOW + 2), TurnEffects(enqueue=_request()))
    assert caught.value.code == "session_conflict"
    loaded = await here.load("k")
    assert loaded is not None and loaded.answers == {"x": "theirs"} and loaded.revision == 2
    assert len(await here.history("k")) == 2, "the refused turn left no history row"
    assert await here.depth() == 0, "nor its task: the enqueue went with the turn"

    twin = Session(key="k", language="en", channel="web")  # a second "new" session, same key
    with pytest.raises(StoreError) as caught:
        await elsewhere.commit_turn(twin, _record(twin), TurnEffects())
    assert caught.value.code == "session_conflict"


async def test_of_writers_racing_on_one_revision_exactly_one_wins(backend: Backend) -> None:
    stores = [await backend.open(), await backend.open()]
    base = Session(key="race", language="en", channel="web")
    base = await stores[0].commit_turn(base, _record(base), TurnEffects())
    attempts = [
        stores[n % 2].commit_turn(
            replace(base, answers={"n": n}), _record(base, NOW + n), TurnEffects()
        )
        for n in range(8)
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    won = [r for r in results if isinstance(r, Session)]
    lost = [r for r in results if isinstance(r, StoreError) and r.code == "session_conflict"]
    assert len(won) == 1 and len(lost) == 7, results
    assert await stores[1].load("race") == won[0]
    assert len(await stores[1].history("race")) == 2


async def test_codes_are_unique_and_found_case_insensitively(store: Store) -> None:
    first = Session(key="a", language="en", channel="web", code="ABC234")
    second = Session(key="b", language="en", channel="web", code="ABC234")
    await store.commit_turn(first, _record(first), TurnEffects())
    saved = await store.commit_turn(second, _record(second), TurnEffects())
    assert saved.code != "ABC234", "a clash draws a new code"
    assert (await store.load("b")) == saved
    found = await store.find_by_code(" abc234 ")
    assert found is not None and found.key == "a"
    assert await store.find_by_code("ZZZZZZ") is None


async def test_codes_expire_after_their_lifetime_and_with_their_session(
    backend: Backend,
) -> None:
    now = [NOW]
    store = await backend.open(code_lifetime=3 * 3600, clock=lambda: now[0])
    session = Session(key="web:x", language="en", channel="web")
    session = await store.commit_turn(session, _record(session, now[0]), TurnEffects())
    now[0] += 2 * 3600
    assert await store.find_by_code(session.code.lower()) == session
    now[0] += 2 * 3600
    assert await store.find_by_code(session.code) is None
    store.code_lifetime = None  # 0 hours in the settings: codes never expire
    assert await store.find_by_code(session.code) == session
    session.state = SessionState.ENDED
    await store.commit_turn(session, _record(session, now[0]), TurnEffects())
    assert await store.find_by_code(session.code) is None, "an ended session's code is dead"


async def test_history_records_questions_asked_and_answered_and_the_last_replies(
    store: Store,
) -> None:
    session = Session(key="h", language="en", channel="web", state=SessionState.ASK)
    ask_name = [{"kind": "question", "text": "Name?", "question_id": "shop_name"}]
    problem_then_hours = [
        {"kind": "problem", "text": "That is too long."},
        {"kind": "text", "text": "Thanks."},
        {"kind": "question", "text": "Hours?", "question_id": "opening_hours"},
    ]
    turns = [
        (ask_name, "welcome", None),
        (problem_then_hours, "ask", 0.42),
        ([], "ask", 0.9),  # said nothing: the last replies are the turn's before
    ]
    for n, (replies, before, confidence) in enumerate(turns):
        session = await store.commit_turn(
            session, _record(session, NOW + n, replies, before, confidence), TurnEffects()
        )
    history = await store.history("h")
    assert [
        (row["at"], row["state_before"], row["state_after"], row["replies"], row["confidence"])
        for row in history
    ] == [
        (NOW + n, before, "ask", replies, conf) for n, (replies, before, conf) in enumerate(turns)
    ]
    assert [(r["question_asked"], r["question_answered"], r["problem"]) for r in history] == [
        ("shop_name", None, 0),
        ("opening_hours", "shop_name", 1),
        (None, "opening_hours", 0),
    ]
    assert [row["id"] for row in history] == sorted(row["id"] for row in history)
    assert await store.last_replies("h") == problem_then_hours
    assert await store.last_replies("nobody") == []
    assert await store.history("nobody") == []


async def test_revisions_of_many_sessions_in_one_read(store: Store) -> None:
    first = Session(key="a", language="en", channel="web")
    second = Session(key="b", language="en", channel="web")
    await store.commit_turn(first, _record(first), TurnEffects())
    second = await store.commit_turn(second, _record(second), TurnEffects())
    await store.commit_turn(second, _record(second), TurnEffects())
    assert await store.revisions(["a", "b", "missing"]) == {"a": 1, "b": 2}
    assert await store.revisions([]) == {}


async def test_a_seat_names_its_current_session(store: Store) -> None:
    assert await store.seat_session("kiosk-1") is None
    await store.take_seat("kiosk-1", "kiosk-1:a")
    await store.take_seat("kiosk-1", "kiosk-1:b")  # the next person sat down
    await store.take_seat("kiosk-2", "kiosk-2:a")
    assert await store.seat_session("kiosk-1") == "kiosk-1:b"
    assert await store.seat_session("kiosk-2") == "kiosk-2:a"


# -- the generation queue -----------------------------------------------------------------


async def test_enqueue_and_cancel_commit_with_their_turn(store: Store) -> None:
    session = Session(key="k", language="ja", channel="web", state=SessionState.GENERATING)
    saved = await store.commit_turn(session, _record(session), TurnEffects(enqueue=_request()))
    assert saved.generation_id is not None and await store.depth() == 1
    assert await store.load("k") == saved
    assert await store.generation_status(saved.generation_id) == "pending"
    task = await store.claim_next()
    assert task is not None and task.attempts == 1
    assert task.request == replace(_request(), id=saved.generation_id)
    assert await store.claim_next() is None, "a running task is not handed out twice"
    # "Cancel" and a new confirm in one turn: the running task stops, the new one waits.
    saved = await store.commit_turn(
        saved,
        _record(saved),
        TurnEffects(enqueue=_request(version=2), cancel_generation=saved.generation_id),
    )
    assert await store.generation_status(task.request.id) == "cancelled"
    assert saved.generation_id != task.request.id and await store.depth() == 1
    assert await store.finish(task.request.id, _artifact(task.request.id)) is False
    assert await store.artifact("s1v1") is None, "cancelled work is not kept"


async def test_two_processes_claiming_at_once_never_get_the_same_task(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    ids = []
    for n in range(30):
        session = Session(key=f"k{n}", language="en", channel="web")
        saved = await first.commit_turn(
            session, _record(session), TurnEffects(enqueue=_request(f"k{n}"))
        )
        assert saved.generation_id is not None
        ids.append(saved.generation_id)

    async def drain(store: Store) -> list[int]:
        taken = []
        while (task := await store.claim_next()) is not None:
            assert task.attempts == 1
            assert task.request.id is not None
            taken.append(task.request.id)
        return taken

    claims = await asyncio.gather(drain(first), drain(second), drain(first), drain(second))
    taken = [task_id for claimed in claims for task_id in claimed]
    assert sorted(taken) == sorted(ids), "every task once, none twice"
    assert await first.depth() == 30  # all running now


async def test_a_task_left_running_by_an_ended_process_runs_again(backend: Backend) -> None:
    gone = await backend.open()
    session = Session(key="k", language="ja", channel="web", state=SessionState.GENERATING)
    await gone.commit_turn(session, _record(session), TurnEffects(enqueue=_request()))
    task = await gone.claim_next()
    assert task is not None
    await backend.close(gone)  # the process ended with the task still running

    restarted = await backend.open()
    assert await restarted.claim_next() is None, "running is not waiting"
    assert await restarted.requeue_interrupted() == 1
    again = await restarted.claim_next()
    assert again is not None and again.request == task.request and again.attempts == 2
    assert await restarted.finish(again.request.id, _artifact(again.request.id)) is True
    assert await restarted.depth() == 0


_CLAIM_AND_HANG = """
import asyncio, sys
from pathlib import Path

async def main():
    kind, where = sys.argv[1], sys.argv[2]
    if kind == "sqlite":
        from assistant.store.sqlite import SQLiteStore
        store = SQLiteStore(Path(where))
    else:
        from assistant.store.postgres.store import PostgresStore
        store = PostgresStore(where)
    await store.open()
    task = await store.claim_next()
    print(task.request.id, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


@pytest.mark.slow
async def test_a_worker_killed_mid_task_has_its_task_run_again(backend: Backend) -> None:
    store = await backend.open()
    session = Session(key="k", language="ja", channel="web", state=SessionState.GENERATING)
    saved = await store.commit_turn(session, _record(session), TurnEffects(enqueue=_request()))
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CLAIM_AND_HANG, backend.kind, backend.where,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert worker.stdout is not None
    claimed = await asyncio.wait_for(worker.stdout.readline(), 60)
    assert int(claimed) == saved.generation_id
    worker.send_signal(signal.SIGKILL)
    await worker.wait()
    # PostgreSQL frees the dead worker's lease once it has seen its socket close: wait for
    # that state (the task put back), not for a time.
    requeued = 0
    async with asyncio.timeout(30):
        while not requeued:
            requeued = await store.requeue_interrupted()
            await asyncio.sleep(0 if requeued else 0.02)
    assert requeued == 1
    task = await store.claim_next()
    assert task is not None and task.request.id == saved.generation_id and task.attempts == 2


async def test_finish_keeps_the_artifact_once_and_fail_records_why(
    store: Store, tmp_path: Path
) -> None:
    session = Session(key="k", language="ja", channel="web", state=SessionState.GENERATING)
    session = await store.commit_turn(session, _record(session), TurnEffects(enqueue=_request()))
    task = await store.claim_next()
    assert task is not None and task.request.id is not None
    made = _artifact(task.request.id, folder=str(tmp_path))
    assert await store.finish(task.request.id, made) is True
    assert await store.finish(task.request.id, made) is False, "a finished task stays finished"
    assert await store.generation_status(task.request.id) == "done"
    assert await store.depth() == 0

    await store.commit_turn(session, _record(session), TurnEffects(enqueue=_request(version=2)))
    task = await store.claim_next()
    assert task is not None and task.request.id is not None
    await store.fail(task.request.id, "generation_timeout", "took too long")
    assert await store.generation_status(task.request.id) == "failed"
    assert await store.finish(task.request.id, _artifact(task.request.id, 2)) is False
    await store.fail(task.request.id, "other", "again")  # no longer running: nothing changes
    assert await store.generation_status(task.request.id) == "failed"
    assert await store.depth() == 0
    assert await store.generation_status(999_999) is None


async def test_a_task_run_at_once_is_never_claimed_by_a_worker(store: Store) -> None:
    task_id = await store.enqueue_running(_request())
    assert await store.generation_status(task_id) == "running" and await store.depth() == 1
    assert await store.claim_next() is None
    assert await store.finish(task_id, _artifact(task_id)) is True
    assert await store.depth() == 0


# -- artifacts and chat links -------------------------------------------------------------


async def test_artifacts_are_found_by_id_and_by_token(store: Store, tmp_path: Path) -> None:
    task_id = await store.enqueue_running(_request())
    made = _artifact(task_id, folder=str(tmp_path))
    await store.finish(task_id, made)
    assert await store.artifact("s1v1") == made
    assert await store.artifact_by_token("token-1") == made
    assert await store.artifact("s1v9") is None
    assert await store.artifact_by_token("token-9") is None
    assert await store.artifact_by_token("") is None


async def test_a_chat_continues_the_session_it_was_linked_to(store: Store) -> None:
    assert await store.linked("telegram:7") is None
    await store.link("telegram:7", "web:a")
    await store.link("telegram:7", "web:b")  # /resume with another code: the latest wins
    await store.link("telegram:8", "web:b")
    await store.link("web:x", "web:b")
    assert await store.linked("telegram:7") == "web:b"
    assert sorted(await store.addresses("web:b", "telegram:")) == ["telegram:7", "telegram:8"]
    assert await store.addresses("web:a", "telegram:") == []
    assert await store.addresses("web:b", "web:") == ["web:x"]


# -- the dialog and the queue on the store ------------------------------------------------


async def test_users_at_once_walk_confirm_and_get_their_page_after_a_crash(
    backend: Backend, catalog: JobCatalog, phrases: Phrases, tmp_path: Path
) -> None:
    """The manager and the generation queue over the store, as ``assistant serve`` runs them:
    eight users walk the café page at once; a worker claims one task and its process dies;
    a restarted queue on another store delivers every page once, that one included."""
    store = await backend.open()
    manager = english_manager(catalog, phrases, store)

    async def one_user(n: int) -> None:
        for text in cafe_walk(shop=f"Shop {n}", items=f"item{n}", hours="9-5"):
            await manager.handle(Turn(session_key=f"u{n}", text=text, channel="web"))

    await asyncio.gather(*(one_user(n) for n in range(8)))
    assert await store.depth() == 8
    dying = await backend.open()
    assert await dying.claim_next() is not None
    await backend.close(dying)

    restarted = await backend.open()
    delivered: list[str] = []
    all_delivered = asyncio.Event()

    async def on_delivered(request: GenerationRequest, artifact: Artifact) -> None:
        await manager.deliver(request, artifact)
        delivered.append(request.session_key)
        if len(delivered) == 8:
            all_delivered.set()

    queue = GenerationQueue(
        store=restarted, jobs=catalog, generators=build_generators(TemplateRenderer(), None),
        artifacts_dir=tmp_path / "artifacts", on_delivered=on_delivered,
        on_failed=manager.generation_failed,
    )  # fmt: skip
    await queue.start()
    try:
        async with asyncio.timeout(120):
            await all_delivered.wait()
    finally:
        await queue.stop()
    assert sorted(delivered) == sorted(f"u{n}" for n in range(8)), "each once"
    for n in range(8):
        session = await store.load(f"u{n}")
        assert session is not None and session.state == SessionState.DELIVERED
        assert session.answers["shop_name"] == f"Shop {n}"
        assert session.artifact_id is not None
        artifact = await store.artifact(session.artifact_id)
        assert artifact is not None and artifact.session_key == f"u{n}"
        assert await store.artifact_by_token(artifact.token) == artifact
    assert await store.depth() == 0
