"""Text helpers shared by the understanding modules: normalisation, kana and answer phrasing.

Everything here is pure and cheap because it runs on every turn of every session.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Katakana ァ..ヶ sit exactly 0x60 above their hiragana; ー and ・ have no hiragana form.
_KATA_TO_HIRA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
# Curly quotes survive NFKC; speech recognisers and phone keyboards produce them.
_QUOTES = {0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"', 0x2212: "-"}
_TRANSLATE: dict[int, int | str] = {**_KATA_TO_HIRA, **_QUOTES}
_END_CHARS = " 。、!?.,~〜\"'「」『』"
_START_CHARS = _END_CHARS.replace(".", "")  # keep the point of ".5"
_SPACES = re.compile(r"\s+")
# A space between two Japanese characters (or a digit and a Japanese character) carries no
# meaning: Japanese recognisers put one between every word ("もう 一 回", "3 人").
_JA_SPACE = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f0-9])|(?<=[0-9]) (?=[^\x00-\x7f])")
_SEPARATORS = " ,、"


def normalize(text: str) -> str:
    """One spelling per utterance, so every comparison can be a plain string comparison."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_TRANSLATE)
    text = _SPACES.sub(" ", text).rstrip(_END_CHARS).lstrip(_START_CHARS)
    if " " in text:
        text = _JA_SPACE.sub("", text)
    return text


def normalize_all(phrases: Iterable[str]) -> tuple[str, ...]:
    """Phrase tables are written naturally and normalised once at import."""
    return tuple(dict.fromkeys(normalize(p) for p in phrases if normalize(p)))


def has_japanese(text: str) -> bool:
    """Whether the text contains kana or kanji (decides Japanese-only heuristics)."""
    return any(ch >= "\u3040" for ch in text)


def is_kana(text: str) -> bool:
    """Whether every character is hiragana (after normalize) or the long-vowel mark."""
    return bool(text) and all("\u3041" <= ch <= "\u309f" or ch == "ー" for ch in text)


# --- answer phrasing -------------------------------------------------------------------------

# fmt: off
_FILLERS_FREE = normalize_all(
    ["えーっと", "えーと", "ええと", "えっと", "あのー", "あのう", "うーん", "んー", "そうですね"]
)
_FILLERS_SEP = normalize_all(
    ["あの", "えー", "えと", "um", "umm", "uh", "er", "erm", "hmm", "well", "oh"]
)

_JA_TAILS = normalize_all(
    [
        "でおねがいします",
        "でお願いします",
        "にしてください",
        "にして下さい",
        "でおねがい",
        "でお願い",
        "おねがいします",
        "お願いします",
        "にしてほしい",
        "にします",
        "にする",
        "にして",
        "がいいです",
        "がいい",
        "でいいです",
        "でいい",
        "がいいな",
        "かな",
        "です",
        "でした",
        "だよ",
        "だね",
        "です",
        "ください",
        "下さい",
        "のやつ",
        "のもの",
        "のほう",
        "の方",
        "で",
        "の",
        "ね",
        "よ",
        "だ",
    ]
)
_EN_PREFIXES = normalize_all(
    [
        "i'd like",
        "i would like",
        "i want",
        "i'll take",
        "i will take",
        "i'll have",
        "i choose",
        "i pick",
        "let's go with",
        "lets go with",
        "go with",
        "make it",
        "it's",
        "its",
        "it is",
        "i think",
        "please",
        "maybe",
        "the",
    ]
)
# fmt: on
_EN_SUFFIXES = normalize_all(["please", "thanks", "thank you", "one", "i think", "i guess"])


def strip_fillers(text: str) -> str:
    """Drop hesitation sounds at the start ("えっと、", "um,") that carry no answer."""
    for _ in range(2):
        before = text
        for filler in _FILLERS_FREE:
            if text.startswith(filler) and len(text) > len(filler):
                text = text[len(filler) :].lstrip(_SEPARATORS + "ー")
        for filler in _FILLERS_SEP:
            if text.startswith(filler) and text[len(filler) : len(filler) + 1] in (" ", ",", "、"):
                text = text[len(filler) :].lstrip(_SEPARATORS)
        if text == before:
            break
    return text


def _strip_once(text: str) -> str:
    for tail in _JA_TAILS:
        if text.endswith(tail) and len(text) > len(tail):
            return text[: -len(tail)].rstrip(_SEPARATORS)
    for prefix in _EN_PREFIXES:
        if text.startswith(prefix + " "):
            return text[len(prefix) + 1 :].lstrip(_SEPARATORS)
    for suffix in _EN_SUFFIXES:
        if text.endswith(" " + suffix) or text.endswith("," + suffix):
            return text[: -len(suffix) - 1].rstrip(_SEPARATORS)
    return text


def variants(text: str) -> list[str]:
    """The normalised answer, then the same with fillers and polite wrapping peeled off."""
    out = [text]
    text = strip_fillers(text)
    for _ in range(4):
        if text and text not in out:
            out.append(text)
        stripped = _strip_once(text)
        if stripped == text:
            break
        text = stripped
    if text and text not in out:
        out.append(text)
    return out


# --- kana to romaji (so "akai" and "あかい" meet) --------------------------------------------

# fmt: off
_ROMAJI_DIGRAPHS = {
    "きゃ": "kya",
    "きゅ": "kyu",
    "きょ": "kyo",
    "しゃ": "sha",
    "しゅ": "shu",
    "しょ": "sho",
    "ちゃ": "cha",
    "ちゅ": "chu",
    "ちょ": "cho",
    "にゃ": "nya",
    "にゅ": "nyu",
    "にょ": "nyo",
    "ひゃ": "hya",
    "ひゅ": "hyu",
    "ひょ": "hyo",
    "みゃ": "mya",
    "みゅ": "myu",
    "みょ": "myo",
    "りゃ": "rya",
    "りゅ": "ryu",
    "りょ": "ryo",
    "ぎゃ": "gya",
    "ぎゅ": "gyu",
    "ぎょ": "gyo",
    "じゃ": "ja",
    "じゅ": "ju",
    "じょ": "jo",
    "びゃ": "bya",
    "びゅ": "byu",
    "びょ": "byo",
    "ぴゃ": "pya",
    "ぴゅ": "pyu",
    "ぴょ": "pyo",
    "てぃ": "ti",
    "でぃ": "di",
    "ふぁ": "fa",
    "ふぃ": "fi",
    "ふぇ": "fe",
    "ふぉ": "fo",
    "うぃ": "wi",
    "うぇ": "we",
    "しぇ": "she",
    "じぇ": "je",
    "ちぇ": "che",
    "ゔぁ": "va",
}
_ROMAJI = dict(
    zip(
        "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよ"
        "らりるれろわをんがぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽぁぃぅぇぉゃゅょゔ",
        [
            "a", "i", "u", "e", "o", "ka", "ki", "ku", "ke", "ko", "sa", "shi", "su", "se", "so",
            "ta", "chi", "tsu", "te", "to", "na", "ni", "nu", "ne", "no", "ha", "hi", "fu", "he",
            "ho", "ma", "mi", "mu", "me", "mo", "ya", "yu", "yo", "ra", "ri", "ru", "re", "ro",
            "wa", "o", "n", "ga", "gi", "gu", "ge", "go", "za", "ji", "zu", "ze", "zo", "da", "ji",
            "zu", "de", "do", "ba", "bi", "bu", "be", "bo", "pa", "pi", "pu", "pe", "po", "a", "i",
            "u", "e", "o", "ya", "yu", "yo", "vu",
        ],
        strict=True,
    )
)
# fmt: on


def kana_to_romaji(text: str) -> str:
    """Hepburn-ish romaji for hiragana text; other characters pass through unchanged."""
    out: list[str] = []
    i, double = 0, False
    while i < len(text):
        pair = text[i : i + 2]
        if pair in _ROMAJI_DIGRAPHS:
            syllable, i = _ROMAJI_DIGRAPHS[pair], i + 2
        elif text[i] == "っ":
            double, i = True, i + 1
            continue
        elif text[i] == "ー":
            i += 1
            if out and out[-1]:
                out.append(out[-1][-1])
            continue
        else:
            syllable, i = _ROMAJI.get(text[i], text[i]), i + 1
        if double and syllable[0].isalpha():
            syllable = ("t" if syllable.startswith("ch") else syllable[0]) + syllable
        double = False
        out.append(syllable)
    return "".join(out)
