"""The web chat's photo upload (issue 15, part U): POST /photo with the page's token, over HTTP.

The route is guarded like the websocket (our Origin and Host only) plus a token only the
session's own pages were given; the size limit holds at the HTTP layer (a 30 MB body is
refused before it is read); what the dialog says about the picture reaches the page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientError
from aiohttp.test_utils import TestClient, TestServer

from assistant.dialog.manager import DialogManager
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.photos import PhotoStore
from assistant.server import init_app
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk
from tests.test_photos import jpeg_with_gps
from tests.test_web_socket import BASE, Page, make_channel, open_page

CAFE = cafe_walk(greet=False, until="logo")


@pytest.fixture
def photos(tmp_path: Path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos", max_bytes=10_000_000)


@pytest.fixture
async def client(
    store: SQLiteStore,
    catalog: JobCatalog,
    manager: DialogManager,
    phrases: Phrases,
    queue: GenerationQueue,
    photos: PhotoStore,
) -> AsyncIterator[TestClient]:
    app = init_app(store, catalog, base_url=BASE)
    make_channel(manager, phrases, photos=photos).add_routes(app)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


def _origin(client: TestClient) -> dict[str, str]:
    return {"Origin": f"http://127.0.0.1:{client.port}", "Host": f"127.0.0.1:{client.port}"}


async def _at_logo(client: TestClient, language: str = "en") -> tuple[Page, str]:
    page, summary = await open_page(client, language=language)
    for text in CAFE:
        replies = await page.say(text)
    assert replies[-1]["expects"]["type"] == "photo"
    return page, summary["photo_token"]


async def test_a_photo_posted_with_the_page_token_is_answered_in_the_chat(
    client: TestClient, photos: PhotoStore, manager: DialogManager
) -> None:
    page, token = await _at_logo(client)
    response = await client.post(
        "/photo",
        data=jpeg_with_gps((2000, 1500)),
        headers={**_origin(client), "X-Photo-Token": token, "Content-Type": "image/jpeg"},
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["width"] == 1600
    replies = await page.replies()
    assert [r["text"] for r in replies] == [
        "Thank you, I have the picture.",
        "What is in the picture? Type it in a few words, for people who cannot see it.",
    ]
    replies = await page.say("Our logo: a blue loaf")
    assert replies[0]["text"] == "Got it: the picture “Our logo: a blue loaf”."
    assert len(list(photos.folder.glob("*.jpg"))) == 1


async def test_refusals_are_said_in_the_chat_in_japanese(client: TestClient) -> None:
    page, token = await _at_logo(client, "ja")
    headers = {**_origin(client), "X-Photo-Token": token}
    response = await client.post("/photo", data=b"hello, I am text", headers=headers)
    assert response.status == 200 and (await response.json())["accepted"] is False
    replies = await page.replies()
    assert replies[0]["text"] == (
        "そのファイルは使える写真ではありません。写真（JPEG、PNG、WebP）を送ってください。"
    )
    cut = jpeg_with_gps((1200, 900))
    response = await client.post("/photo", data=cut[: len(cut) // 3], headers=headers)
    assert (await response.json()) == {"code": "damaged", "accepted": False}
    replies = await page.replies()
    assert "こわれているか途中で切れて" in replies[0]["text"]


async def test_a_30_mb_upload_is_refused_at_the_http_layer(
    client: TestClient, photos: PhotoStore
) -> None:
    page, token = await _at_logo(client)
    headers = {**_origin(client), "X-Photo-Token": token, "Content-Type": "image/jpeg"}
    try:
        response = await client.post(
            "/photo", data=b"\xff\xd8" + b"\0" * 30_000_000, headers=headers
        )
        assert response.status == 413
    except ClientError:
        pass  # the server may close before the client has finished sending: also refused
    replies = await page.replies()
    assert replies[0]["text"] == "That picture's file is too large. Please send a smaller one."
    assert not photos.folder.exists() or not any(photos.folder.iterdir())


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Photo-Token": "forged.0000"},
        {},  # no token
        {"Origin": "https://evil.example"},  # another site's page, even with a good token
        {"Origin": None},  # no Origin: a browser's POST always has one
    ],
    ids=["forged", "no-token", "other-site", "no-origin"],
)
async def test_uploads_without_the_page_token_or_from_elsewhere_are_refused(
    client: TestClient, photos: PhotoStore, headers: dict[str, str | None]
) -> None:
    page, token = await _at_logo(client)
    sent = {**_origin(client), "X-Photo-Token": token, **headers}
    sent = {name: value for name, value in sent.items() if value is not None}
    if "X-Photo-Token" not in headers and headers:
        sent["X-Photo-Token"] = token
    if not headers:
        del sent["X-Photo-Token"]
    response = await client.post("/photo", data=jpeg_with_gps((64, 64)), headers=sent)
    assert response.status == 403
    assert not photos.folder.exists() or not any(photos.folder.iterdir())
