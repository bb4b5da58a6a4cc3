"""Speech to text with Vosk (Kaldi): free dictation, and grammar mode for closed answers.

Out-of-grammar speech. A Vosk model with an ``[unk]`` word lets a grammar say "none of these";
the Korean small model (the only Vosk model installable here) has none, so grammar mode forces
anything said onto the nearest phrase, often with word confidence 1.0. A stream in grammar mode
therefore checks its answer two ways and multiplies the confidence by ``OUT_OF_GRAMMAR_FACTOR``
when either fails, so the dialog asks again instead of taking a wrong answer:

1. *One answer*: the grammar result must be one phrase of the grammar (repeated at most:
   "네 네"). Kaldi's grammar is a loop, so a sentence outside the grammar comes out as a chain
   of phrases ("도움 아니요 셋 둘").
2. *Free agreement*: a second recogniser without a grammar hears the same audio (cheap for a
   short answer, and it runs while the user speaks). When none of its best three transcripts
   shares a word with the grammar result, nor sounds like it (Hangul compared letter by letter,
   with silent ㅇ and near-identical vowels folded, ratio below ``AGREEMENT_THRESHOLD``), the
   grammar result is taken to be forced.
"""

from __future__ import annotations

import difflib
import json
import logging
import struct
import threading
import unicodedata
from collections.abc import Container, Sequence
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
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
from assistant.speech.grammar import VOSK_UNKNOWN, normalise_phrases, vosk_grammar

_LOGGER = logging.getLogger(__name__)

OUT_OF_GRAMMAR_FACTOR = 0.3
AGREEMENT_THRESHOLD = 0.5
_FREE_ALTERNATIVES = 3
_FST_MAGIC = 2125659606
_SYMBOLS_MAGIC = 2125658996


def _missing_model(language: str, folder: Path) -> ConfigError:
    """The error staff see when a configured model is not on disk."""
    return ConfigError(
        f"Vosk model for {language!r} not found at {folder}: run scripts/fetch-models "
        f"(or unpack a model from https://alphacephei.com/vosk/models into that folder)",
        code="model_missing",
    )


def _fst_symbols(path: Path) -> set[str]:
    """Output words of an OpenFst binary that embeds its symbol tables (Vosk's Gr.fst)."""
    with path.open("rb") as handle:
        reader = _Reader(handle)
        if reader.int32() != _FST_MAGIC:
            return set()
        reader.string(), reader.string()  # fst type, arc type
        reader.int32()  # version
        flags = reader.int32()
        reader.skip(8 * 4)  # properties, start, states, arcs
        if not flags & 1:
            return set()
        tables = []
        for present in (flags & 1, flags & 2):
            if not present:
                continue
            if reader.int32() != _SYMBOLS_MAGIC:
                return set()
            reader.string()  # table name
            reader.int64()  # available key
            count = reader.int64()
            table = set()
            for _ in range(count):
                table.add(reader.string())
                reader.int64()
            tables.append(table)
        return tables[-1]


class _Reader:
    """Little-endian reads from an OpenFst header."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def int32(self) -> int:
        return struct.unpack("<i", self._handle.read(4))[0]

    def int64(self) -> int:
        return struct.unpack("<q", self._handle.read(8))[0]

    def skip(self, count: int) -> None:
        self._handle.read(count)

    def string(self) -> str:
        return self._handle.read(self.int32()).decode("utf-8", "replace")


def vosk_vocabulary(model_dir: Path) -> set[str]:
    """The words a model can output (to check grammars offline); empty when unknown.

    Reads ``graph/words.txt`` when the model ships it, otherwise the symbol table embedded in
    ``graph/Gr.fst`` or ``graph/HCLG.fst`` (the Korean model has no words.txt; ~0.7 s).
    """
    graph = Path(model_dir) / "graph"
    words_txt = graph / "words.txt"
    if words_txt.is_file():
        with words_txt.open(encoding="utf-8") as handle:
            return {line.split()[0] for line in handle if line.strip()}
    for name in ("Gr.fst", "HCLG.fst"):
        if (graph / name).is_file():
            return _fst_symbols(graph / name)
    return set()


class _ModelWords(Container[str]):
    """A loaded model's vocabulary, asked word by word (no need to read the whole list)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._model.vosk_model_find_word(word) >= 0


_FOLD = str.maketrans(
    {
        "\u110b": "",  # initial ㅇ is silent
        "\u1168": "\u1166",  # ㅖ -> ㅔ
        "\u1162": "\u1166",  # ㅐ -> ㅔ
        "\u1164": "\u1166",  # ㅒ -> ㅔ
        "\u1101": "\u1100",  # ㄲ -> ㄱ
        "\u1104": "\u1103",  # ㄸ -> ㄷ
        "\u1108": "\u1107",  # ㅃ -> ㅂ
        "\u110a": "\u1109",  # ㅆ -> ㅅ
        "\u110d": "\u110c",  # ㅉ -> ㅈ
        " ": "",
    }
)


def _sound_key(text: str) -> str:
    """Text as letters (Hangul split into jamo) with near-identical sounds folded together."""
    return unicodedata.normalize("NFD", text).translate(_FOLD)


def agreement(grammar_text: str, free_texts: Sequence[str]) -> float:
    """How well a free transcript supports the grammar result: 1.0 shared word, else 0-1."""
    if not grammar_text:
        return 1.0
    words = set(grammar_text.split())
    best = 0.0
    key = _sound_key(grammar_text)
    for text in free_texts:
        if words & set(text.split()):
            return 1.0
        other = _sound_key(text)
        if key and other:
            best = max(best, difflib.SequenceMatcher(None, key, other).ratio())
    return best


def _is_one_answer(text: str, phrases: Sequence[str]) -> bool:
    """Whether ``text`` is one grammar phrase, possibly repeated ("네 네")."""
    for phrase in phrases:
        count = len(text.split()) // max(1, len(phrase.split()))
        if count and " ".join([phrase] * count) == text:
            return True
    return False


class _Recognizer:
    """One KaldiRecognizer, keeping the segments Vosk closes at its own end-points."""

    def __init__(self, model: Any, grammar: str | None, alternatives: int = 0) -> None:
        import vosk

        self._kaldi = (
            vosk.KaldiRecognizer(model, audio.SAMPLE_RATE, grammar)
            if grammar is not None
            else vosk.KaldiRecognizer(model, audio.SAMPLE_RATE)
        )
        if alternatives:
            self._kaldi.SetMaxAlternatives(alternatives)
        self._kaldi.SetWords(True)
        self.done: list[dict[str, Any]] = []

    def accept(self, pcm: bytes) -> None:
        if self._kaldi.AcceptWaveform(pcm):
            self.done.append(json.loads(self._kaldi.Result()))

    def partial(self) -> str:
        current = json.loads(self._kaldi.PartialResult()).get("partial", "")
        return " ".join(t for t in [*(_best_text(r) for r in self.done), current] if t)

    def final(self) -> list[dict[str, Any]]:
        self.done.append(json.loads(self._kaldi.FinalResult()))
        return self.done


def _best_text(result: dict[str, Any]) -> str:
    """The best transcript of one Vosk result, with or without alternatives."""
    if "alternatives" in result:
        alternatives = result["alternatives"]
        return alternatives[0].get("text", "") if alternatives else ""
    return result.get("text", "")


class VoskStream(UtteranceStream):
    """One utterance; in grammar mode a free recogniser listens alongside (see module doc)."""

    keeps_audio = False  # Vosk hears as the audio comes; nothing is decoded again at the end

    def __init__(self, model: Any, phrases: list[str] | None, grammar: str | None) -> None:
        super().__init__()
        self._phrases = phrases
        self._main = _Recognizer(model, grammar)
        self._free = _Recognizer(model, None, _FREE_ALTERNATIVES) if grammar else None

    def _hear(self, pcm: bytes) -> str:
        """Feed audio to both recognisers; the partial text of the main one."""
        self._main.accept(pcm)
        if self._free is not None:
            self._free.accept(pcm)
        return self._main.partial().replace(VOSK_UNKNOWN, "").strip()

    def _decide(self) -> Recognition:
        """Final words and mean word confidence, lowered when the answer looks forced."""
        words: list[tuple[str, float]] = []
        unknown = False
        for segment in self._main.final():
            for item in segment.get("result", []):
                if item["word"] == VOSK_UNKNOWN:
                    unknown = True
                else:
                    words.append((item["word"], float(item.get("conf", 0.0))))
        text = " ".join(word for word, _ in words)
        confidence = sum(c for _, c in words) / len(words) if words else 0.0
        if self._phrases is not None and text:
            confidence = self._check_grammar(text, confidence, unknown)
        return Recognition(text, confidence, tuple(words), "vosk")

    def _check_grammar(self, text: str, confidence: float, unknown: bool) -> float:
        """Lower the confidence of a grammar answer that was probably forced (module doc)."""
        assert self._phrases is not None and self._free is not None
        segments = self._free.final()
        prefix = " ".join(_best_text(s) for s in segments[:-1])
        last = segments[-1].get("alternatives", []) or [{"text": ""}]
        free_texts = [f"{prefix} {alt.get('text', '')}".strip() for alt in last]
        one_answer = _is_one_answer(text, self._phrases)
        agree = agreement(text, free_texts)
        forced = unknown or not one_answer or agree < AGREEMENT_THRESHOLD
        _LOGGER.debug(
            "vosk grammar %r free %r one_answer=%s agreement=%.2f forced=%s",
            text,
            free_texts,
            one_answer,
            agree,
            forced,
        )
        return confidence * OUT_OF_GRAMMAR_FACTOR if forced else confidence


class VoskRecognizer:
    """Vosk models by language, each loaded once on first use and shared by all streams."""

    name = "vosk"

    def __init__(self, models: dict[str, Path]) -> None:
        self.models = {lang: Path(folder) for lang, folder in models.items()}
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._language_locks = {lang: threading.Lock() for lang in self.models}

    def supports(self, language: str) -> bool:
        """Whether a model folder for ``language`` is configured and present."""
        folder = self.models.get(language)
        return folder is not None and folder.is_dir()

    def model(self, language: str) -> Any:
        """The loaded model (blocking ~1 s the first time); ConfigError when it is missing."""
        with self._lock:
            if language in self._loaded:
                return self._loaded[language]
            if language not in self.models:
                raise ConfigError(
                    f"no Vosk model configured for {language!r}: run scripts/fetch-models",
                    code="model_missing",
                )
            language_lock = self._language_locks[language]
        with language_lock:
            if language in self._loaded:
                return self._loaded[language]
            folder = self.models[language]
            if not (folder / "am").is_dir() and not (folder / "final.mdl").is_file():
                raise _missing_model(language, folder)
            import vosk

            vosk.SetLogLevel(-1)
            _LOGGER.info("loading Vosk model %s for %s", folder, language)
            loaded = vosk.Model(str(folder))
            with self._lock:
                self._loaded[language] = loaded
            return loaded

    def start(self, language: str, grammar: Sequence[str] | None = None) -> VoskStream:
        """A stream for one utterance, free or limited to the ``grammar`` phrases."""
        model = self.model(language)
        if grammar is None:
            return VoskStream(model, None, None)
        words = _ModelWords(model)
        phrases = normalise_phrases(grammar, language)
        grammar_json = vosk_grammar(phrases, words)
        kept = [p for p in json.loads(grammar_json) if p != VOSK_UNKNOWN]
        return VoskStream(model, kept, grammar_json)


def _build(request: EngineRequest) -> BuiltEngine:
    """Every installed Vosk model of a language the settings leave to Vosk (or to ``auto``)."""
    from assistant.speech.models.installed import installed_vosk_models

    models = {
        language: folder
        for language, folder in installed_vosk_models(request.models_dir).items()
        if request.wants(VoskRecognizer.name, language)
    }
    missing = [
        f"Vosk model for {language} in {request.models_dir}: run scripts/fetch-models"
        for language in request.named(VoskRecognizer.name)
        if language not in models
    ]
    engine = VoskRecognizer(models) if models else None
    return BuiltEngine(engine, frozenset(models), missing)


register(
    EngineSpec(
        name=VoskRecognizer.name,
        title="Vosk",
        kind=EngineKind.RECOGNIZER,
        languages=None,  # whatever its installed models speak
        requires=("vosk",),
        build=_build,
        rank=10,  # grammar mode and Japanese: first wherever it has a model
        install_hint="run scripts/fetch-models (needs the internet once)",
    )
)
