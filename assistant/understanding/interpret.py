"""Understanding answers: deterministic parsing of what a user typed or said (DESIGN.md §2).

Everything is pure and fast (it runs on every turn) and knows Japanese in every script as
well as English. Numbers and ordinals live in ``understanding_numbers``, dates and times in
``understanding_time``, colours in ``understanding_colors``; they are re-exported here so
callers import one module.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from assistant.jobs.catalog import JobChoice, Question
from assistant.understanding.colors import color_name, parse_color
from assistant.understanding.corrections import corrected
from assistant.understanding.dates import impossible_day, parse_date, parse_time
from assistant.understanding.lists import parse_list
from assistant.understanding.numbers import parse_number, parse_ordinal
from assistant.understanding.phrases import (
    COMMANDS,
    Command,
    detect_command,
    is_help_question,
    parse_yes_no,
)
from assistant.understanding.text import (
    is_kana,
    kana_to_romaji,
    normalize,
    normalize_all,
    variants,
)

# fmt: off
__all__ = [
    "COMMANDS",
    "PROBLEM_CODES",
    "Answer",
    "Command",
    "Problem",
    "detect_command",
    "is_help_question",
    "interpret",
    "match_choice",
    "normalize",
    "color_name",
    "parse_color",
    "parse_date",
    "parse_list",
    "parse_number",
    "parse_ordinal",
    "parse_time",
    "parse_yes_no",
]

PROBLEM_CODES = (
    "empty", "not_a_number", "too_small", "too_large", "too_short", "too_long", "pattern",
    "not_a_choice", "not_yes_no", "not_a_color", "not_a_date", "no_such_day", "not_a_time",
    "too_few_items", "too_many_items",
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an answer was not accepted; the dialog turns code and params into a kind message."""

    code: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    """An accepted answer, already in its JSON-serialisable stored form."""

    value: object


# --- choices ---------------------------------------------------------------------------------

CHOICE_THRESHOLD = 80.0
CHOICE_MARGIN = 8.0
# fmt: off
_NEGATION = re.compile(
    r"\b(?:not|don't|dont|no|never|except|without|isn't)\b"
    r"|じゃない|ではない|じゃなく|ではなく|以外|いがい|くない|いらない|やめ"
)
# fmt: on
_LAST = frozenset(
    normalize_all(["last", "last one", "the last", "最後", "さいご", "一番最後", "いちばんさいご"])
)
_PUNCTUATION = re.compile(r"[,、。!?.・/]+")


@dataclass(frozen=True, slots=True)
class _ChoiceIndex:
    exact: dict[str, tuple[int, ...]]
    forms: tuple[tuple[str, int], ...]


def _is_latin(text: str) -> bool:
    return text.isascii()


@lru_cache(maxsize=256)
def _choice_index(choices: tuple[JobChoice, ...]) -> _ChoiceIndex:
    """Every way to name each choice, normalised once per question (cached)."""
    exact: dict[str, list[int]] = {}
    forms: list[tuple[str, int]] = []
    for index, choice in enumerate(choices):
        names = [choice.label.ja, choice.label.en, *choice.readings, choice.id.replace("_", " ")]
        for name in dict.fromkeys(normalize(n) for n in names):
            if not name:
                continue
            spellings = [name, kana_to_romaji(name)] if is_kana(name) else [name]
            for spelling in spellings:
                if index not in exact.setdefault(spelling, []):
                    exact[spelling].append(index)
                    forms.append((spelling, index))
    return _ChoiceIndex({k: tuple(v) for k, v in exact.items()}, tuple(forms))


def _contains(haystack: str, needle: str) -> bool:
    if _is_latin(needle):
        return f" {needle} " in f" {haystack} "
    return needle in haystack


def _by_substring(text: str, index: _ChoiceIndex) -> int | None:
    spaced = _PUNCTUATION.sub(" ", text)
    hits = [
        (form, i)
        for form, i in index.forms
        if (len(form) >= 2 or not (form.isascii() or is_kana(form))) and _contains(spaced, form)
    ]
    if not hits:
        # The answer may be a shortened label: "warm" for "Warm colours".
        if len(text) >= 3 or (len(text) >= 2 and not text.isascii()):
            hits = [(form, i) for form, i in index.forms if _contains(form, text)]
        return hits[0][1] if len({i for _, i in hits}) == 1 else None
    hits.sort(key=lambda hit: -len(hit[0]))
    longest, winner = hits[0]
    # "light blue" also contains "blue": the longer name wins when it covers the shorter ones.
    if all(i == winner or form in longest for form, i in hits):
        return winner
    return None


def _by_fuzzy(queries: list[str], index: _ChoiceIndex) -> int | None:
    best: dict[int, float] = {}
    for query in queries:
        for form, i in index.forms:
            if len(form) < 3 and len(query) < 3:
                continue
            score = fuzz.ratio(query, form, score_cutoff=CHOICE_THRESHOLD - CHOICE_MARGIN)
            if score > best.get(i, 0.0):
                best[i] = score
    ranked = sorted(best.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] < CHOICE_THRESHOLD:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < CHOICE_MARGIN:
        return None
    return ranked[0][0]


def match_choice(text: str, question: Question, language: str) -> str | None:
    """The id of the choice the user named, by name, position, part of a name or near-spelling."""
    choices = question.choices
    normalized = normalize(text)
    if not choices or not normalized:
        return None
    index = _choice_index(choices)
    queries = variants(normalized)
    queries += [kana_to_romaji(q) for q in queries if is_kana(q)]
    for query in queries:
        found = index.exact.get(query)
        if found and len(found) == 1:
            return choices[found[0]].id
        if found:  # the same word names two choices: prefer the label in the session language
            preferred = [i for i in found if normalize(choices[i].label.get(language)) == query]
            return choices[preferred[0]].id if len(preferred) == 1 else None
    position = len(choices) if _LAST.intersection(queries) else parse_ordinal(normalized)
    if position is not None:
        return choices[position - 1].id if position <= len(choices) else None
    if _NEGATION.search(normalized):
        return None  # "not the warm one", 「赤じゃない」: never pick what was refused
    found_index = _by_substring(queries[-1], index)
    if found_index is None and queries[-1] != normalized:
        found_index = _by_substring(normalized, index)
    if found_index is None:
        found_index = _by_fuzzy(queries, index)
    return None if found_index is None else choices[found_index].id


# --- interpret -------------------------------------------------------------------------------


def _plain(value: float | None) -> object:
    """Limits are loaded as floats; 1.0 reads better as 1 in a spoken message."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


@lru_cache(maxsize=128)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_text(question: Question, text: str) -> Answer | Problem:
    minimum = question.min_length if question.min_length is not None else 1
    if len(text) < minimum:
        return Problem("too_short", {"min": minimum, "length": len(text)})
    if question.max_length is not None and len(text) > question.max_length:
        return Problem("too_long", {"max": question.max_length, "length": len(text)})
    if question.pattern and not _pattern(question.pattern).fullmatch(text):
        return Problem("pattern", {"pattern": question.pattern})
    return Answer(text)


def _check_number(question: Question, text: str) -> Answer | Problem:
    value = parse_number(text)
    if value is None:
        return Problem("not_a_number", {})
    if question.min is not None and value < question.min:
        return Problem("too_small", {"min": _plain(question.min), "value": value})
    if question.max is not None and value > question.max:
        return Problem("too_large", {"max": _plain(question.max), "value": value})
    return Answer(value)


def _check_list(question: Question, text: str) -> Answer | Problem:
    items = parse_list(text)
    if not items:
        return Problem("empty", {})
    for item in items:
        if question.max_length is not None and len(item) > question.max_length:
            return Problem("too_long", {"max": question.max_length, "item": item})
    if question.min_items is not None and len(items) < question.min_items:
        return Problem("too_few_items", {"min": question.min_items, "count": len(items)})
    if question.max_items is not None and len(items) > question.max_items:
        return Problem("too_many_items", {"max": question.max_items, "count": len(items)})
    return Answer(items)


def interpret(
    question: Question, text: str, today: datetime.date, language: str = "ja"
) -> Answer | Problem:
    """Turn one utterance into a stored answer for ``question``, or say what is wrong with it.

    Commands are not handled here: the dialog calls ``detect_command`` first. ``language`` only
    breaks ties when one word names two choices. A correction inside the answer ("three, no,
    four") keeps the corrected value when that is a valid answer.
    """
    free_text = question.type in ("text", "list")
    if question.type != "yesno":  # "no" is a yes/no answer, not a correction
        correction = corrected(text, free_text=free_text)
        if correction is not None:
            result = _interpret(question, correction, today, language)
            if isinstance(result, Answer):
                return result
    return _interpret(question, text, today, language)


def _interpret(
    question: Question, text: str, today: datetime.date, language: str
) -> Answer | Problem:
    stripped = text.strip()
    if not normalize(stripped):
        return Problem("empty", {})
    kind = question.type
    if kind == "photo":  # a picture comes as a picture (Turn.photo), never as words
        return Problem("photo_expected", {})
    if kind == "text":
        return _check_text(question, stripped)
    if kind == "number":
        return _check_number(question, stripped)
    if kind == "list":
        return _check_list(question, stripped)
    if kind == "choice":
        choice = match_choice(stripped, question, language)
        if choice is None:
            return Problem("not_a_choice", {"choices": [c.id for c in question.choices]})
        return Answer(choice)
    if kind == "yesno":
        yes = parse_yes_no(stripped)
        return Problem("not_yes_no", {}) if yes is None else Answer(yes)
    if kind == "color":
        color = parse_color(stripped)
        return Problem("not_a_color", {}) if color is None else Answer(color)
    if kind == "date":
        date = parse_date(stripped, today)
        if date is not None:
            return Answer(date.isoformat())
        impossible = impossible_day(stripped)
        if impossible is not None:
            return Problem("no_such_day", {"month": impossible[0], "day": impossible[1]})
        return Problem("not_a_date", {})
    if kind == "time":
        time = parse_time(stripped)
        return Problem("not_a_time", {}) if time is None else Answer(time.strftime("%H:%M"))
    raise ValueError(f"unknown question type: {kind}")
