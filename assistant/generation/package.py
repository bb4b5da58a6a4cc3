"""What the client receives: the zip named after the artifact, holding only the client's files.

The zip is called after what the user named (the shop, the event, the list: ``blue-harbor-cafe
.zip``), in romaji for a Japanese name when Open JTalk can read it, else after the job. Inside
are the artifact's files and a short README in the user's language on how to publish the page
or open the program; ``manifest.json`` (answers, timings, checks) stays for staff. The download
URL stays unguessable: only the name the browser saves changes.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

from assistant.understanding.text import kana_to_romaji

_LOGGER = logging.getLogger(__name__)

SLUG_LIMIT = 48
# Answers that name the artifact, by how staff name such questions in a job's YAML.
_NAME_KEYS = re.compile(r"(^|_)(name|title)$")
_JAPANESE_RUN = re.compile(r"[\u3040-\u30ff\u3005\u4e00-\u9fff]+")
_PAGE_README = {
    "en": (
        "{title}\n\n"
        "How to look at it: double-click index.html. It opens in your web browser and works\n"
        "without the internet.\n\n"
        "How to publish it: upload every file in this folder, as it is, to your web space\n"
        "(for example GitHub Pages, Netlify Drop, or the space your internet provider gives\n"
        "you). index.html is the page people open first.\n\n"
        "If anything is unclear, please ask a member of staff.\n"
    ),
    "ja": (
        "{title}\n\n"
        "見かた：index.html を ダブルクリック すると、ブラウザで ひらきます。\n"
        "インターネットに つながって いなくても 見られます。\n\n"
        "公開のしかた：この フォルダーの ファイルを ぜんぶ、そのまま ホームページの 場所\n"
        "（GitHub Pages、Netlify Drop、プロバイダーの ホームページ サービス など）に\n"
        "アップロード します。はじめに ひらかれる ページは index.html です。\n\n"
        "わからない ことが あったら、しせつの スタッフに きいてください。\n"
    ),
}


def artifact_name(manifest: dict[str, Any]) -> str:
    """A file-name slug from the name the user gave, else the job id (never empty)."""
    answers = manifest.get("answers") or {}
    for key, value in answers.items():
        if isinstance(value, str) and value.strip() and _NAME_KEYS.search(str(key)):
            slug = slugify(value)
            if slug:
                return slug
    return slugify(str(manifest.get("job") or "")) or "artifact"


def given_name(manifest: dict[str, Any]) -> str:
    """The name the user gave the thing (a shop's, a quiz's), as they wrote it; "" if none.
    The staff console lists artifacts by it (issue 16)."""
    answers = manifest.get("answers") or {}
    for key, value in answers.items():
        if isinstance(value, str) and value.strip() and _NAME_KEYS.search(str(key)):
            return " ".join(value.split())
    return ""


def zip_name(manifest: dict[str, Any]) -> str:
    """The name the browser saves the download under: ``blue-harbor-cafe.zip``."""
    version = manifest.get("version")
    suffix = f"-v{version}" if isinstance(version, int) and version > 1 else ""
    return f"{artifact_name(manifest)}{suffix}.zip"


def slugify(text: str) -> str:
    """Lower-case ASCII letters and digits joined by hyphens; Japanese read as romaji."""
    text = unicodedata.normalize("NFKC", text)
    text = _JAPANESE_RUN.sub(lambda run: f" {_romaji(run.group())} ", text)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_LIMIT].rstrip("-")


def _romaji(text: str) -> str:
    """Japanese text as romaji: kana directly, kanji through Open JTalk's reading when it is
    installed (the speech extra); kanji without a reading are dropped."""
    if importlib.util.find_spec("pyopenjtalk") is not None and re.search(r"[\u4e00-\u9fff]", text):
        try:
            import pyopenjtalk

            text = str(pyopenjtalk.g2p(text, kana=True))
        except Exception:  # noqa: BLE001 - a reading is a nicety; the kana path still works
            _LOGGER.warning("Open JTalk could not read %r for a file name", text, exc_info=True)
    hiragana = "".join(
        chr(ord(char) - 0x60) if "\u30a1" <= char <= "\u30f6" else char for char in text
    )
    return kana_to_romaji(hiragana)


def client_files(folder: Path, files: tuple[str, ...], manifest: dict[str, Any]) -> list[str]:
    """The files the client gets; a page gains a README on how to publish it."""
    chosen = [name for name in files if name != "manifest.json"]
    if not any(name.lower().startswith("readme") for name in chosen):
        language = "ja" if manifest.get("language") == "ja" else "en"
        title = str(manifest.get("title") or "")
        (folder / "README.txt").write_text(
            _PAGE_README[language].format(title=title), encoding="utf-8"
        )
        chosen.append("README.txt")
    return chosen


def write_client_zip(
    folder: Path, zip_file: str, files: tuple[str, ...], manifest: dict[str, Any]
) -> None:
    """The download: the client's files under one folder named after the artifact; the name
    is kept in the manifest (``download``) for the server's Content-Disposition."""
    manifest["download"] = zip_name(manifest)
    prefix = manifest["download"].removesuffix(".zip")
    chosen = client_files(folder, files, manifest)
    with zipfile.ZipFile(folder / zip_file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in chosen:
            archive.write(folder / name, f"{prefix}/{name}")
