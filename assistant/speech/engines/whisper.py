"""Speech to text with faster-whisper (CTranslate2): Japanese, and English free speech.

Models. Whisper base (multilingual) serves both languages: on the English corpus it got 92 %
of the words of free answers, tiny.en 80 % (``scripts/bench.py --only-recognition``). Models
are assembled from registry packages into ``models/`` and found through the manifest. A model
is loaded once per process (``WhisperModel(folder, device="cpu", compute_type="int8",
cpu_threads=2)``, about 2 s) and shared by every session and thread, with one lock: two
decodes at once on two cores are no faster than one after the other.

Decoding at end of speech, on a window cut to the utterance. ``transcribe`` pads every clip to
Whisper's 30 s window, so a one-word answer costs the encoder as much as 30 s of speech (2.4 s
at p50 for the corpus's answers on the 2-core test machine). CTranslate2's encoder takes
shorter input, so a stream keeps the audio as it comes (``accept`` only copies) and at
``finish`` encodes the utterance plus silence (as audio, so the log-mel scale stays right):
``TAIL_FRAMES`` (3 s; with none Whisper repeats itself) for closed answers, about 0.3 s at p50
with the same accuracy as a 10 s window; at least ``FREE_WINDOW_FRAMES`` (10 s) for free
answers, about 0.8 s at p50 (a 3 s tail read 69 % of the Japanese characters and 73 % of the
English words, 10 s 77 % and 92 %, 30 s 76 % and 91 %). Decoding partial audio while the user
speaks would cost a full decode each time; the segmenter hands over whole utterances.
``vad_filter`` is not used: the segmenter has cut the speech out. Utterances over 27 s go
through ``transcribe`` as a whole. Greedy search: beam 5 was no better on the corpus.

Closed answers. Whisper has no grammar: the audio is decoded twice from one encoding, plain
and with the question's own words as the prompt (they fix spellings: 「二番です」 not
「2番です」, 「うん」 not 「んっ」), then matched to the expected phrases by sound
(``assistant.speech.sound_match``): the result's text is the phrase, its confidence the
similarity; an answer like no phrase goes on as heard, for the dialog to understand.

Confidence of free speech: the mean token probability (exp of the mean log probability).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.ports import Recognition
from assistant.speech import audio
from assistant.speech.engines.registry import (
    BuiltEngine,
    EngineKind,
    EngineRequest,
    EngineSpec,
    register,
)
from assistant.speech.engines.stream import UtteranceStream
from assistant.speech.sound_match import distinct_clauses, match, meaning_of, sound_key
from assistant.speech.transcript import tidy

_LOGGER = logging.getLogger(__name__)

JAPANESE_MODEL = "whisper-base"
# Measured (scripts/bench.py --only-recognition): base 0.92 of the English words, tiny.en 0.80.
ENGLISH_MODEL = "whisper-base"
# Languages whose closed answers would go to a grammar engine serving them (``routing``). None:
# on the English corpus in room noise Whisper decided 35 of 40 closed answers right and sure
# (0.42 s at p50), PocketSphinx's grammar 19 (0.15 s; mostly right but too unsure to keep).
GRAMMAR_ENGINE_FIRST: frozenset[str] = frozenset()
SECOND_OPINION = frozenset({"en"})  # closed answers a grammar engine also hears (``routing``)
CPU_THREADS = 2
TAIL_FRAMES = 300  # 10 ms mel frames of silence after the speech (3 s)
FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s window
FREE_WINDOW_FRAMES = 1000  # free answers: at least a 10 s window (module doc)
_PROMPT_TOKENS = 120  # of the expected phrases, at most (Whisper allows 223)
_PROMPT_PHRASES = 24
_PROMPT_NUMBERS = 40  # a range of a few dozen numbers, in kana (``prompt_text``)
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_KANA = re.compile(r"[\u3041-\u309f]+")
CLOSED_MAX_TOKENS = 20  # a closed answer is a few words; longer is Whisper repeating itself


@dataclass
class _Loaded:
    """One model and the lock that serialises its decodes."""

    model: Any
    lock: threading.Lock


_MODELS: dict[Path, _Loaded] = {}
_MODELS_LOCK = threading.Lock()


def load_model(folder: Path) -> _Loaded:
    """The model in ``folder``, loaded on first use and shared by the whole process."""
    folder = Path(folder).resolve()
    with _MODELS_LOCK:
        loaded = _MODELS.get(folder)
        if loaded is None:
            from faster_whisper import WhisperModel

            started = time.perf_counter()
            model = WhisperModel(
                str(folder), device="cpu", compute_type="int8", cpu_threads=CPU_THREADS
            )
            loaded = _MODELS[folder] = _Loaded(model, threading.Lock())
            _LOGGER.info("Loaded Whisper %s in %.1f s", folder.name, time.perf_counter() - started)
        return loaded


def prompt_text(phrases: Sequence[str], language: str) -> str | None:
    """The question's own words as one line Whisper takes as what was said before (module
    doc), or None when nothing is worth giving: one spelling per sound; no commands (there
    are almost 200: given as a prompt, Whisper wrote them back instead of what was said,
    「まとめて」); no numbers nor ordinals beside other answers (Whisper went on counting:
    「5、6、7、8」, and such a list is left for the plain reading). A Japanese question whose
    answers are all numbers gets them in kana: with no prompt Whisper wrote 「じゃあ」 for 十
    and 「マナ」 for 七, with 「じゅう、なな…」 it wrote 「じゅう」 and 「なな」 (closed answers
    right 81 -> 85 % with the surer reading of the two taken, ``WhisperStream._closed``)."""
    from assistant.understanding.expectation import commands
    from assistant.understanding.numbers import parse_number, parse_ordinal

    skip = set(commands(language))
    seen: set[str] = set()
    kept: list[str] = []
    spelt: list[str] = []  # numbers in kana, for a question whose answers are all numbers
    for phrase in phrases:
        key = sound_key(phrase, language)
        if phrase in skip or not key or key in seen:
            continue
        if parse_number(phrase) is not None or parse_ordinal(phrase) is not None:
            if language == "ja" and _KANA.fullmatch(phrase):
                spelt.append(phrase)
            continue
        if language != "en" and _LATIN.search(phrase):
            continue  # romaji readings (atataka, dōbutsu) are for typing, not for Whisper
        seen.add(key)
        kept.append(phrase)
    if not kept and len(spelt) <= _PROMPT_NUMBERS:
        return "、".join(spelt)  # 「じゅう」 and 「なな」, not 「じゃあ」 and 「マナ」
    if not kept:
        return None
    return ("、" if language == "ja" else ", ").join(_by_turns(kept, language)[:_PROMPT_PHRASES])


def _by_turns(phrases: list[str], language: str) -> list[str]:
    """The phrases, one of each meaning in turn: cut to the prompt's length, a yes/no
    question's list of over 40 ways to say yes had left out every way to say no, and
    Whisper wrote 「いいよ」 for 「いや」."""
    groups: dict[object, list[str]] = {}
    for phrase in phrases:
        groups.setdefault(meaning_of(phrase, sound_key(phrase, language)), []).append(phrase)
    turns = max(len(group) for group in groups.values())
    return [group[turn] for turn in range(turns) for group in groups.values() if turn < len(group)]


def decode(
    loaded: _Loaded,
    pcm: bytes,
    language: str,
    prompts: Sequence[str | None] = (None,),
    *,
    max_tokens: int | None = None,
    beam_size: int = 1,
    min_window: int = 0,
) -> list[tuple[str, float]]:
    """What Whisper wrote for ``pcm`` after each prompt, and its mean token probability:
    the audio is encoded once, then decoded once per prompt (module doc)."""
    import ctranslate2
    import numpy as np
    from faster_whisper.tokenizer import Tokenizer

    model = loaded.model
    samples = audio.from_pcm(pcm).astype(np.float32) / 32768.0
    frames = len(samples) // 160
    if frames + TAIL_FRAMES > FULL_WINDOW_FRAMES:
        return [_decode_long(loaded, samples, language, prompt) for prompt in prompts]
    # Silence as audio, not zeros as features: the log-mel scale is set by the loudest frame
    # and silence sits 8 units below it, where Whisper learnt what the end of speech is.
    tail = np.zeros(max(TAIL_FRAMES, min_window - frames) * 160, dtype=np.float32)
    padded = np.ascontiguousarray(model.feature_extractor(np.concatenate([samples, tail])))
    tokenizer = Tokenizer(
        model.hf_tokenizer,
        model.model.is_multilingual,
        task="transcribe",
        language=language if model.model.is_multilingual else None,
    )
    limit = max_tokens if max_tokens is not None else int(frames / 100 * 12) + 16
    out: list[tuple[str, float]] = []
    with loaded.lock:
        encoded = model.model.encode(ctranslate2.StorageView.from_array(padded[None]))
        for prompt in prompts:
            sequence: list[int] = []
            if prompt:
                tokens = tokenizer.encode(" " + prompt)[-_PROMPT_TOKENS:]
                sequence = [tokenizer.sot_prev, *tokens]
            sequence += [*tokenizer.sot_sequence, tokenizer.no_timestamps]
            result = model.model.generate(
                encoded,
                [sequence],
                beam_size=beam_size,
                max_length=min(448, len(sequence) + limit),
                return_scores=True,
            )[0]
            score = result.scores[0] if result.scores else -10.0
            text = tidy(tokenizer.decode(result.sequences_ids[0]))
            out.append((text, math.exp(min(score, 0.0))))
    return out


def _decode_long(
    loaded: _Loaded, samples: Any, language: str, prompt: str | None
) -> tuple[str, float]:
    """An utterance longer than one window: faster-whisper's own windowed transcription."""
    model = loaded.model
    with loaded.lock:
        segments, _ = model.transcribe(
            samples,
            language=language if model.model.is_multilingual else None,
            beam_size=1,
            vad_filter=False,
            initial_prompt=prompt,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        parts = list(segments)
    text = "".join(segment.text for segment in parts)
    logprob = sum(s.avg_logprob for s in parts) / len(parts) if parts else -10.0
    return tidy(text), math.exp(min(logprob, 0.0))


class WhisperStream(UtteranceStream):
    """One utterance, kept as it comes (no partial text: decoding early would cost a full
    decode) and decoded when it ends (module doc)."""

    def __init__(self, loaded: _Loaded, language: str, phrases: Sequence[str] | None) -> None:
        super().__init__()
        self._loaded = loaded
        self._language = language
        self._phrases = list(phrases) if phrases else None

    def _decide(self) -> Recognition:
        """Decode; for a closed question, the expected phrase it sounds like."""
        pcm = self.audio
        if not self._phrases:
            text, probability = decode(
                self._loaded, pcm, self._language, min_window=FREE_WINDOW_FRAMES
            )[0]
            return _recognition(text, probability)
        return self._closed(pcm, self._phrases)

    def _closed(self, pcm: bytes, phrases: list[str]) -> Recognition:
        """A closed answer: decoded plain and after the prompt, the prompted text trusted
        unless it lists several things (a list Whisper went on with); matched by sound."""
        language = self._language
        prompt = prompt_text(phrases, language)
        prompts = [None, prompt] if prompt else [None]
        outputs = decode(self._loaded, pcm, language, prompts, max_tokens=CLOSED_MAX_TOKENS)
        plain = outputs[0]
        candidates = [plain]
        if prompt:
            prompted = outputs[1]
            if distinct_clauses(prompted[0], language) < 2:
                candidates.insert(0, prompted)
        matches = []
        for text, _ in candidates:
            found = match(text, phrases, language) if text else None
            _LOGGER.debug("whisper heard %r, sounds like %s", text, found)
            if found is not None:
                matches.append(found)
        if matches:  # the surer of the two readings; on a tie the prompted one
            found = max(matches, key=lambda m: m.confidence)
            words = ((found.phrase, found.confidence),)
            return Recognition(found.phrase, found.confidence, words, "whisper")
        for text, probability in candidates:
            meant = _by_meaning(text, probability, phrases, language)
            if meant is not None:
                return meant
        heard = next((c for c in candidates if c[0]), plain)  # the prompt's text may be empty
        return _recognition(*heard)


MEANING_CONFIDENCE = 0.7  # sure enough not to be read back (routing.SURE is 0.6)


def _by_meaning(
    text: str, probability: float, phrases: list[str], language: str
) -> Recognition | None:
    """A closed answer like no phrase by sound may still say what one says: 「3つ」 is the
    number 3 and "I'm done" the command cancel. Then it is that phrase, sure (it was heard
    as written; only Whisper's token probability, poor on a word or two, was low: 「3つ」
    came with 0.14-0.54 and was read back every time). Else None."""
    meaning = meaning_of(text, sound_key(text, language)) if text else None
    if isinstance(meaning, tuple) and meaning[0] != "sound":
        for phrase in phrases:
            if meaning_of(phrase, sound_key(phrase, language)) == meaning:
                confidence = max(probability, MEANING_CONFIDENCE)
                return Recognition(phrase, confidence, ((phrase, confidence),), "whisper")
    return None


def _recognition(text: str, probability: float) -> Recognition:
    """What was heard as it was written (free speech, or a closed answer like no phrase)."""
    return Recognition(text, probability, ((text, probability),) if text else (), "whisper")


class WhisperRecognizer:
    """Whisper models by language, each loaded once per process on first use."""

    name = "whisper"

    def __init__(self, models: dict[str, Path]) -> None:
        self.models = {language: Path(folder) for language, folder in models.items()}

    def supports(self, language: str) -> bool:
        """Whether a model for ``language`` is assembled."""
        return language in self.models

    def defers_closed(self, language: str) -> bool:
        """Whether closed answers in ``language`` go to a grammar engine when one serves it."""
        return language in GRAMMAR_ENGINE_FIRST

    def wants_second_opinion(self, language: str) -> bool:
        """Whether a grammar engine should hear closed answers too (``routing``): English,
        where Whisper base misheard short words in noise ("five" as "Bye")."""
        return language in SECOND_OPINION

    def model_for(self, language: str) -> _Loaded:
        """The loaded model for ``language`` (blocking about 2 s the first time)."""
        if language not in self.models:
            raise ValueError(f"no Whisper model for {language!r}")
        return load_model(self.models[language])

    def start(self, language: str, grammar: Sequence[str] | None = None) -> WhisperStream:
        """A stream for one utterance, free or matched to the ``grammar`` phrases."""
        return WhisperStream(self.model_for(language), language, grammar)


def whisper_folders(models_dir: Path) -> dict[str, Path]:
    """Language -> folder of each assembled Whisper model the engine would use."""
    from assistant.speech.models.installed import entry_location, is_installed, manifest_for
    from assistant.speech.models.manifest import load_manifest

    wanted = {"ja": JAPANESE_MODEL, "en": ENGLISH_MODEL}
    entries = {entry.name: entry for entry in load_manifest(manifest_for(models_dir))}
    found = {}
    for language, name in wanted.items():
        for candidate in (name, JAPANESE_MODEL):  # base also speaks English
            entry = entries.get(candidate)
            if entry is not None and is_installed(entry, models_dir):
                found[language] = entry_location(entry, models_dir).parent
                break
    return found


def _build(request: EngineRequest) -> BuiltEngine:
    """Japanese and English, where a model is assembled and the settings allow Whisper."""
    folders = {
        language: folder
        for language, folder in whisper_folders(request.models_dir).items()
        if request.wants(WhisperRecognizer.name, language)
    }
    missing = [
        f"Whisper model for {language} in {request.models_dir}: "
        f"run scripts/fetch-models assemble {JAPANESE_MODEL}"
        for language in ("ja", "en")
        if request.wants(WhisperRecognizer.name, language) and language not in folders
    ]
    engine = WhisperRecognizer(folders) if folders else None
    return BuiltEngine(engine, frozenset(folders), missing)


register(
    EngineSpec(
        name=WhisperRecognizer.name,
        title="Whisper",
        kind=EngineKind.RECOGNIZER,
        languages=frozenset({"ja", "en"}),
        requires=("faster_whisper", "pyopenjtalk", "jellyfish"),
        build=_build,
        rank=5,  # the default for Japanese, and English free speech
        install_hint="scripts/fetch-models assemble whisper-base",
    )
)
