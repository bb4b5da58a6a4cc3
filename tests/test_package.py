"""What the client receives: a zip named after the artifact, with only the client's files and a
README in the user's language; the manifest stays for staff."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from assistant.generation.package import slugify, write_client_zip, zip_name


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"shop_name": "Blue Harbor Café"}, "blue-harbor-cafe.zip"),
        ({"shop_name": "ひだまりカフェ"}, "hidamarikafe.zip"),
        ({"list_title": "Things 2 do!"}, "things-2-do.zip"),
        (
            {"quiz_title": '<script>alert(1)</script>"><img onerror=x>'},
            "script-alert-1-script-img-onerror-x.zip",
        ),
        ({"event_name": "{{ 7*7 }}"}, "7-7.zip"),
        ({"event_name": "javascript:alert(1)"}, "javascript-alert-1.zip"),
        ({"shop_name": "\u202eevil\u202c"}, "evil.zip"),
        ({"shop_name": "😀"}, "cafe-page.zip"),  # nothing readable: the job names it
        ({"shop_name": "a" * 10_000}, "a" * 48 + ".zip"),
        ({"greeting": "not a name", "menu_items": ["x"]}, "cafe-page.zip"),
    ],
)
def test_the_zip_is_named_after_what_the_user_named(answers: dict, expected: str) -> None:
    assert zip_name({"job": "cafe_page", "version": 1, "answers": answers}) == expected


def test_a_later_version_says_so_and_kana_becomes_romaji() -> None:
    manifest = {"job": "todo_list", "version": 3, "answers": {"list_title": "かいもの"}}
    assert zip_name(manifest) == "kaimono-v3.zip"
    assert slugify("../../etc/passwd") == "etc-passwd"


@pytest.mark.parametrize(("language", "words"), [("en", "upload"), ("ja", "アップロード")])
def test_a_page_zip_holds_the_page_and_a_readme_in_the_users_language_not_the_manifest(
    tmp_path: Path, language: str, words: str
) -> None:
    (tmp_path / "index.html").write_text("<p>hi</p>", encoding="utf-8")
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")
    manifest = {"job": "cafe_page", "version": 1, "language": language, "title": "Café",
                "answers": {"shop_name": "Blue Harbor"}}  # fmt: skip
    write_client_zip(tmp_path, "a.zip", ("index.html",), manifest)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert sorted(archive.namelist()) == ["blue-harbor/README.txt", "blue-harbor/index.html"]
        assert words in archive.read("blue-harbor/README.txt").decode()


def test_a_program_zip_keeps_its_own_readme(tmp_path: Path) -> None:
    for name in ("index.html", "main.py", "README.md"):
        (tmp_path / name).write_text(name, encoding="utf-8")
    manifest = {"job": "shopping_total", "version": 1, "language": "ja",
                "answers": {"shop_name": "みどり"}}  # fmt: skip
    write_client_zip(tmp_path, "a.zip", ("index.html", "main.py", "README.md"), manifest)
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert sorted(archive.namelist()) == [
            "midori/README.md", "midori/index.html", "midori/main.py"
        ]  # fmt: skip
