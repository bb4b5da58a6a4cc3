"""Closed answer sets ("grammars") as the recognition engines take them.

Both engines get the same normalised phrases: lower case, no punctuation, no duplicates.
Vosk takes a JSON list of phrases; PocketSphinx takes a JSGF grammar. A phrase with a word the
engine cannot pronounce is dropped (and logged), because an engine given an unknown word either
fails (PocketSphinx) or silently ignores it (Vosk), and neither should break a question.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Container, Iterable

_LOGGER = logging.getLogger(__name__)

# The word Vosk models use for "something outside the grammar"; not every model has it.
VOSK_UNKNOWN = "[unk]"

_ENGLISH_WORD = re.compile(r"^[a-z]+(?:'[a-z]+)*$")
_JSGF_PLAIN = re.compile(r"^[A-Za-z0-9_'\-.]+$")

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _english_number(value: int) -> str:
    """0-99 as English words, so "number 2" is something a pronouncing dictionary knows."""
    if value < 20:
        return _ONES[value]
    tens, ones = divmod(value, 10)
    return _TENS[tens] if ones == 0 else f"{_TENS[tens]} {_ONES[ones]}"


def _strip_punctuation(text: str) -> str:
    """Punctuation and symbols become spaces; an apostrophe inside a word stays (don't)."""
    out = []
    for char in text:
        category = unicodedata.category(char)
        if char == "'" or char == "\u2019":
            out.append("'")
        elif category[0] in "PS":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def normalise_phrases(phrases: Iterable[str], language: str) -> list[str]:
    """Phrases as recognisers output them: lower case, no punctuation, unique, in order."""
    english = language.split("-")[0].lower() == "en"
    result: list[str] = []
    seen: set[str] = set()
    for phrase in phrases:
        text = unicodedata.normalize("NFKC", phrase).lower()
        text = _strip_punctuation(text)
        words = []
        for word in text.split():
            word = word.strip("'")
            if not word:
                continue
            if english and word.isdigit() and int(word) < 100:
                words.extend(_english_number(int(word)).split())
            else:
                words.append(word)
        if english:
            unknown = [word for word in words if not _ENGLISH_WORD.match(word)]
            if unknown:
                _LOGGER.warning("grammar phrase %r dropped: %s not spellable", phrase, unknown)
                continue
        normal = " ".join(words)
        if normal and normal not in seen:
            seen.add(normal)
            result.append(normal)
    return result


def filter_known(phrases: Iterable[str], vocabulary: Container[str] | None) -> list[str]:
    """Phrases whose every word is in ``vocabulary`` (all of them when it is None)."""
    kept = []
    for phrase in phrases:
        missing = [] if vocabulary is None else [w for w in phrase.split() if w not in vocabulary]
        if missing:
            _LOGGER.warning(
                "grammar phrase %r dropped: not in the model's words: %s", phrase, missing
            )
        else:
            kept.append(phrase)
    return kept


def vosk_grammar(phrases: Iterable[str], vocabulary: Container[str] | None = None) -> str:
    """The JSON list ``KaldiRecognizer(model, rate, grammar)`` takes.

    Adds ``[unk]`` only when the vocabulary is known to contain it: a model without it (the
    Korean small model) would ignore the word and the caller must detect out-of-grammar speech
    another way (see ``vosk_stt``). Raises ``ValueError`` when no phrase is left.
    """
    kept = filter_known(phrases, vocabulary)
    if not kept:
        raise ValueError("no grammar phrase is in the model's vocabulary")
    if vocabulary is not None and VOSK_UNKNOWN in vocabulary:
        kept.append(VOSK_UNKNOWN)
    else:
        _LOGGER.debug(
            "model has no %s word: out-of-grammar speech is forced onto a phrase", VOSK_UNKNOWN
        )
    return json.dumps(kept, ensure_ascii=False)


def _jsgf_token(word: str) -> str:
    """A word as a JSGF token, quoted when it holds characters JSGF treats as syntax."""
    if _JSGF_PLAIN.match(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def jsgf(phrases: Iterable[str], dictionary: Container[str] | None = None) -> str:
    """A JSGF grammar accepting exactly one of ``phrases``.

    Phrases with a word missing from the pronouncing ``dictionary`` are dropped: PocketSphinx
    refuses a whole grammar for one unknown word. Raises ``ValueError`` when none is left.
    """
    kept = filter_known(phrases, dictionary)
    if not kept:
        raise ValueError("no grammar phrase can be pronounced with the dictionary")
    alternatives = " | ".join(" ".join(_jsgf_token(w) for w in p.split()) for p in kept)
    return f"#JSGF V1.0;\ngrammar answers;\npublic <answer> = {alternatives};\n"
