"""Publishing approved artifacts to the static site folder (issue 16, part B): only approved
ones, served at /site/<slug>/ by the real app, swapped atomically, old versions kept."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.dialog.manager import DialogManager
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.review import ArtifactActionError
from assistant.server import PREVIEW_POLICY, init_app
from assistant.session import Artifact
from assistant.staff.publishing import Publisher
from assistant.staff.review import approve, say_error, send_back, sent_back_words
from assistant.store import artifacts as artifact_rows
from assistant.store.review import SQLiteReviewStore
from assistant.store.sqlite import SQLiteStore
from testing.made_artifact import made_artifact


@pytest.fixture
def reviews(store: SQLiteStore) -> SQLiteReviewStore:
    return SQLiteReviewStore(store)


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture
def publisher(reviews: SQLiteReviewStore, site_dir: Path) -> Publisher:
    return Publisher(reviews, site_dir)


@pytest.fixture
async def cafe(manager: DialogManager, queue: GenerationQueue, store: SQLiteStore) -> Artifact:
    return await made_artifact(manager, queue, store, "k", "Blue Harbor Café")


async def test_a_new_artifact_is_pending_and_only_an_approved_one_is_published(
    reviews: SQLiteReviewStore, publisher: Publisher, cafe: Artifact, site_dir: Path,
    phrases: Phrases,
) -> None:  # fmt: skip
    review = await reviews.review(cafe.id)
    assert review is not None and review.status == "pending"
    with pytest.raises(ArtifactActionError) as raised:
        await publisher.publish(cafe.id, "alice")
    assert raised.value.code == "not_approved"
    assert "not been approved" in say_error(phrases, "en", raised.value)
    assert "承認" in say_error(phrases, "ja", raised.value)
    sent_back = await send_back(reviews, cafe.id, "  Please add   your phone number. ", "bob")
    assert (sent_back.status, sent_back.comment, sent_back.by) == (
        "sent_back", "Please add your phone number.", "bob",
    )  # fmt: skip
    with pytest.raises(ArtifactActionError, match="not approved"):
        await publisher.publish(cafe.id, "alice")
    assert sent_back_words(phrases, "en", sent_back) == (
        "Staff looked at it and asked for a change: Please add your phone number."
    )
    assert "Please add your phone number." in str(sent_back_words(phrases, "ja", sent_back))
    stored = await reviews.review(cafe.id)
    assert stored == sent_back
    assert not site_dir.exists() or not any(site_dir.iterdir())
    with pytest.raises(ArtifactActionError) as empty:
        await send_back(reviews, cafe.id, "   ", "bob")
    assert empty.value.code == "comment_missing"
    approved = await approve(reviews, cafe.id, "alice")
    assert sent_back_words(phrases, "en", approved) is None
    assert (approved.status, approved.by, approved.comment) == ("approved", "alice", "")
    assert approved.at is not None
    with pytest.raises(ArtifactActionError) as unknown:
        await approve(reviews, "no-such-artifact", "alice")
    assert unknown.value.code == "artifact_unknown"


async def test_the_published_page_is_served_at_its_slug_and_equals_the_artifact(
    reviews: SQLiteReviewStore, publisher: Publisher, cafe: Artifact, site_dir: Path,
    store: SQLiteStore, catalog: JobCatalog,
) -> None:  # fmt: skip
    await approve(reviews, cafe.id, "alice")
    published = await publisher.publish(cafe.id, "alice")
    assert (published.slug, published.version) == ("blue-harbor-cafe", 1)
    assert published.url_path == "/site/blue-harbor-cafe/"
    page = (Path(cafe.folder) / "index.html").read_bytes()
    # Plain files any web server can serve: the client's files, not the staff's manifest.
    live = site_dir / "blue-harbor-cafe"
    assert (live / "index.html").read_bytes() == page
    assert "manifest.json" not in os.listdir(live) and "README.txt" in os.listdir(live)
    site = await reviews.site("blue-harbor-cafe")
    assert site is not None and site.live and site.version == 1 and site.by == "alice"
    async with TestClient(TestServer(init_app(store, catalog, site_dir=site_dir))) as client:
        response = await client.get("/site/blue-harbor-cafe/")
        assert response.status == 200
        assert await response.read() == page
        assert response.headers["Content-Security-Policy"] == PREVIEW_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Type"].startswith("text/html")
        folder = await client.get("/site/blue-harbor-cafe", allow_redirects=False)
        assert (folder.status, folder.headers["Location"]) == (301, "/site/blue-harbor-cafe/")
        for probe in ("/site/.versions/", "/site/blue-harbor-cafe/../../assistant.db",
                      "/site/blue-harbor-cafe/%2e%2e/%2e%2e/assistant.db", "/site/nobody/",
                      "/site/blue-harbor-cafe/manifest.json"):  # fmt: skip
            assert (await client.get(probe)).status == 404, probe


async def test_a_second_artifact_with_the_same_name_gets_its_own_slug(
    manager: DialogManager, queue: GenerationQueue, store: SQLiteStore,
    reviews: SQLiteReviewStore, publisher: Publisher, cafe: Artifact, site_dir: Path,
) -> None:  # fmt: skip
    other = await made_artifact(manager, queue, store, "k2", "Blue Harbor Café")
    third = await made_artifact(manager, queue, store, "k3", "Blue Harbor Café")
    for artifact in (cafe, other, third):
        await approve(reviews, artifact.id, "alice")
    # Two publishers with locks of their own, as in two processes, at the same moment.
    elsewhere = Publisher(SQLiteReviewStore(store), site_dir)
    first, second = await asyncio.gather(
        publisher.publish(cafe.id, "alice"), elsewhere.publish(other.id, "bob")
    )
    assert {first.slug, second.slug} == {"blue-harbor-cafe", "blue-harbor-cafe-2"}
    # A folder someone else put in site_dir under the next name is left alone.
    (site_dir / "blue-harbor-cafe-3").mkdir()
    (site_dir / "blue-harbor-cafe-3" / "theirs.html").write_text("theirs", encoding="utf-8")
    assert (await publisher.publish(third.id, "alice")).slug == "blue-harbor-cafe-4"
    assert os.listdir(site_dir / "blue-harbor-cafe-3") == ["theirs.html"]
    for published, artifact in ((first, cafe), (second, other)):
        site = await reviews.site(published.slug)
        assert site is not None and site.live and site.version == 1
        live = site_dir / published.slug / "index.html"
        assert live.read_bytes() == (Path(artifact.folder) / "index.html").read_bytes()


async def test_republishing_swaps_the_live_site_at_once_and_keeps_the_old_version(
    reviews: SQLiteReviewStore, publisher: Publisher, cafe: Artifact, site_dir: Path,
    store: SQLiteStore,
) -> None:  # fmt: skip
    await approve(reviews, cafe.id, "alice")
    await publisher.publish(cafe.id, "alice")
    # A change request made version 2 of the same series: same slug, new site version.
    folder = Path(cafe.folder)
    new_folder = folder.with_name(folder.name + "-v2")
    new_folder.mkdir()
    pages = {1: (folder / "index.html").read_text(encoding="utf-8")}
    pages[2] = pages[1].replace("Blue Harbor", "Green Harbor")
    assert pages[2] != pages[1]
    (new_folder / "index.html").write_text(pages[2], encoding="utf-8")
    second = dataclasses.replace(cafe, id=cafe.id + "-v2", version=2, folder=str(new_folder),
                                 files=("index.html",), token="")  # fmt: skip

    def insert() -> None:
        with store.db.conn:
            artifact_rows.insert(store.db.conn, second)

    await store.run(insert)
    await approve(reviews, second.id, "alice")

    live = site_dir / "blue-harbor-cafe" / "index.html"
    seen: set[str] = set()
    stop = threading.Event()

    def read_while_publishing() -> None:
        # Every read finds a whole page, the old or the new, never a missing or partial one.
        while not stop.is_set():
            seen.add(live.read_text(encoding="utf-8"))

    reader = asyncio.create_task(asyncio.to_thread(read_while_publishing))
    try:
        for _ in range(5):
            await publisher.publish(second.id, "bob")
            await publisher.publish(cafe.id, "bob")
    finally:
        stop.set()
        await reader
    assert seen <= {pages[1], pages[2]} and seen
    latest = await publisher.publish(second.id, "bob")
    assert latest.version == 12 and live.read_text(encoding="utf-8") == pages[2]
    versions = site_dir / ".versions" / "blue-harbor-cafe"
    assert (versions / "1" / "index.html").read_text(encoding="utf-8") == pages[1]
    assert (versions / "2" / "index.html").read_text(encoding="utf-8") == pages[2]
    assert sorted(int(p.name) for p in versions.iterdir()) == list(range(1, 13))
    assert os.path.islink(site_dir / "blue-harbor-cafe")


async def test_unpublishing_takes_the_site_down_and_keeps_its_versions(
    reviews: SQLiteReviewStore, publisher: Publisher, cafe: Artifact, site_dir: Path,
    store: SQLiteStore, catalog: JobCatalog,
) -> None:  # fmt: skip
    await approve(reviews, cafe.id, "alice")
    await publisher.publish(cafe.id, "alice")
    site = await publisher.unpublish("blue-harbor-cafe", "bob")
    assert not site.live and site.by == "bob"
    assert not os.path.lexists(site_dir / "blue-harbor-cafe")
    assert (site_dir / ".versions" / "blue-harbor-cafe" / "1" / "index.html").is_file()
    async with TestClient(TestServer(init_app(store, catalog, site_dir=site_dir))) as client:
        assert (await client.get("/site/blue-harbor-cafe/")).status == 404
    for slug, code in (("blue-harbor-cafe", "not_published"), ("../etc", "slug_invalid"),
                       (".versions", "slug_invalid"), ("nobody", "not_published")):  # fmt: skip
        with pytest.raises(ArtifactActionError) as raised:
            await publisher.unpublish(slug, "bob")
        assert raised.value.code == code
    again = await publisher.publish(cafe.id, "alice")  # published again: same slug, version 2
    assert (again.slug, again.version) == ("blue-harbor-cafe", 2)


async def test_a_hostile_name_or_file_list_cannot_leave_the_site_folder(
    reviews: SQLiteReviewStore, publisher: Publisher, cafe: Artifact, tmp_path: Path,
    store: SQLiteStore, site_dir: Path, catalog: JobCatalog,
) -> None:  # fmt: skip
    (tmp_path / "secret.txt").write_text("staff only", encoding="utf-8")
    hostile = dataclasses.replace(
        cafe, id="hostile", series="hostile-series", token="",
        files=(*cafe.files, "../secret.txt", "/etc/hostname", "../../x"),
        manifest={**cafe.manifest, "answers": {"shop_name": "../../../tmp/../.versions"}},
    )  # fmt: skip

    def insert() -> None:
        with store.db.conn:
            artifact_rows.insert(store.db.conn, hostile)

    await store.run(insert)
    await approve(reviews, hostile.id, "alice")
    published = await publisher.publish(hostile.id, "alice")
    assert published.slug == "tmp-versions"
    inside = {p.relative_to(site_dir).parts[0] for p in site_dir.rglob("*")}
    assert inside <= {".versions", "tmp-versions"}
    names = {p.name for p in (site_dir / "tmp-versions").iterdir()}
    assert "secret.txt" not in names and "hostname" not in names and "index.html" in names
    assert not (tmp_path / "x").exists()
    # A link in site_dir that leads out of it is not served, nor is the versions folder.
    (site_dir / "escape").symlink_to(tmp_path)
    async with TestClient(TestServer(init_app(store, catalog, site_dir=site_dir))) as client:
        for probe in ("/site/escape/secret.txt", "/site/tmp-versions/../escape/secret.txt"):
            assert (await client.get(probe)).status == 404, probe
        assert (await client.get("/site/tmp-versions/")).status == 200


async def test_the_list_filters_by_job_status_and_date_and_shows_versions(
    manager: DialogManager, queue: GenerationQueue, store: SQLiteStore,
    reviews: SQLiteReviewStore, cafe: Artifact,
) -> None:  # fmt: skip
    other = await made_artifact(manager, queue, store, "k2", "Green Café")
    await approve(reviews, other.id, "alice")
    listed = await reviews.reviewed_artifacts()
    assert [a.id for a, _ in listed] == [other.id, cafe.id]  # newest first
    assert [r.status for _, r in listed] == ["approved", "pending"]
    assert [a.id for a, _ in await reviews.reviewed_artifacts(status="pending")] == [cafe.id]
    assert await reviews.reviewed_artifacts(job_id="quiz") == []
    assert len(await reviews.reviewed_artifacts(job_id="cafe_page")) == 2
    later = await reviews.reviewed_artifacts(since=other.created)
    assert [a.id for a, _ in later] == [other.id]
    assert [a.id for a, _ in await reviews.reviewed_artifacts(until=other.created)] == [cafe.id]
    assert len(await reviews.reviewed_artifacts(limit=1)) == 1
    [(version, review)] = await reviews.series_versions(cafe.series)
    assert version.id == cafe.id and review.status == "pending"
