"""Delivery over the server: downloads, sandboxed previews, QR codes, and nothing else."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.dialog.manager import DialogManager
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.server import init_app
from assistant.session import Artifact
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk
from testing.walk import Walker
from tests.conftest import FIXED_NOW

ANSWERS = cafe_walk()


async def _deliver(manager: DialogManager, queue: GenerationQueue, key: str = "k") -> Artifact:
    walk = Walker(manager, queue, key, "en")
    for text in ANSWERS:
        await walk.say(text)
    await walk.generate()
    return await walk.artifact()


@pytest.fixture
async def client(store: SQLiteStore, catalog: JobCatalog) -> AsyncIterator[TestClient]:
    now = {"t": FIXED_NOW}
    app = init_app(store, catalog, base_url="http://kiosk.local:8080", clock=lambda: now["t"])
    async with TestClient(TestServer(app)) as client:
        client.now = now  # type: ignore[attr-defined]
        yield client


async def test_download_is_the_zip_of_the_clients_files_named_after_the_shop(
    client: TestClient, manager: DialogManager, queue: GenerationQueue
) -> None:
    artifact = await _deliver(manager, queue)
    response = await client.get(f"/a/{artifact.token}")
    assert response.status == 200
    # Named after the shop; the link itself stays the unguessable token.
    assert response.headers["Content-Disposition"] == 'attachment; filename="blue-bakery.zip"'
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    expected = [f"blue-bakery/{name}" for name in (*artifact.files, "README.txt")]
    assert sorted(archive.namelist()) == sorted(expected), "the client's files, no manifest"
    assert artifact.manifest["answers"]["shop_name"] == "Blue Bakery"
    assert "html" in artifact.manifest["checks_passed"]
    page = archive.read("blue-bakery/index.html").decode()
    assert "Blue Bakery" in page
    readme = archive.read("blue-bakery/README.txt").decode()
    assert "index.html" in readme and "upload" in readme, "how to publish the page"


async def test_preview_is_sandboxed_and_serves_only_the_artifact(
    client: TestClient, manager: DialogManager, queue: GenerationQueue
) -> None:
    artifact = await _deliver(manager, queue)
    response = await client.get(f"/p/{artifact.token}/")
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox allow-scripts allow-forms allow-downloads;")
    assert "allow-same-origin" not in policy, "the origin stays null: no access to the service"
    assert "form-action 'none'" in policy, "a form works through its script, never posts away"
    assert "connect-src 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Blue Bakery" in await response.text()
    redirect = await client.get(f"/p/{artifact.token}", allow_redirects=False)
    assert redirect.status == 301 and redirect.headers["Location"] == f"/p/{artifact.token}/"


@pytest.mark.parametrize(
    "path",
    [
        "/p/{token}/../../assistant.db",
        "/p/{token}/..%2F..%2Fassistant.db",
        "/p/{token}/%2e%2e/%2e%2e/assistant.db",
        "/p/{token}/manifest.json",
        "/p/{token}/{zip}",
        "/p/{token}//etc/passwd",
        "/p/{token}/index.html/../../../x",
        "/a/{token}x",
        "/a/{wrong}",
        "/p/{wrong}/",
        "/q/{wrong}.svg",
        "/a/short",
        "/a/../../etc/passwd",
        "/a/%2e%2e%2fassistant.db",
        "/q/{token}.gif",
    ],
)
async def test_traversal_and_wrong_tokens_are_404(
    client: TestClient, manager: DialogManager, queue: GenerationQueue, path: str
) -> None:
    artifact = await _deliver(manager, queue)
    wrong = "A" * len(artifact.token)
    url = path.format(token=artifact.token, wrong=wrong, zip=f"{artifact.id}.zip")
    response = await client.get(url, allow_redirects=False)
    assert response.status == 404, url


async def test_expired_links_are_404(
    client: TestClient, store: SQLiteStore, manager: DialogManager, queue: GenerationQueue
) -> None:
    queue.link_lifetime = 3600
    artifact = await _deliver(manager, queue)
    client.now["t"] = artifact.created + 3599  # type: ignore[attr-defined]
    assert (await client.get(f"/a/{artifact.token}")).status == 200
    client.now["t"] = artifact.expires + 1  # type: ignore[attr-defined]
    for url in (f"/a/{artifact.token}", f"/p/{artifact.token}/", f"/q/{artifact.token}.svg"):
        assert (await client.get(url)).status == 404, url


async def test_qr_codes_encode_the_public_download_link(
    client: TestClient, manager: DialogManager, queue: GenerationQueue
) -> None:
    artifact = await _deliver(manager, queue)
    svg = await client.get(f"/q/{artifact.token}.svg")
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    assert (await svg.text()).lstrip().startswith(("<?xml", "<svg"))
    png = await client.get(f"/q/{artifact.token}.png")
    assert png.content_type == "image/png"
    assert (await png.read()).startswith(b"\x89PNG\r\n\x1a\n")
    import segno

    expected = segno.make(f"http://kiosk.local:8080/a/{artifact.token}", error="m")
    out = io.BytesIO()
    expected.save(out, kind="png", scale=8, border=3, dark="#000000", light="#ffffff")
    assert await png.read() == out.getvalue()


async def test_version_2_keeps_version_1_downloadable(
    client: TestClient, manager: DialogManager, queue: GenerationQueue
) -> None:
    first = await _deliver(manager, queue)
    walk = Walker(manager, queue, "k", "en")
    for text in ["change something", "1", "Green Diner", "yes"]:
        await walk.say(text)
    await walk.generate()
    second = await walk.artifact()
    assert second.version == 2 and second.token != first.token
    for artifact, name in ((first, "Blue Bakery"), (second, "Green Diner")):
        page = await client.get(f"/p/{artifact.token}/")
        assert name in await page.text()
    assert Path(first.folder).is_dir() and Path(second.folder).is_dir()
