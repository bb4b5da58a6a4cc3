"""What a recogniser should listen for next: the closed set of phrases of the current question.

For choice, yes/no and number questions (and the menu, the confirm step and the delivered
step) the recogniser gets a grammar of the phrases that make sense, plus the commands. That is
what makes hard-to-understand speech recognisable. Free answers (names, texts, dates) get
``None``: the recogniser listens freely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.events import SessionState
from assistant.jobs.catalog import Job, Question
from assistant.understanding.phrases import command_phrases, yes_no_phrases

_EN_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
            "seventeen", "eighteen", "nineteen"]  # fmt: skip
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                "ninth", "tenth"]  # fmt: skip
_JA_DIGITS = ["", "いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう"]
_JA_KANJI = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
MAX_NUMBERS = 100


@dataclass(frozen=True, slots=True)
class Expectation:
    """The language to listen in, and the phrases to expect (None: listen freely).

    ``free``: listen freely all the same, then take a phrase only when the whole answer
    sounds like it (``speech.voice_turn``). After delivery a person may say one of the three
    choices or an edit in their own words; a closed grammar forced edits onto phrases."""

    language: str
    phrases: tuple[str, ...] | None
    free: bool = False


def english_number(n: int) -> str:
    """0-999 in words, as a recogniser's dictionary spells them."""
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f" {_EN_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_EN_ONES[hundreds]} hundred" + (f" {english_number(rest)}" if rest else "")


def japanese_number(n: int) -> list[str]:
    """1-999 in kanji and in kana (the recogniser's vocabulary may hold either)."""

    def spell(digits: list[str], ten: str, hundred: str) -> str:
        h, rest = divmod(n, 100)
        t, o = divmod(rest, 10)
        out = "" if h == 0 else (hundred if h == 1 else digits[h] + hundred)
        out += "" if t == 0 else (ten if t == 1 else digits[t] + ten)
        return out + digits[o]

    return [str(n), spell(_JA_KANJI, "十", "百"), spell(_JA_DIGITS, "じゅう", "ひゃく")]


def _numbers(language: str, low: int, high: int) -> list[str]:
    phrases: list[str] = []
    for n in range(max(low, 0), min(high, low + MAX_NUMBERS - 1) + 1):
        phrases += [english_number(n)] if language == "en" else japanese_number(n)
    return phrases


def _ordinals(language: str, count: int) -> list[str]:
    if language == "en":
        words = [f"number {english_number(n)}" for n in range(1, count + 1)]
        return words + _EN_ORDINALS[:count] + [english_number(n) for n in range(1, count + 1)]
    out = []
    for n in range(1, count + 1):
        kanji, kana = japanese_number(n)[1:]
        out += [f"{kanji}番", f"{kana}ばん", kanji, kana]
    return out


def _in_language(phrases: Iterable[str], language: str) -> list[str]:
    """Keep phrases written in the language's script (ASCII for English, the rest for ja)."""
    return [p for p in phrases if p.isascii() == (language == "en")]


def commands(language: str) -> list[str]:
    """Every command phrase in ``language``."""
    return _in_language(command_phrases(), language)


def yes_no(language: str) -> list[str]:
    """Ways to say yes or no in ``language``."""
    return _in_language(yes_no_phrases(), language)


def question_phrases(question: Question, language: str) -> list[str] | None:
    """The closed answers to one question, or None for a free answer."""
    if question.type == "choice":
        labels = [c.label.get(language) for c in question.choices]
        readings = [r for c in question.choices for r in c.readings]
        return [
            *labels,
            *_in_language(readings, language),
            *_ordinals(language, len(question.choices)),
        ]
    if question.type == "yesno":
        return yes_no(language)
    if question.type == "number":
        low = int(question.min) if question.min is not None else 0
        high = int(question.max) if question.max is not None else low + MAX_NUMBERS - 1
        return _numbers(language, low, high) + _counted(question, language, low, high)
    return None


_COUNTED = re.compile(r"[0-9０-９]+\s*([^\s0-9０-９「」『』、。,.!?！？()（）]{1,5})")


def _counted(question: Question, language: str, low: int, high: int) -> list[str]:
    """Japanese numbers with the counter the question's own words use (「たとえば「5問」です」,
    「10パーセント」): a person answers 「五問」, and a recogniser matching by sound finds
    「ごもん」 in 「コモン」 far better than 「ご」 alone. Only counters the dialog's numbers
    understand, and only up to ``MAX_NUMBERS``."""
    if language != "ja":
        return []
    from assistant.understanding.numbers import parse_number

    texts = [question.prompt.get(language), question.help.get(language) if question.help else None]
    counters = {
        found.group(1)
        for text in texts
        if text
        for found in _COUNTED.finditer(text)
        if parse_number(found.group(0)) is not None
    }
    return [
        japanese_number(n)[1] + counter
        for counter in sorted(counters)
        for n in range(max(low, 1), min(high, low + MAX_NUMBERS - 1) + 1)
    ]


def expected_phrases(
    state: SessionState, job: Job | None, question: Question | None, language: str,
    jobs: list[Job], delivered_words: Iterable[str] = (),
) -> tuple[str, ...] | None:  # fmt: skip
    """The grammar for the session's next turn, commands included; None for free speech."""
    phrases: list[str] | None
    if state in (SessionState.ASK, SessionState.EDIT) and question is not None:
        phrases = question_phrases(question, language)
    elif state in (SessionState.WELCOME, SessionState.CHOOSE_JOB, SessionState.ENDED):
        phrases = [j.title.get(language) for j in jobs] + _ordinals(language, len(jobs))
    elif state == SessionState.CONFIRM and job is not None:
        phrases = [*yes_no(language), *_ordinals(language, len(job.questions))]
    elif state == SessionState.DELIVERED:
        # The three what-next choices and the commands, matched by sound to what was heard
        # freely (``Expectation.free``): edits come in one's own words.
        phrases = _in_language(delivered_words, language)
    elif state == SessionState.DESCRIBE:
        phrases = None  # a free description: no grammar
    else:
        phrases = []
    if phrases is None:
        return None
    unique = dict.fromkeys(p.strip() for p in [*phrases, *commands(language)] if p.strip())
    return tuple(unique)
