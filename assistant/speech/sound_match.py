"""Closed answers decided by sound: what a free recogniser heard, matched to the expected phrases.

Whisper has no grammar mode: it writes what it heard, and for a short answer that is often the
right sound in the wrong spelling (「にばんです」 comes out as 「ニバーンデス」, 「えっと、四番」 as
「エットヨンバン」). Comparing spellings would miss both; comparing how they sound finds them.

* Japanese: both sides become katakana readings (Open JTalk's front end, ``pyopenjtalk.g2p``),
  folded so that spellings of one sound agree (long vowels, small kana, doubled vowels), with
  leading fillers (えっと, あの, うーん) and polite endings (です, ます, でお願いします) cut off.
* English: number digits become words, then each word its Metaphone key (``jellyfish``), so
  "too" and "two" or "for" and "four" agree.

The similarity is rapidfuzz's normalised Indel ratio of the two keys, or a containment score
when the phrase sits inside a longer answer. A phrase whose best rival (another phrase that is
not a part of it, like 二 of 二番) scores almost as well is ambiguous and gets a confidence
below the dialog's read-back threshold; an answer like no phrase at all is left as it was
heard, so the dialog's own understanding (numbers such as 「3つ」 or "three", dates, help
questions) still sees it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

MATCH_FLOOR = 0.6  # below this the answer is no phrase: it goes on as heard
CONTAINED = 0.85  # how well a phrase must sit inside a longer answer to count as in it
AMBIGUOUS_MARGIN = 0.1  # a rival this close makes the match unsure
UNSURE_CONFIDENCE = 0.5  # what an ambiguous match is worth: below the read-back threshold
# A command heard at a question must sound clearly like it: a person at a question mostly
# answers it, and a command taken wrongly (「待って」 for a mumbled 「戻る」, 「ヘルプ」 for 「七」) costs
# more than a read-back. Below this it is unsure: one sound off in a word of six (「戻れ」 for
# 「戻る」, 0.83) still counts, a sound more and one changed (「またで」 for 「待って」, 0.80) not.
COMMAND_FLOOR = 0.82
# Yes and no sound alike (いいえ, いいよ, ええ): a match with the opposite answer this close
# behind is unsure, read back rather than taken the wrong way round.
OPPOSITE_MARGIN = 0.2

_JA_FILLERS = ("えっと", "えーと", "ええと", "あのー", "んー")
_JA_ENDINGS = (
    "でおねがいします", "おねがいします", "にしてください", "にします", "です", "ます", "だよ",
    "ですね", "ですよ", "かな",
)  # fmt: skip
_VOWELS = "aeiou"


@dataclass(frozen=True, slots=True)
class SoundMatch:
    """The expected phrase an answer sounds like, and how sure that is (0-1)."""

    phrase: str
    score: float
    confidence: float


class _Symbols(dict[str, str]):
    """One character per phoneme (``ky`` and ``ch`` are one sound), so that rapidfuzz compares
    sounds, not letters."""

    def __missing__(self, phoneme: str) -> str:
        symbol = phoneme if len(phoneme) == 1 else chr(0x2460 + len(self))
        self[phoneme] = symbol
        return symbol


_SYMBOLS = _Symbols()


def _phonemes(text: str) -> str:
    """Open JTalk's phonemes of ``text``, folded so spellings of one sound agree: no pauses,
    no っ (``cl``), devoiced vowels as voiced, a vowel held long as one, a sound said over and
    over (Whisper's 「んんんんん」) as one."""
    import pyopenjtalk

    out: list[str] = []
    phonemes = pyopenjtalk.g2p(text)  # a str unless join=False
    for phoneme in phonemes if isinstance(phonemes, list) else phonemes.split():
        if phoneme in ("pau", "cl", "sil"):
            continue
        phoneme = phoneme.lower() if phoneme in "AIUEO" else phoneme
        if out and phoneme in _VOWELS and out[-1] == phoneme:
            continue  # a long vowel: ニバーン is ニバン
        if out and phoneme == "u" and out[-1] == "o" or out and phoneme == "i" and out[-1] == "e":
            continue  # モウ and モー, センセイ and センセー
        out.append(phoneme)
    key = "".join(_SYMBOLS[p] for p in out)
    return re.sub(r"(.)\1{2,}", r"\1", key)


@functools.lru_cache(maxsize=1)
def _edges() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fillers and polite endings as phoneme keys, longest first."""
    fillers = sorted({_phonemes(f) for f in _JA_FILLERS}, key=len, reverse=True)
    endings = sorted({_phonemes(e) for e in _JA_ENDINGS}, key=len, reverse=True)
    return tuple(fillers), tuple(endings)


def _strip_edges(key: str) -> str:
    """Leading fillers and trailing polite endings, as long as something is left."""
    fillers, endings = _edges()
    changed = True
    while changed:
        changed = False
        for filler in fillers:
            if key.startswith(filler) and len(key) > len(filler):
                key, changed = key[len(filler) :], True
        for ending in endings:
            if key.endswith(ending) and len(key) > len(ending):
                key, changed = key[: -len(ending)], True
    return key


@functools.lru_cache(maxsize=4096)
def japanese_key(text: str) -> str:
    """The folded phonemes of Japanese text, fillers and polite endings cut."""
    plain = unicodedata.normalize("NFKC", text).strip()
    if not plain:
        return ""
    return _strip_edges(_phonemes(plain))


_WORD = re.compile(r"[a-z0-9']+")


@functools.lru_cache(maxsize=4096)
def english_key(text: str) -> str:
    """Metaphone keys of the words (digits spelt out first), joined by spaces."""
    import jellyfish

    from assistant.understanding.expectation import english_number

    words: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).lower()):
        if word.isdigit() and int(word) < 1000:
            words.extend(english_number(int(word)).split())
        else:
            words.append(word.replace("'", ""))
    return " ".join(jellyfish.metaphone(word) for word in words if word)


def sound_key(text: str, language: str) -> str:
    """How ``text`` sounds, as a string two spellings of one answer share."""
    if language.split("-")[0].lower() == "ja":
        return japanese_key(text)
    return english_key(text)


def similarity(heard: str, phrase: str) -> float:
    """0-1: the whole-string ratio, or (a little less) the phrase found almost as it is inside
    a longer answer. Containment needs ``CONTAINED`` or better: a loose partial match of a
    short phrase (a mora or two) is found in almost anything."""
    if not heard or not phrase:
        return 0.0
    whole = fuzz.ratio(heard, phrase) / 100.0
    if len(phrase) >= len(heard):
        return whole
    if " " in heard or " " in phrase:  # English keys: a phrase is inside only word for word
        inside = 1.0 if f" {phrase} " in f" {heard} " else 0.0
    else:
        inside = fuzz.partial_ratio(phrase, heard) / 100.0
    if inside < CONTAINED:
        return whole
    return max(whole, inside * (0.7 + 0.3 * len(phrase) / len(heard)))


def whole_likeness(heard: str, phrase: str) -> float:
    """0-1: how much the whole of one key sounds like the other, never a part of it."""
    if not heard or not phrase:
        return 0.0
    return fuzz.ratio(heard, phrase) / 100.0


_CLAUSES = re.compile(r"[、。,.!?！？\s]+")
_ENGLISH_CLAUSES = re.compile(r"[,.!?;]+")  # English words stay together: "my grandmother"


def _clauses(text: str, language: str) -> list[str]:
    pattern = _CLAUSES if language.split("-")[0].lower() == "ja" else _ENGLISH_CLAUSES
    return [c.strip() for c in pattern.split(text) if c.strip()]


@functools.lru_cache(maxsize=4096)
def meaning_of(phrase: str, key: str) -> object:
    """What a phrase means, as far as telling rivals apart needs: the command it gives
    (戻る, 戻って and 戻ります are one), the number it says (7, 七 and なな), yes or no
    (はい and うん are one, いいえ the other), else its sound."""
    from assistant.understanding.numbers import parse_number, parse_ordinal
    from assistant.understanding.phrases import detect_command, parse_yes_no

    command = detect_command(phrase)
    if command is not None:
        return ("command", command.name)
    number = parse_ordinal(phrase) or parse_number(phrase)
    if number is not None:
        return ("number", number)
    yes = parse_yes_no(phrase)
    if yes is not None:
        return ("yes", yes)
    return ("sound", key)


def _best(heard_key: str, keyed: list[tuple[str, str]], answers: bool) -> SoundMatch | None:
    """The phrase one stretch of the answer sounds like (None below ``MATCH_FLOOR``); unsure
    when a rival meaning is close behind, when it is the opposite of yes or no not far
    behind, or when it is a command not clearly heard though ``answers`` (phrases that are no
    command) were expected too."""
    scored = sorted(
        ((similarity(heard_key, key), len(key), key, phrase) for key, phrase in keyed),
        key=lambda item: (item[0], item[1]),
        reverse=True,
    )
    if not scored or scored[0][0] < MATCH_FLOOR:
        return None
    best_score, _, best_key, best_phrase = scored[0]
    meaning = meaning_of(best_phrase, best_key)
    rival = next(
        (
            score
            for score, _, key, phrase in scored[1:]
            if key not in best_key and best_key not in key and meaning_of(phrase, key) != meaning
        ),
        0.0,
    )
    confidence = best_score
    if rival > best_score - AMBIGUOUS_MARGIN:
        confidence = min(confidence, UNSURE_CONFIDENCE)
    if isinstance(meaning, tuple) and meaning[0] == "yes":  # a part of it is no rival (いい
        # of いいえ), nor one sound with two meanings (うん, ううん): the first phrase, as before
        opposite = ("yes", not meaning[1])
        if any(
            score > best_score - OPPOSITE_MARGIN
            for score, _, key, phrase in scored[1:]
            if key not in best_key and meaning_of(phrase, key) == opposite
        ):
            confidence = min(confidence, UNSURE_CONFIDENCE)
    if answers and _is_command(meaning) and best_score < COMMAND_FLOOR:
        confidence = min(confidence, UNSURE_CONFIDENCE)
    return SoundMatch(best_phrase, best_score, confidence)


def _is_command(meaning: object) -> bool:
    return isinstance(meaning, tuple) and meaning[0] == "command"


def _said_outright(heard: str, key: str, found: SoundMatch, language: str) -> SoundMatch:
    """Sure after all when what was heard, as written, means what the phrase means: Whisper
    wrote 「8パーセント」, which is 8 whatever 「一パーセント」 sounds like."""
    meaning = meaning_of(heard, key)
    if isinstance(meaning, tuple) and meaning[0] == "sound":
        return found
    if meaning == meaning_of(found.phrase, sound_key(found.phrase, language)):
        return SoundMatch(found.phrase, found.score, found.score)
    return found


def distinct_clauses(text: str, language: str) -> int:
    """How many different things ``text`` says, clause by clause: 「うん、うん、うん」 says one,
    and so does 「はい、お願いします」 (two ways to say yes); 「5、6、7、8」 (Whisper continuing
    a list it was prompted with) says four."""
    return len(
        {meaning_of(c, key) for c in _clauses(text, language) if (key := sound_key(c, language))}
    )


def match(heard: str, phrases: Sequence[str], language: str) -> SoundMatch | None:
    """The phrase ``heard`` sounds like, or None when it sounds like none of them.

    The whole answer and each of its clauses are tried: Whisper writes a leading filler as a
    clause of its own, sometimes as a word (「えっと、四番」 as 「1、4番」), and the answer
    proper comes last in Japanese. The best score wins; on a tie the longer phrase ("wait
    longer" over "wait"), then the later stretch.
    """
    keyed = [(key, phrase) for phrase in phrases if (key := sound_key(phrase, language))]
    if not keyed:
        return None
    # Japanese only: measured on phonemes; English Metaphone keys are coarser ("Go Mac" is
    # 0.75 from "go back"), and an unsure English answer gets PocketSphinx's second opinion.
    answers = language.split("-")[0].lower() == "ja" and any(
        not _is_command(meaning_of(phrase, key)) for key, phrase in keyed
    )
    stretches = [heard, *_clauses(heard, language)]
    if len(stretches) == 2:  # one clause: the same as the whole
        stretches = [heard]
    found: list[tuple[float, int, int, SoundMatch]] = []
    for position, stretch in enumerate(stretches):
        key = sound_key(stretch, language)
        if not key:
            continue
        result = _best(key, keyed, answers)
        if result is not None and result.confidence < result.score:
            result = _said_outright(stretch, key, result, language)
        if result is not None:
            rank = round(result.score, 2)
            found.append((rank, len(sound_key(result.phrase, language)), position, result))
    if not found:
        return None
    return max(found, key=lambda item: item[:3])[3]
