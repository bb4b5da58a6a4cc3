"""A photo sent to the bot (issue 15, part U), through the in-process Bot API server: the
largest size is fetched with getFile and the file route, cleaned, and asked about."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from assistant.dialog.manager import DialogManager
from assistant.jobs.phrases import Phrases
from assistant.photos import PhotoStore
from assistant.store.sqlite import SQLiteStore
from channels.telegram.bot import TelegramChannel
from testing.cafe_walk import cafe_walk
from testing.telegram import FakeBotApi
from tests.test_photos import jpeg_with_gps
from tests.test_telegram import TOKEN, User, make_bot, polling

CAFE_EN = cafe_walk(greet=False, until="logo")
CAFE_JA = cafe_walk(language="ja", greet=False, until="logo")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as api:
        yield api


@pytest.fixture
def photos(tmp_path: Path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos", max_bytes=2_000_000)


@pytest.fixture
async def bot(
    api: FakeBotApi,
    manager: DialogManager,
    phrases: Phrases,
    store: SQLiteStore,
    photos: PhotoStore,
) -> AsyncIterator[TelegramChannel]:
    async with polling(make_bot(api, manager, phrases, store, photos=photos)) as running:
        yield running


async def _at_logo(user: User, answers: list[str]) -> None:
    await user.say("/start")
    for text in answers:
        reply = await user.say(text)
    assert "logo" in reply.plain_text or "ロゴ" in reply.plain_text


async def _send_photo(user: User, sizes: list[tuple[bytes, int, int]]) -> list[str]:
    after = len(user.api.sent)
    user.api.push_photo(user.chat_id, sizes)
    first = await user.next_message(after)
    return [first.plain_text]


async def test_the_largest_size_is_taken_without_its_gps_and_its_alt_text_asked(
    api: FakeBotApi, bot: TelegramChannel, manager: DialogManager, photos: PhotoStore
) -> None:
    user = User(api, 41)
    await _at_logo(user, CAFE_EN)
    small = jpeg_with_gps((90, 68))
    large = jpeg_with_gps((1280, 960))
    texts = await _send_photo(user, [(small, 90, 68), (large, 1280, 960)])
    assert "Thank you, I have the picture." in texts[0]
    assert "What is in the picture?" in texts[0]
    assert api.calls["getFile"] >= 1
    reply = await user.say("A loaf of bread with a blue ribbon")
    assert "the picture “A loaf of bread with a blue ribbon”" in reply.plain_text
    session = await manager.session("telegram:41")
    assert session is not None
    stored = photos.find(session.answers["logo"]["id"])
    assert stored is not None and (stored.width, stored.height) == (1280, 960)
    with Image.open(stored.path) as image:
        assert len(image.getexif()) == 0


async def test_refusals_in_japanese_too_big_before_fetching_and_not_a_picture(
    api: FakeBotApi, bot: TelegramChannel, photos: PhotoStore
) -> None:
    user = User(api, 42, "ja")
    await _at_logo(user, CAFE_JA)
    fetched = api.calls["getFile"]
    huge = b"\xff\xd8" + b"\0" * 2_500_000
    texts = await _send_photo(user, [(huge, 4000, 3000)])
    assert "その写真はファイルが大きすぎます。" in texts[0]
    assert api.calls["getFile"] == fetched  # refused by its declared size: never fetched
    texts = await _send_photo(user, [(b"<svg onload=alert(1)>", 100, 100)])
    assert "そのファイルは使える写真ではありません。" in texts[0]
    assert not photos.folder.exists() or not any(photos.folder.iterdir())
