"""The text boundaries hand the rest of the system: nothing UTF-8 cannot encode, no controls."""

from __future__ import annotations

from assistant.safe_text import REPLACEMENT, clean, decode, has_controls, has_surrogates


def test_a_lone_surrogate_becomes_the_replacement_character_and_encodes() -> None:
    text = clean("ab\ud800cd\udfff")
    assert text == f"ab{REPLACEMENT}cd{REPLACEMENT}"
    assert text.encode("utf-8")  # what the SQLite write failed on
    assert has_surrogates("x\udc80") and not has_surrogates(text)


def test_terminal_escapes_are_removed_but_lines_and_tabs_stay() -> None:
    assert clean("red\x1b[31m text\x07\r\nnext\tcol") == "red[31m text\nnext\tcol"
    assert has_controls("\x1b[2J") and not has_controls("ふつうの\n文\t")


def test_japanese_and_emoji_pass_unchanged() -> None:
    assert clean("パン屋 🍞 さくら") == "パン屋 🍞 さくら"


def test_latin1_bytes_decode_to_a_line_instead_of_an_error() -> None:
    assert decode("Café\n".encode("latin-1")) == f"Caf{REPLACEMENT}\n"
    assert decode("カフェ".encode()) == "カフェ"
