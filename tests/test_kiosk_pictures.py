"""The kiosk's own pictures (issue 15, part U): offered by number and name at a photo
question, picked by saying one, and answered like any photo; other words pass through."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.phrases import Phrases
from assistant.photos import PhotoStore
from channels.kiosk.pictures import KioskPictures
from testing.cafe_walk import cafe_walk
from tests.test_photos import jpeg_with_gps

CAFE_EN = cafe_walk(until="logo")
CAFE_JA = cafe_walk(language="ja", until="logo")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "shop_front.jpg").write_bytes(jpeg_with_gps((1200, 900)))
    Image.new("RGBA", (200, 200), (10, 80, 40, 255)).save(pictures / "logo.png")
    (pictures / "notes.txt").write_text("not a picture")
    (pictures / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut")
    return pictures


async def _to_logo(
    manager: DialogManager, pictures: KioskPictures, key: str, answers: list[str], language: str
) -> list:
    for text in answers:
        turn = await pictures.turn_for(Turn(key, text=text, language=language, channel="kiosk"))
        replies = pictures.offer(await manager.handle(turn))
    return replies


async def test_pictures_are_read_out_and_one_is_picked_by_number(
    manager: DialogManager, phrases: Phrases, folder: Path, tmp_path: Path
) -> None:
    photos = PhotoStore(tmp_path / "photos")
    pictures = KioskPictures(folder, photos, phrases)
    replies = await _to_logo(manager, pictures, "kiosk:a", CAFE_EN, "en")
    assert replies[-1].speech == (
        "Pictures on this kiosk: 1, broken. 2, logo. 3, shop front. "
        "Say the number of the one you want."
    )
    turn = await pictures.turn_for(
        Turn("kiosk:a", text="number three", channel="kiosk", confidence=0.7)
    )
    assert turn.photo is not None and turn.text is None
    replies = pictures.offer(await manager.handle(turn))
    assert [r.text for r in replies] == [
        "Thank you, I have the picture.",
        phrases.say("en", "photo_alt_ask"),
    ]
    # The alt text is words, never taken for a picture's name.
    turn = await pictures.turn_for(Turn("kiosk:a", text="logo", channel="kiosk"))
    assert turn.photo is None and turn.text == "logo"
    replies = await manager.handle(turn)
    assert replies[0].text == "Got it: the picture “logo”."
    stored = photos.find((await manager.session("kiosk:a")).answers["logo"]["id"])
    assert stored is not None and (stored.width, stored.height) == (1200, 900)


async def test_in_japanese_a_name_picks_and_a_broken_file_is_explained(
    manager: DialogManager, phrases: Phrases, folder: Path, tmp_path: Path
) -> None:
    pictures = KioskPictures(folder, PhotoStore(tmp_path / "photos"), phrases)
    replies = await _to_logo(manager, pictures, "kiosk:b", CAFE_JA, "ja")
    assert replies[-1].speech.startswith(
        "このキオスクの写真です。1、broken。2、logo。3、shop front。"
    )
    turn = await pictures.turn_for(Turn("kiosk:b", text="1番", language="ja", channel="kiosk"))
    replies = pictures.offer(await manager.handle(turn))
    assert replies[0].text.startswith("その写真はこわれているか")
    assert replies[-1].speech.startswith("このキオスクの写真です。")  # offered again
    turn = await pictures.turn_for(Turn("kiosk:b", text="logo", language="ja", channel="kiosk"))
    assert turn.photo is not None
    turn = await pictures.turn_for(Turn("kiosk:b", text="スキップ", language="ja", channel="kiosk"))
    assert turn.text == "スキップ"


async def test_an_empty_folder_says_so(
    manager: DialogManager, phrases: Phrases, tmp_path: Path
) -> None:
    pictures = KioskPictures(tmp_path / "missing", PhotoStore(tmp_path / "photos"), phrases)
    replies = await _to_logo(manager, pictures, "kiosk:c", CAFE_EN, "en")
    assert replies[-1].text == phrases.say("en", "kiosk.no_pictures")
