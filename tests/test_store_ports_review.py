"""Review, publishing and sending (``ReviewStore``), one suite on both stores: SQLite on a
real file and PostgreSQL on a real server (``testing/postgres.py``).

What staff and users notice: a new artifact is pending and a decision reads back the same on
every instance; the console's lists, filtered and ordered; two publishers on two instances
never share a site name; every publication is kept; a sending is recorded without its
address, which is nowhere in the database. Two stores opened on one database stand for two
processes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from assistant.jobs.phrases import Phrases
from assistant.review import ArtifactActionError, Review
from assistant.session import Artifact, GenerationRequest
from assistant.staff.mail import Mailer, MailSettings
from assistant.staff.publishing import Publisher
from assistant.staff.review import approve, send_back, sent_back_words
from testing.smtp import Inbox
from testing.store_backends import Backend, Store

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
