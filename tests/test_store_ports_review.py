"""Review, publishing and sending (``ReviewStore``) and the Celery queue's claims
(``ClusterQueueStore``), one suite on both stores: SQLite on a real file and PostgreSQL on a
real server (``testing/postgres.py``).

What staff and users notice: a new artifact is pending and a decision reads back the same on
every instance; the console's lists, filtered and ordered; two publishers on two instances
never share a site name; every publication is kept; a sending is recorded without its
address, which is nowhere in the database. For the workers: a task handed to two workers at
once is built by one, a claim past its lease is taken over, an ended task is never built
again, and a build that ended while no instance listened is found for its waiting session.
Two stores opened on one database stand for two processes.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from assistant.events import SessionState, Turn
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.ports import TurnEffects
from assistant.review import ArtifactActionError, Review
from assistant.session import Artifact, GenerationRequest, Session, TurnRecord
from assistant.staff.mail import Mailer, MailSettings
from assistant.staff.publishing import Publisher
from assistant.staff.review import approve, send_back, sent_back_words
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing.cafe_walk import cafe_walk
from testing.smtp import Inbox
from testing.walk import english_manager
from tests.store_backends import Backend, Store

NOW = 1_700_000_000.0
LEASE_S = 3600.0  # a claim this fresh is a live worker's
VISITOR = "hanako.visitor@example.org"


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()


async def _stored(
    store: Store, tmp_path: Path, series: str, version: int = 1, *, job: str = "cafe_page",
    created: float = NOW, name: str = "Blue Harbor",
) -> Artifact:  # fmt: skip
    """An artifact with one page, stored as a finished build stores it."""
    folder = tmp_path / "artifacts" / f"{series}v{version}"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(f"<h1>{name}</h1>", encoding="utf-8")
    artifact = Artifact(
        f"{series}v{version}", series, version, f"web:{series}", job, str(folder),
        ("index.html",), {"job": job, "answers": {"shop_name": name}, "title": name,
        "language": "en"}, created, token=f"token-{series}-{version}",
    )  # fmt: skip
    request = GenerationRequest(artifact.session_key, job, "en", {}, series, version)
    task_id = await store.enqueue_running(request)
    assert await store.finish(task_id, artifact)
    return artifact


async def _rows(backend: Backend, query: str) -> list[tuple[object, ...]]:
    """Rows of a table as any reader of the database sees them (not through the store)."""
    if backend.kind == "sqlite":
        with sqlite3.connect(backend.where) as conn:
            return [tuple(row) for row in conn.execute(query).fetchall()]
    async with await psycopg.AsyncConnection.connect(backend.where) as conn:
        cursor = await conn.execute(query.encode())
        return [tuple(row) for row in await cursor.fetchall()]


async def _everything(backend: Backend) -> str:
    """The whole database as text: every row of every table."""
    if backend.kind == "sqlite":
        with sqlite3.connect(backend.where) as conn:
            return "\n".join(conn.iterdump())
    async with await psycopg.AsyncConnection.connect(backend.where) as conn:
        cursor = await conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        text = []
        for (table,) in await cursor.fetchall():
            rows = await conn.execute(
                sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(table))
            )
            text += [str(row[0]) for row in await rows.fetchall()]
        return "\n".join(text)


# -- reviews --------------------------------------------------------------------------------


async def test_a_new_artifact_is_pending_and_a_decision_reads_back_on_every_instance(
    backend: Backend, tmp_path: Path, phrases: Phrases
) -> None:
    here, there = await backend.open(), await backend.open()
    cafe = await _stored(here, tmp_path, "s1")
    assert await there.reviews().review(cafe.id) == Review(cafe.id, "pending", "", "", None)
    assert await here.reviews().review("nothing") is None
    assert await here.reviews().set_review("nothing", "approved", "", "alice", NOW) is None

    clock = lambda: NOW + 5  # noqa: E731
    sent_back = await send_back(
        here.reviews(), cafe.id, "Please add your phone.", "bob", clock=clock
    )
    assert await there.reviews().review(cafe.id) == sent_back
    assert sent_back == Review(cafe.id, "sent_back", "Please add your phone.", "bob", NOW + 5)
    assert "Please add your phone." in str(sent_back_words(phrases, "en", sent_back))
    assert "Please add your phone." in str(sent_back_words(phrases, "ja", sent_back))
    approved = await approve(there.reviews(), cafe.id, "alice", clock=lambda: NOW + 9)
    assert await here.reviews().review(cafe.id) == approved
    assert (approved.status, approved.comment, approved.by) == ("approved", "", "alice")
    assert await here.reviews().artifact(cafe.id) == cafe


async def test_the_consoles_lists_are_filtered_newest_first_and_versions_oldest_first(
    store: Store, tmp_path: Path
) -> None:
    first = await _stored(store, tmp_path, "s1", 1, created=NOW)
    second = await _stored(store, tmp_path, "s1", 2, created=NOW + 10)
    quiz = await _stored(store, tmp_path, "a2", job="quiz", created=NOW + 20)
    shout = await _stored(store, tmp_path, "B3", created=NOW + 20)  # a tie: by id, byte order
    reviews = store.reviews()
    await reviews.set_review(first.id, "approved", "", "alice", NOW + 30)
    await reviews.set_review(shout.id, "sent_back", "Bigger, please.", "bob", NOW + 31)

    async def listed(**filters: object) -> list[tuple[str, str]]:
        found = await reviews.reviewed_artifacts(**filters)  # type: ignore[arg-type]
        return [(artifact.id, review.status) for artifact, review in found]

    everything = [("B3v1", "sent_back"), ("a2v1", "pending"), ("s1v2", "pending"),
                  ("s1v1", "approved")]  # fmt: skip
    assert await listed() == everything
    assert await listed(limit=2) == everything[:2]
    assert await listed(job_id="cafe_page") == [everything[0], *everything[2:]]
    assert await listed(status="pending") == everything[1:3]
    assert await listed(status="approved", job_id="cafe_page") == [("s1v1", "approved")]
    assert await listed(since=NOW + 10) == everything[:3]
    assert await listed(until=NOW + 10) == [("s1v1", "approved")]
    assert await listed(since=NOW + 5, until=NOW + 20, status="pending") == [("s1v2", "pending")]
    assert await listed(job_id="nothing") == []
    [(artifact, review)] = await reviews.reviewed_artifacts(job_id="quiz")
    assert artifact == quiz and review == Review(quiz.id)

    versions = await reviews.series_versions("s1")
    assert [artifact for artifact, _ in versions] == [first, second]
    assert [review.status for _, review in versions] == ["approved", "pending"]
    assert await reviews.series_versions("nothing") == []


# -- published sites ------------------------------------------------------------------------


async def test_of_two_instances_claiming_one_slug_for_two_series_one_wins(
    backend: Backend,
) -> None:
    here, there = (await backend.open()).reviews(), (await backend.open()).reviews()
    for n in range(12):
        slug = f"shop-{n}"
        won = await asyncio.gather(
            here.claim_slug(slug, "series-a", "a1", "alice", NOW),
            there.claim_slug(slug, "series-b", "b1", "bob", NOW),
        )
        assert sorted(won) == [False, True], (slug, won)
        winner = "series-a" if won[0] else "series-b"
        site = await there.site(slug)
        assert site is not None and (site.series, site.version, site.live) == (winner, 0, False)
        assert await here.claim_slug(slug, winner, "x", "carol", NOW + 1), "its own slug again"
        loser = "series-b" if won[0] else "series-a"
        assert not await there.claim_slug(slug, loser, "x", "carol", NOW + 1)
    assert await here.site("nothing") is None and await here.site_of_series("nothing") is None


async def test_two_publishers_on_two_instances_at_once_get_two_sites_and_keep_every_version(
    backend: Backend, tmp_path: Path
) -> None:
    here, there = await backend.open(), await backend.open()
    site_dir = tmp_path / "site"
    mine = await _stored(here, tmp_path, "mine", name="Blue Harbor", created=NOW)
    theirs = await _stored(there, tmp_path, "theirs", name="Blue Harbor", created=NOW + 1)
    for artifact in (mine, theirs):
        await approve(here.reviews(), artifact.id, "alice")
    clock = iter(range(100))
    publishers = [
        Publisher(store.reviews(), site_dir, clock=lambda: NOW + next(clock))
        for store in (here, there)
    ]
    published = await asyncio.gather(
        publishers[0].publish(mine.id, "alice"), publishers[1].publish(theirs.id, "bob")
    )
    assert sorted(p.slug for p in published) == ["blue-harbor", "blue-harbor-2"]
    for artifact, made in zip((mine, theirs), published, strict=True):
        site = await there.reviews().site_of_series(artifact.series)
        assert site is not None and (site.slug, site.artifact_id, site.version, site.live) == (
            made.slug, artifact.id, 1, True,
        )  # fmt: skip
        assert (site_dir / made.slug / "index.html").read_text() == "<h1>Blue Harbor</h1>"

    slug = published[0].slug
    newer = await _stored(here, tmp_path, "mine", 2, name="Blue Harbor", created=NOW + 2)
    with pytest.raises(ArtifactActionError) as refused:
        await publishers[1].publish(newer.id, "bob")
    assert refused.value.code == "not_approved"
    await approve(there.reviews(), newer.id, "alice")
    again = await publishers[1].publish(newer.id, "bob")
    assert (again.slug, again.version) == (slug, 2), "a new version keeps its series' site"
    gone = await publishers[0].unpublish(slug, "alice")
    site = await there.reviews().site(slug)
    assert site == gone and (site.live, site.version, site.artifact_id, site.by) == (
        False, 2, newer.id, "alice",
    )  # fmt: skip
    history = await _rows(
        backend, f"SELECT version, artifact_id, live FROM site_versions WHERE slug = '{slug}' "
        "ORDER BY id",
    )  # fmt: skip
    assert [(v, a, bool(live)) for v, a, live in history] == [
        (1, mine.id, True), (2, newer.id, True), (2, newer.id, False),
    ]  # fmt: skip


# -- sendings -------------------------------------------------------------------------------


async def test_sendings_are_kept_in_order_and_the_address_is_nowhere_in_the_database(
    backend: Backend, tmp_path: Path, phrases: Phrases, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    store = await backend.open()
    cafe = await _stored(store, tmp_path, "s1")
    await approve(store.reviews(), cafe.id, "alice")
    settings = MailSettings("127.0.0.1", port, "none", "", "", "desk@facility.example", 5.0)
    mailer = Mailer(store.reviews(), settings, phrases, base_url="http://kiosk.example:8080")
    sent = await mailer.send(cafe.id, VISITOR, as_link=True, by="alice", language="en")
    with pytest.raises(ArtifactActionError) as refused:
        await mailer.send(cafe.id, "refused@example.org", as_link=True, by="bob")
    assert refused.value.code == "mail_refused" and len(inbox.messages) == 1
    by_hand = await store.reviews().record_send(cafe.id, False, "carol", NOW, "failed", "x")

    elsewhere = (await backend.open()).reviews()
    records = await elsewhere.sends(cafe.id)
    assert records[0] == sent
    assert [(r.as_link, r.by, r.status, r.code) for r in records] == [
        (True, "alice", "sent", ""), (True, "bob", "failed", "mail_refused"),
        (False, "carol", "failed", "x"),
    ]  # fmt: skip
    assert [r.id for r in records] == sorted({r.id for r in records}) and records[-1].id == by_hand
    assert await elsewhere.sends("nothing") == []
    everything = await _everything(backend)
    assert "alice" in everything, "the records are there"
    assert VISITOR not in everything and "refused@example.org" not in everything


# -- the Celery queue's claims ---------------------------------------------------------------


async def _waiting(store: Store, count: int) -> list[GenerationRequest]:
    """``count`` sessions confirmed: each has one task waiting; their requests with ids."""
    requests = []
    for n in range(count):
        session = Session(key=f"k{n}", language="ja", channel="web", state=SessionState.GENERATING)
        request = GenerationRequest(
            f"k{n}", "cafe_page", "ja", {"shop_name": f"店{n}"}, f"s{n}", 1, look={"title": 1}
        )
        record = TurnRecord(session.key, NOW, "web", "はい", "confirm", "generating", [])
        saved = await store.commit_turn(session, record, TurnEffects(enqueue=request))
        assert saved.generation_id is not None
        requests.append(replace(request, id=saved.generation_id))
    return requests


async def test_a_task_sent_to_two_workers_at_once_is_claimed_by_one(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    requests = await _waiting(first, 16)
    for request in requests:
        assert request.id is not None
        claims = await asyncio.gather(
            first.claim(request.id, LEASE_S), second.claim(request.id, LEASE_S)
        )
        [task] = [claim for claim in claims if claim is not None]
        assert (task.request, task.attempts) == (request, 1)
        assert await first.claim(request.id, LEASE_S) is None, "being built: a copy builds nothing"
        assert await second.generation_status(request.id) == "running"
    assert await first.unbuilt(time.time() - LEASE_S) == [], "fresh claims are the workers'"
    assert await second.depth() == 16


async def test_a_claim_past_its_lease_is_taken_over_and_the_sweep_sends_it_again(
    backend: Backend,
) -> None:
    dying, alive = await backend.open(), await backend.open()
    [stuck, waiting] = await _waiting(dying, 2)
    assert stuck.id is not None and waiting.id is not None
    assert await dying.claim(stuck.id, LEASE_S) is not None
    claimed_at = time.time()
    assert await alive.unbuilt(claimed_at - LEASE_S) == [waiting.id]
    assert await alive.unbuilt(claimed_at + 1) == [stuck.id, waiting.id], "a stale claim"
    assert await alive.claim(stuck.id, LEASE_S) is None
    # A lease of 0 s is over once the clock has moved on, as it has over three round trips.
    assert time.time() > claimed_at
    again = await alive.claim(stuck.id, 0.0)
    assert again is not None and (again.request, again.attempts) == (stuck, 2)


async def test_an_ended_task_is_never_claimed_or_sent_again(backend: Backend) -> None:
    store, other = await backend.open(), await backend.open()
    done, failed, cancelled, waiting = await _waiting(store, 4)
    for request in (done, failed):
        assert request.id is not None and await store.claim(request.id, LEASE_S) is not None
    assert done.id is not None and failed.id is not None and cancelled.id is not None
    artifact = Artifact("s0v1", "s0", 1, "k0", "cafe_page", "/tmp/s0v1", ("index.html",), {}, NOW)
    assert await store.finish(done.id, artifact)
    await store.fail(failed.id, "generation_timeout", "took too long")
    session = await store.load("k2")
    assert session is not None
    session.state = SessionState.ASK
    record = TurnRecord("k2", NOW, "web", "cancel", "generating", "ask", [])
    await store.commit_turn(session, record, TurnEffects(cancel_generation=cancelled.id))
    for task_id in (done.id, failed.id, cancelled.id, 999_999):
        assert await other.claim(task_id, 0.0) is None, task_id
    assert await other.unbuilt(time.time() + 1) == [waiting.id]
    assert await other.artifact("s0v1") == artifact


async def test_builds_that_ended_unheard_are_found_for_the_sessions_still_waiting(
    backend: Backend,
) -> None:
    store, other = await backend.open(), await backend.open()
    built, failed, building, moved_on = await _waiting(store, 4)
    for request in (built, failed, building, moved_on):
        assert request.id is not None and await store.claim(request.id, LEASE_S) is not None
    assert built.id is not None and failed.id is not None and moved_on.id is not None
    for request in (built, moved_on):
        assert request.id is not None
        made = Artifact(
            f"{request.series}v1", request.series, 1, request.session_key, "cafe_page",
            f"/tmp/{request.series}", ("index.html",), {}, NOW, token=f"t-{request.series}",
        )  # fmt: skip
        assert await store.finish(request.id, made)
    await store.fail(failed.id, "generation_failed", "no")
    told = await store.load(moved_on.session_key)  # this one was told: it is not waiting
    assert told is not None
    told.state = SessionState.DELIVERED
    record = TurnRecord(told.key, NOW, "web", "", "generating", "delivered", [])
    await store.commit_turn(told, record, TurnEffects())
    unheard = sorted(await other.unheard(), key=lambda found: found[0].id or 0)
    assert unheard == [(built, "done", f"{built.series}v1"), (failed, "failed", None)]


async def test_a_message_given_to_two_workers_builds_and_delivers_once(
    backend: Backend, catalog: JobCatalog, phrases: Phrases, tmp_path: Path
) -> None:
    """Two workers on two machines get the same message (a resend): each claims as the Celery
    worker does and builds what it got; one page is built and delivered, and the same message
    once more after the build builds nothing."""
    store = await backend.open()
    manager = english_manager(catalog, phrases, store)
    for text in cafe_walk(shop="Blue Harbor Café"):
        await manager.handle(Turn(session_key="u1", text=text, language="en", channel="web"))
    session = await store.load("u1")
    assert session is not None and session.generation_id is not None
    task_id = session.generation_id
    delivered: list[str] = []

    async def on_delivered(request: GenerationRequest, artifact: Artifact) -> None:
        await manager.deliver(request, artifact)
        delivered.append(artifact.id)

    async def worker(worker_store: Store) -> str:
        queue = GenerationQueue(
            store=worker_store, jobs=catalog, generators=build_generators(TemplateRenderer(), None),
            artifacts_dir=tmp_path / "artifacts", on_delivered=on_delivered,
            on_failed=manager.generation_failed,
        )  # fmt: skip
        task = await worker_store.claim(task_id, LEASE_S)
        if task is None:
            return "skipped"
        await queue.build_claimed(task)
        return "built"

    workers = [await backend.open(), await backend.open()]
    outcomes = await asyncio.gather(*(worker(each) for each in workers))
    assert sorted(outcomes) == ["built", "skipped"]
    assert await worker(workers[0]) == "skipped", "built already: the message builds nothing"
    session = await store.load("u1")
    assert session is not None and session.state == SessionState.DELIVERED
    assert delivered == [session.artifact_id]
    assert await store.unheard() == [] and await store.unbuilt(time.time() + 1) == []


async def test_a_build_that_outlived_its_lease_leaves_the_stored_artifact_alone(
    backend: Backend, catalog: JobCatalog, phrases: Phrases, tmp_path: Path
) -> None:
    """Worker A's build is slow: its lease runs out, worker B takes the task over, builds and
    stores it. When A's build ends, B's stored folder (the one its links name) is neither
    replaced nor removed, and nothing of A's attempt is left in the artifacts folder."""
    from testing.gate import Gate, GatedGenerator

    store = await backend.open()
    manager = english_manager(catalog, phrases, store)
    for text in cafe_walk(shop="Slow Harbor Café"):
        await manager.handle(Turn(session_key="u2", text=text, language="en", channel="web"))
    session = await store.load("u2")
    assert session is not None and session.generation_id is not None
    task_id = session.generation_id
    delivered: list[Artifact] = []

    async def on_delivered(request: GenerationRequest, artifact: Artifact) -> None:
        await manager.deliver(request, artifact)
        delivered.append(artifact)

    def queue(worker_store: Store, gate: Gate | None = None) -> GenerationQueue:
        generators = build_generators(TemplateRenderer(), None)
        if gate is not None:
            generators = {kind: GatedGenerator(g, gate) for kind, g in generators.items()}
        return GenerationQueue(
            store=worker_store, jobs=catalog, generators=generators,
            artifacts_dir=tmp_path / "artifacts", on_delivered=on_delivered,
            on_failed=manager.generation_failed,
        )  # fmt: skip

    slow_store, fast_store = await backend.open(), await backend.open()
    gate = Gate()
    gate.close()
    claimed = await slow_store.claim(task_id, LEASE_S)
    assert claimed is not None
    slow = asyncio.create_task(queue(slow_store, gate).build_claimed(claimed))
    assert await gate.holding(1)
    # B judges A's claim by a lease of 0 s: it has run out (as LEASE_S would, later).
    taken_over = await fast_store.claim(task_id, 0.0)
    assert taken_over is not None, "a claim past its lease is taken over"
    await queue(fast_store).build_claimed(taken_over)
    [stored] = delivered
    folder = Path(stored.folder)
    page = (folder / "index.html").read_bytes()
    gate.open()
    await slow
    assert delivered == [stored], "delivered once"
    assert await store.generation_status(task_id) == "done", "A's end is no failure either"
    after = await store.load("u2")
    assert after is not None and after.state == SessionState.DELIVERED
    assert (folder / "index.html").read_bytes() == page, "the stored folder is B's, untouched"
    assert sorted(p.name for p in (tmp_path / "artifacts").iterdir()) == [folder.name]
    again = await store.artifact(stored.id)
    assert again is not None and again.token == stored.token
