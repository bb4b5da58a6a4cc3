"""Edits in words after delivery: "make the title bigger", 「メニューに値段を足して」, "undo".

A delivered page is changed by saying what to change, not by answering the questions again.
An edit is one of three things:

- a **look** step: a part of the page (title, text, photos) one size bigger or smaller; it is
  no answer to any question (generators/look.py turns it into style rules);
- an **answer** change: the question the words name (by its name, its ``edit_words``, or a
  word for its kind, like "colour" for a colour question), with the new value when the
  words carry one ("change the colour to green", 「電話番号は03-1234-5678にして」), or
  without it ("add our phone number"), when the dialog asks for it;
- **undo**: back to the version before.

The phrase tables are the specification, as for commands (assistant/understanding/phrases):
they are tried first and decide alone when they find something; the language model, when
there is one, is asked only about words they did not understand.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from assistant.jobs.catalog import Job, Question
from assistant.understanding.colors import parse_color
from assistant.understanding.interpret import Answer, interpret, match_choice
from assistant.understanding.text import normalize, normalize_all


@dataclass(frozen=True, slots=True)
class LookEdit:
    """One part of the page one step bigger (+1) or smaller (-1)."""

    part: str
    step: int


@dataclass(frozen=True, slots=True)
class AnswerEdit:
    """A new answer for a question; ``value`` None: ask for it (the words named no value)."""

    question_id: str
    value: Any = None
    has_value: bool = False


@dataclass(frozen=True, slots=True)
class UndoEdit:
    """Back to the inputs of the version before."""


Edit = LookEdit | AnswerEdit | UndoEdit

# fmt: off
_UNDO = normalize_all([
    "undo", "undo that", "undo it", "undo the change", "undo the last change", "revert",
    "put it back", "change it back", "as it was", "like before", "the way it was",
    "go back to the last version", "go back to the previous version", "the previous version",
    "the last version", "back to how it was",
    "元に戻して", "もとに戻して", "もとにもどして", "元にもどして", "元に戻す", "もとにもどす",
    "取り消し", "取り消して", "とりけし", "とりけして", "前のに戻して", "まえのにもどして",
    "前の版に戻して", "前のほうがいい", "さっきのに戻して", "さっきのにもどして", "戻して",
    "もどして", "アンドゥ",
])
# How a recogniser hears "undo" said alone (Whisper base: "and do"): only the whole utterance.
_UNDO_HEARD = normalize_all(["and do", "un do", "undue", "on do", "andu"])
# How Whisper base hears "add" opening an edit ("at our phone number"): "at" starting the words
# before what is added.
_ADD_HEARD = re.compile(r"^\s*at\s+(?=(?:our|the|a|an|my|some)\b)", re.IGNORECASE)
_PARTS: dict[str, tuple[str, ...]] = {
    "title": normalize_all([
        "title", "heading", "headline", "the name at the top", "タイトル", "見出し", "みだし",
        "題名", "だいめい",
    ]),
    "photo": normalize_all([
        "photo", "photos", "picture", "pictures", "image", "images", "logo", "写真", "しゃしん",
        "画像", "がぞう", "ロゴ", "ピクチャー",
    ]),
    "text": normalize_all([
        "text", "letters", "writing", "words", "font", "everything", "whole page", "all of it",
        "文字", "もじ", "字", "じ", "文章", "ぶんしょう", "全体", "ぜんたい", "全部", "ぜんぶ",
    ]),
}
_BIGGER = normalize_all([
    "bigger", "larger", "big", "large", "increase", "enlarge", "more visible", "grow",
    "大きく", "おおきく", "大きめ", "おおきめ", "でかく", "大きい", "おおきい", "拡大",
])
_SMALLER = normalize_all([
    "smaller", "small", "tiny", "little", "reduce", "shrink", "less big",
    "小さく", "ちいさく", "小さめ", "ちいさめ", "小さい", "ちいさい", "縮小",
])
NEAR_PART = 75  # rapidfuzz partial ratio: one kana in four misheard
# Words for the kind of a question, so "the colour" names a colour question whatever its name.
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "color": normalize_all(["colour", "color", "main colour", "main color", "色", "いろ"]),
    "time": normalize_all(["time", "時間", "じかん", "時刻"]),
    "date": normalize_all(["date", "day", "日付", "ひづけ", "日にち", "ひにち"]),
}
# Words that say "change" or "add"; an answer edit needs one (or a value after the name), so
# a sentence that only mentions a thing ("the menu is nice") changes nothing.
_VERBS = normalize_all([
    "change", "make", "set", "turn", "switch", "use", "put", "add", "include", "fix", "correct",
    "update", "replace", "i want", "i'd like", "please",
    "変えて", "かえて", "変更", "へんこう", "にして", "にする", "直して", "なおして", "足して",
    "たして", "加えて", "くわえて", "入れて", "いれて", "のせて", "載せて", "追加", "ついか",
    "書いて", "かいて", "したい", "ほしい", "欲しい", "お願い", "おねがい",
])
_ARTICLES = ("the ", "a ", "an ", "our ", "my ", "your ", "its ")
# What may stand between a question's name and its new value.
_EN_VALUE = (
    r"(?:\s+(?:to|into|as|is|be|should be|will be|=)\s+|\s*[:=]\s*|\s+(?=[0-9+#]))"
)
# "add prices to the menu": after "add", "to" leads to a place, not to a value.
_EN_ADD = re.compile(r"^(?:please\s+)?(?:(?:can|could) you\s+)?(?:add|include|put)\b", re.I)
_EN_ADD_VALUE = r"(?:\s*[:=]\s*|\s+)"
_EN_PREPOSITIONS = ("to ", "on ", "in ", "onto ", "for ", "at ", "with ", "from ", "of ", "too")
# 「電話番号を足して」: an "add" verb after the name asks for the value, it is none.
_JA_ADD = normalize_all(["足して", "たして", "加えて", "くわえて", "入れて", "いれて", "のせて", "載せて",
                         "追加", "ついか", "書いて", "かいて", "ほしい", "欲しい", "つけて", "付けて"])
_JA_VALUE_AFTER = re.compile(
    r"^\s*(?:を|は|が|も)?\s*[:：]?\s*(?P<value>.+?)\s*(?:に|へ)?\s*"
    r"(?:して(?:ください|下さい)?|しといて|変えて(?:ください)?|かえて(?:ください)?|変更(?:して)?|"
    r"直して|なおして|する|です|でお願いします|でおねがいします|にして)?\s*[。.!！]?\s*$"
)
_EN_PRONOUN_VALUE = re.compile(
    r"^(?:please\s+)?(?:make|change|turn|set|switch)\s+(?:it|the page|everything)\s+"
    r"(?:to\s+|into\s+)?(?P<value>.+?)(?:\s+please)?$",
    re.IGNORECASE,
)
_JA_BARE_VALUE = re.compile(r"^(?P<value>.+?)(?:色)?(?:に|へ)(?:して|変えて|かえて|変更して|する)")
# fmt: on


def _contains(text: str, phrase: str) -> bool:
    """A phrase inside normalised words: whole words for Latin, anywhere for Japanese."""
    if phrase.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None
    return phrase in text


def _any(text: str, phrases: Iterable[str]) -> str | None:
    """The longest phrase found in the text."""
    found = [p for p in phrases if _contains(text, p)]
    return max(found, key=len) if found else None


def _loose(text: str) -> str:
    """The words as said, spaced and width-folded but with their case and kana kept: values
    ("Blue Harbor", 「ヒダマリ」) are taken from this, never from the normalised form."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def _pattern(name: str) -> str:
    """A regular expression for a normalised name that also matches its katakana spelling."""
    out = []
    for ch in name:
        if "\u3041" <= ch <= "\u3096":
            out.append(f"[{ch}{chr(ord(ch) + 0x60)}]")
        elif ch == " ":
            out.append(r"\s*")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def question_words(question: Question, language: str) -> tuple[str, ...]:
    """Every normalised way to name a question: its name in both languages (without "the"),
    its ``edit_words`` and the words for its kind."""
    names: list[str] = []
    if question.name is not None:
        for name in (question.name.ja, question.name.en):
            names.append(name)
            lowered = name.lower()
            for article in _ARTICLES:
                if lowered.startswith(article):
                    names.append(name[len(article) :])
    names.extend(question.edit_words.all())
    names.append(question.id.replace("_", " "))
    words = normalize_all(names) + _KIND_WORDS.get(question.type, ())
    return tuple(w for w in words if len(w) >= 2 or not w.isascii())


def editable(job: Job) -> list[Question]:
    """The questions an edit may change: not a photo (a picture is sent, not said), and not
    a question that opens sections ("add more"), which is no part of the page."""
    gates = {q.when.question for q in job.questions if q.when is not None}
    return [q for q in job.questions if q.type != "photo" and q.id not in gates]


def _named_question(job: Job, text: str, language: str) -> tuple[Question, str] | None:
    """The question the words name, with the name found; the longest name wins, so "phone
    number" beats "number" and 「電話番号」 beats 「番号」."""
    best: tuple[Question, str] | None = None
    for question in editable(job):
        found = _any(text, question_words(question, language))
        if found is not None and (best is None or len(found) > len(best[1])):
            best = (question, found)
    return best


def _value_after(said: str, name: str) -> str | None:
    """The words after the question's name that give its new value, if any."""
    match = re.search(_pattern(name), said, re.IGNORECASE)
    if match is None:
        return None
    rest = said[match.end() :]
    if name.isascii():
        between = _EN_ADD_VALUE if _EN_ADD.match(said) else _EN_VALUE
        value = re.match(rf"^{between}(?P<value>.+?)(?:\s+please)?[.!]?$", rest, re.IGNORECASE)
        if value is None:
            return None
        found = value.group("value").strip()
        return None if found.lower().startswith(_EN_PREPOSITIONS) else found or None
    value = _JA_VALUE_AFTER.match(rest)
    if value is None or _any(normalize(rest), _JA_ADD) is not None:
        return None
    found = value.group("value").strip()
    # 「メニューに値段を足して」: what follows is what to do, not a value.
    if not found or _any(normalize(found), _VERBS) is not None or found.startswith(("に", "へ")):
        return None
    return found


def _value_for(
    question: Question, value: str | None, today: datetime.date, language: str
) -> tuple[bool, Any]:
    """The value as an answer to the question, if it is a valid one. 「緑に捨て」 (a recogniser's
    「緑にして」) is also tried as what comes before its last に."""
    if value is None:
        return False, None
    candidates = [value]
    if not value.isascii() and "に" in value[1:]:
        candidates.append(value.rsplit("に", 1)[0])
    for candidate in candidates:
        result = interpret(question, candidate, today, language)
        if isinstance(result, Answer):
            return True, result.value
    return False, None


def _look_edit(text: str) -> LookEdit | None:
    """A size step: "make the title bigger", 「写真を大きく」; "bigger" alone means the text."""
    bigger, smaller = _any(text, _BIGGER), _any(text, _SMALLER)
    if (bigger is None) == (smaller is None):
        return None
    part = max(
        ((p, found) for p, words in _PARTS.items() if (found := _any(text, words)) is not None),
        key=lambda hit: len(hit[1]),
        default=None,
    )
    name = part[0] if part else _part_heard_nearly(text)
    return LookEdit(name or "text", 1 if bigger else -1)


def _part_heard_nearly(text: str) -> str | None:
    """A part named with one sound misheard (「タイドル」 for タイトル): a Japanese part word of
    four kana or more, three of four sounds the same, in only one part; or an English word
    that sounds like a part word (Whisper base hears "title" as "tidal": Metaphone TTL both)."""
    found = {
        part
        for part, words in _PARTS.items()
        for word in words
        if not word.isascii() and len(word) >= 4 and fuzz.partial_ratio(word, text) >= NEAR_PART
    }
    found |= _parts_by_sound(text)
    return found.pop() if len(found) == 1 else None


def _parts_by_sound(text: str) -> set[str]:
    """Parts one of whose one-word English names has the Metaphone key of a word said. Only
    words that came from speech need it, and speech brings ``jellyfish`` (the speech extra):
    without it typed words are read as they are."""
    try:
        import jellyfish
    except ImportError:
        return set()
    heard = {jellyfish.metaphone(word) for word in re.findall(r"[a-z]{4,}", text)}
    return {
        part
        for part, words in _PARTS.items()
        for word in words
        if word.isascii()
        and " " not in word
        and len(word) >= 4
        and jellyfish.metaphone(word) in heard
    }


def _choice_named(job: Job, text: str, language: str) -> AnswerEdit | None:
    """A choice named without its question: "use the magazine layout", 「ポップにして」."""
    found = [
        (question, choice)
        for question in job.questions
        if question.type == "choice"
        and (choice := match_choice(_bare_value(text) or text, question, language)) is not None
        and _any(text, normalize_all(_choice_names(question, choice))) is not None
    ]
    if len(found) != 1:
        return None
    question, choice = found[0]
    return AnswerEdit(question.id, choice, True)


def _choice_names(question: Question, choice_id: str) -> list[str]:
    choice = question.choice(choice_id)
    return [] if choice is None else [choice.label.ja, choice.label.en, *choice.readings]


def _bare_value(said: str) -> str | None:
    """The value in "make it green" or 「緑にして」, where no question is named."""
    for pattern in (_EN_PRONOUN_VALUE, _JA_BARE_VALUE):
        match = pattern.match(said)
        if match:
            return match.group("value").strip()
    return None


def understand_edit(
    job: Job,
    text: str,
    language: str,
    today: datetime.date,
    *,
    looks: bool,
) -> Edit | None:
    """What the words change, or None when they name no edit (the caller then tries its
    other readings, and says what it can do). ``looks``: whether the job's artifact has a
    look to change (pages)."""
    text = _ADD_HEARD.sub("add ", text, count=1) if language == "en" else text
    normalized = normalize(text)
    if not normalized:
        return None
    said = _loose(text)
    if (
        normalized in _UNDO_HEARD
        or normalized in _UNDO
        or (_any(normalized, _UNDO) is not None and len(normalized) <= 40)
    ):
        return UndoEdit()
    if looks:
        look = _look_edit(normalized)
        if look is not None:
            return look
    named = _named_question(job, normalized, language)
    if named is not None:
        question, name = named
        verb = _any(normalized, _VERBS) is not None
        has, value = _value_for(question, _value_after(said, name), today, language)
        if not has and question.type == "choice":  # "use the magazine layout"
            rest = normalized.replace(name, " ")
            choice = match_choice(rest, question, language)
            has, value = choice is not None, choice
        # A list changes only when asked to: "the menu is nice" is a remark, not a menu.
        if has and (verb or question.type != "list"):
            return AnswerEdit(question.id, value, True)
        return AnswerEdit(question.id) if verb else None
    bare = _bare_value(said)
    if bare is not None:
        color = parse_color(bare)
        colors = [q for q in job.questions if q.type == "color"]
        if color is not None and colors:
            return AnswerEdit(colors[0].id, color, True)
    return _choice_named(job, normalized, language)
