"""The photo question (issue 15, part U) as a user meets it, in both languages, and the photos
in the artifact: copied under photos/, listed in the manifest, zipped, given to templates."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from assistant.dialog.manager import DialogManager
from assistant.events import ReplyKind, SessionState, Turn
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.photos import PhotoStore
from assistant.store.sqlite import SQLiteStore
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing.cafe_walk import cafe_walk
from testing.walk import Walker, english_manager
from tests.test_photos import jpeg_with_gps, png_bytes

CAFE_EN = cafe_walk(until="logo")
CAFE_JA = cafe_walk(language="ja", items="コーヒー、ケーキ", until="logo")


@pytest.fixture
def photos(tmp_path: Path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos")


@pytest.fixture
def photo_queue(
    catalog: JobCatalog,
    store: SQLiteStore,
    manager: DialogManager,
    photos: PhotoStore,
    tmp_path: Path,
) -> GenerationQueue:
    return GenerationQueue(
        store=store,
        jobs=catalog,
        generators=build_generators(TemplateRenderer(), None, photos=photos),
        artifacts_dir=tmp_path / "artifacts",
        on_delivered=manager.deliver,
        on_failed=manager.generation_failed,
    )


async def _to_logo(walk: Walker, answers: list[str]) -> None:
    for text in answers:
        replies = await walk.say(text)
    assert replies[-1].question_id == "logo" and replies[-1].expects is not None
    assert replies[-1].expects.type == "photo" and replies[-1].expects.optional


async def test_a_photo_then_its_alt_text_is_kept_named_by_it_and_delivered(
    manager: DialogManager,
    photo_queue: GenerationQueue,
    photos: PhotoStore,
    phrases: Phrases,
) -> None:
    walk = Walker(manager, photo_queue, "photo-en", "en")
    await _to_logo(walk, CAFE_EN)
    logo = Image.new("RGBA", (500, 300), (0, 0, 0, 0))
    logo.paste((30, 60, 200, 255), (50, 50, 450, 250))
    stored_logo = photos.accept(png_bytes(logo))
    replies = await walk.photo(stored_logo.id)
    assert [r.text for r in replies] == [
        "Thank you, I have the picture.",
        phrases.say("en", "photo_alt_ask"),
    ]
    replies = await walk.say("repeat")  # the alt question is what is asked now
    assert replies[-1].text == phrases.say("en", "photo_alt_ask")
    replies = await walk.say("Blue Bakery's logo, a loaf in a circle")
    assert replies[0].text == "Got it: the picture “Blue Bakery's logo, a loaf in a circle”."
    assert replies[1].question_id == "photo"

    photo = photos.accept(jpeg_with_gps((3000, 2000)))
    await walk.photo(photo.id)
    replies = await walk.say('<img src=x onerror=alert(1)> "our counter"')
    assert replies[-1].kind == ReplyKind.CONFIRM
    assert "the picture “Blue Bakery's logo, a loaf in a circle”" in replies[-1].text
    session = await manager.session(walk.key)
    assert session.answers["logo"] == {
        "id": stored_logo.id,
        "alt": "Blue Bakery's logo, a loaf in a circle",
    }
    assert session.answers["photo"]["id"] == photo.id

    await walk.say("yes")
    delivered = await walk.generate()
    assert delivered[0].kind == ReplyKind.DELIVERY
    artifact = await walk.artifact()
    folder = Path(artifact.folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["photos"] == ["photos/logo.png", "photos/photo.jpg"]
    assert {"photos/logo.png", "photos/photo.jpg"} <= set(manifest["files"])
    with Image.open(folder / "photos" / "photo.jpg") as image:
        assert image.size == (1600, 1067) and len(image.getexif()) == 0
    with zipfile.ZipFile(artifact.zip_path) as archive:
        names = archive.namelist()
    assert any(name.endswith("/photos/logo.png") for name in names)
    assert any(name.endswith("/photos/photo.jpg") for name in names)
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page  # the alt text, wherever a template shows it, is inert


async def test_refusals_words_and_skips_in_japanese(
    manager: DialogManager, photo_queue: GenerationQueue, phrases: Phrases
) -> None:
    walk = Walker(manager, photo_queue, "photo-ja", "ja")
    await _to_logo(walk, CAFE_JA)
    for code, sentence in [
        ("too_big", "その写真はファイルが大きすぎます。もっと小さいものを送ってください。"),
        ("not_a_picture", "そのファイルは使える写真ではありません。写真（JPEG、PNG、WebP）を送ってください。"),
        ("damaged", "その写真はこわれているか途中で切れていて、開けませんでした。もう一度送ってください。"),
        ("too_many_pixels", "その写真は大きすぎて開けません。もっと小さいものを送ってください。"),
    ]:  # fmt: skip
        replies = await walk.photo(None, problem=code)
        assert replies[0].kind == ReplyKind.PROBLEM and replies[0].text == sentence
        assert replies[1].question_id == "logo"  # the question again: never a dead end
    replies = await walk.say("ロゴです")  # words where a picture is wanted
    assert replies[0].text == phrases.say("ja", "problem.photo_expected")
    replies = await walk.say("いいえ")  # "Do you have a logo?" "No."
    assert replies[0].text == "スキップしました。" and replies[1].question_id == "photo"
    await walk.photo("SomePhotoId0123456789abcd")
    replies = await walk.say("スキップ")  # skipping the alt text skips the photo
    assert replies[-1].kind == ReplyKind.CONFIRM
    session = await manager.session(walk.key)
    assert session.answers["logo"] is None and session.answers["photo"] is None
    assert session.pending is None


async def test_a_photo_out_of_place_is_thanked_and_the_question_stays(
    manager: DialogManager, photo_queue: GenerationQueue
) -> None:
    walk = Walker(manager, photo_queue, "photo-early", "en")
    await walk.say("")
    await walk.say("1")
    replies = await walk.photo("SomePhotoId0123456789abcd")
    assert replies[0].text == "Thank you, but I am not asking for a picture just now."
    assert replies[1].question_id == "shop_name"


async def test_spoken_alt_text_and_a_restart_before_it(
    catalog: JobCatalog, phrases: Phrases, tmp_path: Path, photos: PhotoStore
) -> None:
    """The photo is held in the stored session: a server killed between the picture and its
    alt text resumes at the alt question, with the same photo."""
    database = tmp_path / "restart.db"
    first = SQLiteStore(database)
    await first.open()
    manager = english_manager(catalog, phrases, first)
    walk = Walker(manager, None, "photo-restart", "ja")  # type: ignore[arg-type]
    await _to_logo(walk, CAFE_JA)
    photo = photos.accept(jpeg_with_gps((640, 480)))
    await walk.photo(photo.id)
    await first.close()  # the process dies here

    second = SQLiteStore(database)
    await second.open()
    try:
        manager = english_manager(catalog, phrases, second)
        replies = await manager.resume("photo-restart", "test", "ja")
        assert replies[-1].text == phrases.say("ja", "photo_alt_ask")
        replies = await manager.handle(
            Turn("photo-restart", text="赤いドア", language="ja", channel="test", confidence=0.9)
        )
        assert replies[0].text == "「赤いドアの写真」ですね。"
        session = await manager.session("photo-restart")
        assert session.answers["logo"] == {"id": photo.id, "alt": "赤いドア"}
        assert session.state == SessionState.ASK
    finally:
        await second.close()


def test_an_answers_file_may_name_a_stored_photo_but_not_words(catalog: JobCatalog) -> None:
    import datetime

    from assistant.errors import InputError
    from assistant.understanding.answers import check_answers

    job = catalog.jobs["cafe_page"]
    given = {"shop_name": "A", "menu_items": ["x"], "opening_hours": "9-5", "mood": "warm"}
    today = datetime.date(2026, 11, 25)
    answers = check_answers(
        {**given, "logo": {"id": "x" * 24, "alt": " our  logo "}}, job, "en", today
    )
    assert answers["logo"] == {"id": "x" * 24, "alt": "our logo"} and answers["photo"] is None
    with pytest.raises(InputError, match="logo"):
        check_answers({**given, "logo": "a picture of bread"}, job, "en", today)


def test_a_photo_question_with_a_default_is_refused_with_its_field() -> None:
    from assistant.errors import JobDefinitionError
    from assistant.jobs.loader import parse_job

    question = {"id": "logo", "type": "photo", "prompt": {"ja": "ロゴ？", "en": "Logo?"}}
    job = {
        "id": "with_logo",
        "title": {"ja": "ロゴ", "en": "Logo"},
        "description": {"ja": "ロゴ", "en": "Logo"},
        "generator": "page",
        "language": "html",
        "template": "page/cafe.html.j2",
        "questions": [{**question, "required": False}],
    }
    assert parse_job(job, "with_logo.yaml").questions[0].type == "photo"
    job["questions"] = [{**question, "default": "logo.png"}]
    with pytest.raises(JobDefinitionError, match=r"questions\[logo\]\.default: a photo question"):
        parse_job(job, "with_logo.yaml")
