"""Speech to text with PocketSphinx: the English engine that ships inside its wheel.

Free mode uses the wheel's en-us language model; grammar mode a JSGF grammar from
``grammar.jsgf``. Creating a decoder takes ~0.1 s, so decoders are pooled and reused: a stream
borrows one, switches its search (grammars are added once and cached by their text), and gives
it back on ``finish``.

Memory. The acoustic model and the pronouncing dictionary take about 28 MB; the language model
and the free search built over it about 64 MB more. Closed answers (choices, yes/no, numbers,
commands) never need the language model, so a decoder loads it only on its first free-mode
utterance (about 0.15 s, once): a kiosk whose dialog has asked only closed questions so far
stays 64 MB smaller.

Streaming and the final pass. ``accept`` decodes frame by frame for partial results, but
PocketSphinx's live cepstral mean normalisation starts each decoder from a fixed guess and
adapts slowly: with background noise before the speech, streamed decoding heard "five" for
most short answers. ``finish`` therefore decodes the buffered utterance once more as a whole
(``full_utt``: normalised over the whole utterance), which costs about a tenth of the audio's
length in free mode and under 1 % in grammar mode, and takes the final result from that pass.

Confidence (0-1) is the mean over recognised words of ``fit * posterior``:

* ``fit``: the word's acoustic score per frame (log, relative to the best-scoring state of
  that frame, which PocketSphinx normalises to) through a logistic curve. A word the audio
  really contains scores about -1.5 to -4 per frame; speech forced onto a grammar word
  ("banana" heard as "back") scores -4.5 to -9. ``fit`` is 0.5 at ``FIT_MIDPOINT``.
* ``posterior``: the word's lattice posterior probability (``seg().prob``), below 1 when
  other paths compete.

So a clearly spoken grammar answer scores above ~0.8 and out-of-grammar speech below ~0.4.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Container, Sequence
from typing import Any

from assistant.ports import Recognition
from assistant.speech.engines.registry import (
    BuiltEngine,
    EngineKind,
    EngineRequest,
    EngineSpec,
    register,
)
from assistant.speech.engines.stream import UtteranceStream
from assistant.speech.grammar import jsgf, normalise_phrases

_LOGGER = logging.getLogger(__name__)

FIT_MIDPOINT = 4.5  # -log acoustic score per frame where the fit is 0.5
FIT_SLOPE = 1.5
_MAX_GRAMMARS = 32  # searches kept per decoder
FILLER_PROBABILITY = 0.1  # lets noise between words be a filler, not "five" or "four"
FREE_SEARCH = "free"  # the language-model search, added on first use


def word_fit(ascore: float, frames: int) -> float:
    """Acoustic fit 0-1 of one word from its (exponentiated) score and length in frames."""
    if ascore <= 0.0 or frames <= 0:
        return 0.0  # underflow: far below any real word
    per_frame = -math.log(min(ascore, 1.0)) / frames
    exponent = FIT_SLOPE * (per_frame - FIT_MIDPOINT)
    return 1.0 / (1.0 + math.exp(min(exponent, 700.0)))


def _is_filler(word: str) -> bool:
    """Silence, sentence marks and noise words, which are not part of the answer."""
    return word.startswith(("<", "[", "+")) or word == ""


def _base_word(word: str) -> str:
    """``natural(2)`` (a pronunciation variant) as ``natural``."""
    return word.split("(", 1)[0]


class _Decoder:
    """A decoder with the grammar searches it already holds, and the free search once needed."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder, get_model_path

        # lm=None: without it the wheel's default language model would load now (module doc).
        self.decoder = Decoder(
            hmm=get_model_path("en-us/en-us"),
            lm=None,
            dict=get_model_path("en-us/cmudict-en-us.dict"),
            loglevel="FATAL",
            fillprob=FILLER_PROBABILITY,
            # The starting guess of the speech level: the default (40) is far from real speech
            # (about 55), so a new decoder misheard its first utterance ("number four" as
            # "from the"); 50 is right from the first word and adapts from there.
            cmninit="50,0,0",
        )
        self.has_free_search = False
        self.searches: OrderedDict[str, str] = OrderedDict()
        self._count = 0

    def _add_free_search(self) -> None:
        """Load the language model and build the free search (first free utterance only)."""
        from pocketsphinx import get_model_path

        started = time.perf_counter()
        self.decoder.add_lm_file(FREE_SEARCH, get_model_path("en-us/en-us.lm.bin"))
        self.has_free_search = True
        _LOGGER.info(
            "Loaded the PocketSphinx language model in %.2f s", time.perf_counter() - started
        )

    def use(self, grammar: str | None) -> None:
        """Activate the free search or the search for this JSGF text (each added once)."""
        if grammar is None:
            if not self.has_free_search:
                self._add_free_search()
            self.decoder.activate_search(FREE_SEARCH)
            return
        name = self.searches.get(grammar)
        if name is None:
            self._count += 1
            name = f"grammar{self._count}"
            self.decoder.add_jsgf_string(name, grammar)
            self.searches[grammar] = name
            if len(self.searches) > _MAX_GRAMMARS:
                _, old = self.searches.popitem(last=False)
                self.decoder.remove_search(old)
        else:
            self.searches.move_to_end(grammar)
        self.decoder.activate_search(name)


class _Dictionary(Container[str]):
    """The decoder's pronouncing dictionary, asked word by word."""

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._decoder.lookup_word(word) is not None


class PocketSphinxStream(UtteranceStream):
    """One utterance on a borrowed decoder; returns it to the pool when finished. The audio is
    kept for the final pass over the whole utterance (module doc)."""

    def __init__(self, owner: PocketSphinxRecognizer, held: _Decoder) -> None:
        super().__init__()
        self._owner = owner
        self._held: _Decoder | None = held
        held.decoder.start_utt()

    def _hear(self, pcm: bytes) -> str:
        """Decode frame by frame; the partial hypothesis."""
        assert self._held is not None, "accept refuses audio once finished"
        decoder = self._held.decoder
        decoder.process_raw(pcm, False, False)
        hyp = decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    def _decide(self) -> Recognition:
        """End the utterance; text, word confidences and their mean (module doc)."""
        assert self._held is not None
        held, self._held = self._held, None
        decoder = held.decoder
        try:
            decoder.end_utt()
            decoder.start_utt()
            decoder.process_raw(self.audio, False, True)
            decoder.end_utt()
            hyp = decoder.hyp()
            words: list[tuple[str, float]] = []
            if hyp is not None and hyp.hypstr:
                for seg in decoder.seg() or []:
                    if _is_filler(seg.word):
                        continue
                    frames = seg.end_frame - seg.start_frame + 1
                    posterior = min(max(seg.prob, 0.0), 1.0)
                    words.append((_base_word(seg.word), word_fit(seg.ascore, frames) * posterior))
            text = hyp.hypstr if hyp is not None else ""
        finally:
            self._owner._release(held)
        confidence = sum(c for _, c in words) / len(words) if words else 0.0
        return Recognition(text, confidence, tuple(words), "pocketsphinx")


class PocketSphinxRecognizer:
    """English recognition with the model inside the pocketsphinx wheel."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        self._idle: list[_Decoder] = []
        self._lock = threading.Lock()

    def supports(self, language: str) -> bool:
        """English only: the wheel carries only an en-us model."""
        return language.split("-")[0].lower() == "en"

    def _borrow(self) -> _Decoder:
        """An idle decoder, or a new one (~0.1 s) when all are busy."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _Decoder()

    def _release(self, held: _Decoder) -> None:
        """Back to the pool for the next utterance."""
        with self._lock:
            self._idle.append(held)

    def start(self, language: str, grammar: Sequence[str] | None = None) -> PocketSphinxStream:
        """A stream for one utterance, free or limited to the ``grammar`` phrases."""
        if not self.supports(language):
            raise ValueError(f"PocketSphinx here recognises English only, not {language!r}")
        held = self._borrow()
        try:
            if grammar is None:
                held.use(None)
            else:
                phrases = normalise_phrases(grammar, "en")
                held.use(jsgf(phrases, _Dictionary(held.decoder)))
            return PocketSphinxStream(self, held)
        except Exception:
            self._release(held)
            raise


def _build(request: EngineRequest) -> BuiltEngine:
    """English, when the settings leave English to PocketSphinx (or to ``auto``)."""
    if not request.wants(PocketSphinxRecognizer.name, "en"):
        return BuiltEngine(None)
    return BuiltEngine(PocketSphinxRecognizer(), frozenset({"en"}))


register(
    EngineSpec(
        name=PocketSphinxRecognizer.name,
        title="PocketSphinx",
        kind=EngineKind.RECOGNIZER,
        languages=frozenset({"en"}),
        requires=("pocketsphinx",),
        build=_build,
        rank=20,  # its model ships in the wheel: the English fallback
        install_hint="pip install 'facility-assistant[speech]'",
    )
)
