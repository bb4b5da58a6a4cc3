"""The phrase files: both languages complete, and a gap is named when they load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.errors import LocaleError
from assistant.jobs.phrases import load_phrases

LOCALES = Path(__file__).resolve().parent.parent / "dialogs" / "locales"


def test_shipped_phrases_load_in_both_languages() -> None:
    phrases = load_phrases(LOCALES)
    assert phrases.say("en", "job_chosen", title="Quiz", count=4).startswith("Quiz.")
    assert "クイズ" in phrases.say("ja", "job_chosen", title="クイズ", count=4)
    assert set(phrases.table["ja"]) == set(phrases.table["en"])


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "locales"
    shutil.copytree(LOCALES, target)
    return target


def test_missing_translation_is_named(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    ja = target / "ja.yaml"
    ja.write_text(
        ja.read_text(encoding="utf-8").replace("goodbye:", "goodbye_x:"), encoding="utf-8"
    )
    with pytest.raises(LocaleError, match=r"goodbye.*missing translation"):
        load_phrases(target)


def test_different_placeholders_are_found(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    en = target / "en.yaml"
    en.write_text(
        en.read_text(encoding="utf-8").replace("{count} questions", "{n} questions"),
        encoding="utf-8",
    )
    with pytest.raises(LocaleError, match="job_chosen: placeholders differ"):
        load_phrases(target)


def test_unquoted_yes_key_is_explained(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    for name in ("ja.yaml", "en.yaml"):
        path = target / name
        path.write_text(path.read_text(encoding="utf-8") + "\nyes: x\n", encoding="utf-8")
    with pytest.raises(LocaleError, match="quote words like yes and no"):
        load_phrases(target)
