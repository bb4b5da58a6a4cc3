"""The words around a job's name: "I'd like to make a quiz, please", 「クイズを作りたいです」.

People wrap the name of what they want in a request. Peeling the request off leaves the name
itself ("quiz", 「くいず」), which can then be compared with each job's title and examples
exactly, by romaji or by reading. The tables are the specification: add a phrasing by adding
a line (written naturally; they are normalised at import, so katakana, width and case do not
matter).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.jobs.catalog import Job
from assistant.understanding.text import is_kana, kana_to_romaji, normalize, normalize_all, variants

# fmt: off
_EN_OPENINGS = normalize_all([
    "um", "umm", "uh", "er", "erm", "well", "so", "ok", "okay", "hi", "hello", "hmm", "please",
    "can you", "could you", "would you", "can i", "could i", "may i", "i would like to",
    "i'd like to", "id like to", "i want to", "i wanna", "i need to", "i would like", "i'd like",
    "id like", "i want", "i need", "i'll take", "i'll have", "let's", "lets", "let me",
    "help me", "make me", "make", "create", "build", "do", "write", "have", "get", "try",
    "a", "an", "the", "some", "me", "one", "new", "to", "like", "maybe", "how about",
    "i think", "just",
])
_EN_CLOSINGS = normalize_all([
    "please", "for me", "thanks", "thank you", "i think", "maybe", "then", "now", "one",
    "i guess", "if you can", "thing",
])
_JA_TAILS = normalize_all([
    "を作りたいんですけど", "をつくりたいんですけど", "を作りたいです", "をつくりたいです",
    "を作りたい", "をつくりたい", "が作りたい", "がつくりたい", "作りたいです", "作りたい",
    "つくりたい", "を作ってください", "をつくってください", "を作ってほしい", "を作って",
    "をつくって", "を作ります", "をつくります", "を作る", "をつくる", "がほしいです",
    "が欲しいです", "がほしい", "が欲しい", "をおねがいします", "をお願いします", "をください",
    "おねがいします", "お願いします", "がいいです", "がいいな", "がいい", "にします", "にしたい",
    "がしたいです", "がしたい", "をしたい", "がやりたい", "をやりたい", "でおねがい", "ですか",
    "かな", "です", "だよ", "ね", "よ", "を", "が", "で",
])
_JA_OPENINGS = normalize_all([
    "えーと", "えっと", "ええと", "あの", "あのー", "うーん", "じゃあ", "では", "それじゃ", "じゃ",
    "えー", "んー", "あ", "そうだな", "そうですね",
])
# fmt: on
_SEPARATORS = " ,、"
# Refusing words: "not the quiz", 「クイズじゃない」. A refused job is never guessed.
_NEGATION = re.compile(
    r"\b(?:not|don't|dont|no|never|except|without|isn't|nothing)\b"
    r"|じゃない|ではない|じゃなく|ではなく|以外|いがい|いらない|やめ|ちがう|違う"
)


def negated(plain: str) -> bool:
    """Whether normalised words refuse something."""
    return _NEGATION.search(plain) is not None


def _peel(text: str) -> str:
    """One layer of request wrapping off, or the text as it was."""
    for opening in _EN_OPENINGS:
        if text.startswith(opening + " ") or text.startswith(opening + ","):
            return text[len(opening) + 1 :].lstrip(_SEPARATORS)
    for closing in _EN_CLOSINGS:
        if text.endswith(" " + closing) or text.endswith("," + closing):
            return text[: -len(closing) - 1].rstrip(_SEPARATORS)
    for opening in _JA_OPENINGS:
        if text.startswith(opening) and len(text) > len(opening) + 1:
            rest = text[len(opening) :]
            if rest[0] in _SEPARATORS + "ー":
                return rest.lstrip(_SEPARATORS + "ー")
    for tail in _JA_TAILS:
        if text.endswith(tail) and len(text) > len(tail) + 1:
            return text[: -len(tail)].rstrip(_SEPARATORS)
    return text


def cores(plain: str) -> list[str]:
    """The normalised words, then the same with fillers and the request peeled off, layer by
    layer (each one a candidate name: "a quiz game" as well as "quiz game")."""
    out: list[str] = []
    for text in variants(plain):
        for _ in range(8):
            text = text.strip(_SEPARATORS + "。.!?")
            if text and text not in out:
                out.append(text)
            peeled = _peel(text)
            if peeled == text:
                break
            text = peeled
    return out


def names_of(jobs: Sequence[Job]) -> list[tuple[str, str, str]]:
    """Every way each job is named in its YAML, normalised: ``(job id, form, language)``.

    Titles and examples, their peeled cores ("a quiz program" also as "quiz program"), and
    the romaji of kana examples (「じこしょうかい」 as "jikoshoukai")."""
    names: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for job in jobs:
        for language in ("ja", "en"):
            written = [job.title.get(language), *job.examples.get(language)]
            if language == "en":
                written.append(job.id.replace("_", " "))
            for text in written:
                for form in cores(normalize(text)):
                    spellings = [form, kana_to_romaji(form)] if is_kana(form) else [form]
                    for spelling in spellings:
                        if (job.id, spelling) not in seen:
                            seen.add((job.id, spelling))
                            names.append((job.id, spelling, language))
    return names
