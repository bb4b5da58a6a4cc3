"""Numbers and ordinals as people say them: digits, kanji, kana readings and English words."""

from __future__ import annotations

import re

from assistant.understanding.text import normalize, normalize_all, strip_fillers

_ARABIC = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")

# fmt: off
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                 "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "億": 100_000_000}
KANJI_NUMERAL = re.compile("[〇零一二三四五六七八九十百千万億]+")

# Hiragana readings, as a recogniser writes them, with the sound changes (いっ, ろっ, ぴゃく).
# The flag says whether the reading is a unit (十, 百, ...) rather than a digit.
_KANA_TOKENS: dict[str, tuple[int, bool]] = {
    "ぜろ": (0, False), "れい": (0, False), "いち": (1, False), "いっ": (1, False),
    "に": (2, False), "さん": (3, False), "よん": (4, False), "し": (4, False),
    "ご": (5, False), "ろく": (6, False), "ろっ": (6, False), "なな": (7, False),
    "しち": (7, False), "はち": (8, False), "はっ": (8, False), "きゅう": (9, False),
    "く": (9, False), "じゅう": (10, True), "じゅっ": (10, True), "じっ": (10, True),
    "ひゃく": (100, True), "びゃく": (100, True), "ぴゃく": (100, True),
    "せん": (1000, True), "ぜん": (1000, True), "まん": (10_000, True),
    "おく": (100_000_000, True),
}
_KANA_LONGEST = sorted(_KANA_TOKENS, key=len, reverse=True)
# Native counting words that the kana tokens above cannot build.
_KANA_WORDS = {
    "ひとつ": 1, "ふたつ": 2, "みっつ": 3, "よっつ": 4, "いつつ": 5, "むっつ": 6, "ななつ": 7,
    "やっつ": 8, "ここのつ": 9, "とお": 10, "ひとり": 1, "ふたり": 2, "よにん": 4, "はたち": 20,
}

_EN_ONES = {w: i for i, w in enumerate([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
])}
_EN_ONES["oh"] = 0
_EN_TENS = {w: 10 * (i + 2) for i, w in enumerate([
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
])}
_EN_SCALES = {"thousand": 1000, "million": 1_000_000}
# fmt: on


def _affixes(japanese: list[str], english: list[str], *, before: bool) -> tuple[str, ...]:
    """English affixes only count as whole words, so they carry their space."""
    words = tuple(w + " " if before else " " + w for w in normalize_all(english))
    return (*normalize_all(japanese), *words)


# fmt: off
_NUMBER_PREFIXES = _affixes(
    ["約", "およそ", "だいたい", "大体", "ちょうど", "¥", "$", "€", "£"],
    ["about", "around", "approximately", "roughly", "exactly", "just", "maybe"],
    before=True,
)
_NUMBER_TAILS = _affixes(
    ["くらいです", "ぐらいです", "ほどです", "です", "くらい", "ぐらい", "位", "ほど", "程度",
     "ちょうど", "前後", "ish"],
    ["or so", "exactly", "please"],
    before=False,
)
# Counters and units: "15個", "3人", "5 people". Tried only when the whole text is no number.
_COUNTERS = normalize_all([
    "パーセント", "percent", "per cent", "%", "個", "人", "名", "つ", "枚", "円", "本", "冊",
    "歳", "才", "分", "回", "件", "台", "匹", "頭", "杯", "ページ", "ヶ月", "か月", "日間", "問",
    "にん", "もん", "めい", "こ", "まい", "えん", "ほん", "ぼん", "ぽん", "さつ", "さい", "ふん", "ぷん",
    "かい", "けん", "だい", "ひき", "びき", "ぴき", "はい", "ばい", "ぱい",
    "years old", "years", "year", "people", "persons", "person", "pieces", "piece", "items",
    "item", "yen", "dollars", "dollar", "times", "minutes", "pages", "copies", "guests",
])
# fmt: on
_NEGATIVE = normalize_all(["マイナス", "minus", "negative"])


def _compose(tokens: list[tuple[int, bool]], positional: bool) -> int | None:
    """Value of digit/unit tokens in the East Asian scheme (二千十五, 12万); None if malformed."""
    if not tokens:
        return None
    total, section, current = 0, 0, None
    for i, (value, is_unit) in enumerate(tokens):
        if not is_unit:
            if current is not None:
                if not positional:
                    return None
                current = current * 10 + value
            else:
                current = value
            if not positional and i + 1 < len(tokens) and not tokens[i + 1][1]:
                return None
        elif value >= 10_000:
            total += ((section + (current or 0)) or 1) * value
            section, current = 0, None
        else:
            section += (1 if current is None else current) * value
            current = None
    return total + section + (current or 0)


def _kanji(text: str) -> int | None:
    tokens: list[tuple[int, bool]] = []
    for ch in text:
        if ch in _KANJI_DIGITS:
            tokens.append((_KANJI_DIGITS[ch], False))
        elif ch in _KANJI_UNITS:
            tokens.append((_KANJI_UNITS[ch], True))
        elif "0" <= ch <= "9":
            tokens.append((ord(ch) - 48, False))
        else:
            return None
    return _compose(tokens, positional=True)


def _kana(text: str) -> int | None:
    tokens: list[tuple[int, bool]] = []
    i = 0
    while i < len(text):
        for reading in _KANA_LONGEST:
            if text.startswith(reading, i):
                tokens.append(_KANA_TOKENS[reading])
                i += len(reading)
                break
        else:
            return None
    return _compose(tokens, positional=False)


def _english(text: str) -> int | None:
    words = text.replace("-", " ").split()
    total, current, last, seen = 0, 0, "", False
    for i, word in enumerate(words):
        if word == "and" and seen:
            continue
        if word in ("a", "an") and not seen and i + 1 < len(words):
            current, last, seen = 1, "a", True
            if words[i + 1] not in ("hundred", *_EN_SCALES):
                return None
        elif word in _EN_ONES:
            if last in ("one", "a") or (last == "ten" and _EN_ONES[word] >= 10):
                return None
            current, last = current + _EN_ONES[word], "one"
        elif word in _EN_TENS:
            if last in ("one", "ten", "a"):
                return None
            current, last = current + _EN_TENS[word], "ten"
        elif word == "hundred":
            current, last = (current or 1) * 100, "hundred"
        elif word in _EN_SCALES:
            total, current, last = total + (current or 1) * _EN_SCALES[word], 0, "scale"
        else:
            return None
        seen = True
    return total + current if seen else None


def _arabic(text: str) -> int | float | None:
    if not _ARABIC.fullmatch(text):
        return None
    digits = text.replace(",", "")
    return float(digits) if "." in digits else int(digits)


def plain_number(text: str) -> int | float | None:
    """A bare numeral in any script (already normalised), without units or hedges."""
    if not text:
        return None
    value = _arabic(text)
    if value is not None:
        return value
    if text in _KANA_WORDS:
        return _KANA_WORDS[text]
    if text[0].isascii() and text[0].isalpha():
        return _english(text)
    value = _kanji(text)
    return value if value is not None else _kana(text)


def _strip_affixes(text: str, prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> str:
    for _ in range(3):
        before = text
        for prefix in prefixes:
            if text.startswith(prefix) and len(text) > len(prefix):
                text = text[len(prefix) :].lstrip()
        for suffix in suffixes:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)].rstrip()
        if text == before:
            break
    return text


def parse_number(text: str) -> int | float | None:
    """The number in an answer like "約20人", "じゅうご", "twenty-one" or "1,200円"."""
    text = _strip_affixes(strip_fillers(normalize(text)), _NUMBER_PREFIXES, _NUMBER_TAILS)
    sign = 1
    for word in _NEGATIVE:
        if text.startswith(word):
            sign, text = -1, text[len(word) :].lstrip()
            break
    value = plain_number(text)
    if value is None:
        for counter in _COUNTERS:
            if text.endswith(counter) and len(text) > len(counter):
                value = plain_number(text[: -len(counter)].rstrip())
                if value is not None:
                    break
    return None if value is None else sign * value


# --- ordinals --------------------------------------------------------------------------------

# fmt: off
_EN_ORDINALS = {w: i + 1 for i, w in enumerate([
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth",
])}
# fmt: on
_EN_ORDINALS.update({"1st": 1, "2nd": 2, "3rd": 3})
_EN_NTH = re.compile(r"(\d+)(?:st|nd|rd|th)")
_EN_LABELLED = re.compile(r"(?:number|num|no\.?|option|choice|item|#)\s*(.+)")
_JA_FIRST = normalize_all(["最初", "さいしょ", "一番最初", "いちばんさいしょ", "はじめ", "初め"])
# fmt: off
_ORDINAL_PREFIXES = _affixes(
    [],
    ["i'd like", "i want", "i'll take", "i choose", "go with", "let's go with", "the"],
    before=True,
)
_ORDINAL_TAILS = _affixes(
    ["でおねがいします", "でお願いします", "おねがいします", "お願いします", "にします",
     "がいいです", "がいい", "です", "のやつ", "のもの", "のほう", "の方", "の", "で"],
    ["please", "one", "option", "choice", "thanks"],
    before=False,
)
_JA_ORDINAL_SUFFIXES = normalize_all(
    ["番目", "ばんめ", "番", "ばん", "つ目", "つめ", "個目", "こめ", "目", "め"]
)
# fmt: on


def _positive_int(value: int | float | None) -> int | None:
    return int(value) if isinstance(value, int) and value > 0 else None


def parse_ordinal(text: str) -> int | None:
    """A 1-based position: "3つ目", "二番", "第三", "the second one", "option 3" or a bare "2"."""
    text = strip_fillers(normalize(text))
    bare = _positive_int(plain_number(text))
    if bare is not None:
        return bare
    match = _EN_LABELLED.fullmatch(text)  # before tails, or "number one" loses its "one"
    if match and _positive_int(plain_number(match.group(1).strip())) is not None:
        return _positive_int(plain_number(match.group(1).strip()))
    text = _strip_affixes(text, _ORDINAL_PREFIXES, _ORDINAL_TAILS)
    if text in _EN_ORDINALS:
        return _EN_ORDINALS[text]
    if text in _JA_FIRST:
        return 1
    match = _EN_NTH.fullmatch(text)
    if match:
        return _positive_int(int(match.group(1)))
    match = _EN_LABELLED.fullmatch(text)
    if match:
        return _positive_int(plain_number(match.group(1).strip()))
    if text.startswith("第"):
        text = text[1:].lstrip()
        for suffix in ("番目", "番", "つ目", "個目"):
            if text.endswith(suffix):
                text = text[: -len(suffix)]
                break
        return _positive_int(plain_number(text))
    for suffix in _JA_ORDINAL_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            value = _positive_int(plain_number(text[: -len(suffix)]))
            if value is not None:
                return value
    return _positive_int(plain_number(text))
