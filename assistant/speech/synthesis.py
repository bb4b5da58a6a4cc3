"""The synthesis facade the kiosk speaks through: sentences, engine fallback and a cache.

Text is cut into sentences so playback starts after the first one is ready; each sentence goes
to the first engine that has a voice for the language (and can read the text: espeak-ng cannot
read kanji), falling back to the next when one fails; sentences already spoken come from an
LRU cache, so the fixed prompts of the dialog cost nothing after the first time. The cache is
bounded by bytes as well as by sentences: a kiosk runs for weeks, and sentences that quote
the user's answers are long and rarely repeated, so a count alone would let it hold tens of
megabytes of audio spoken once.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from assistant.config import PROJECT_ROOT
from assistant.errors import AssistantError, ConfigError
from assistant.ports import TextToSpeech
from assistant.speech.audio import silence

_LOGGER = logging.getLogger(__name__)

CACHE_SIZE = 256
CACHE_BYTES = 8 * 1024 * 1024  # about 4 minutes of 16 kHz speech: the prompts of a few dialogs
SENTENCE_PAUSE = 0.2  # seconds of silence after every sentence but the last
LOAD_WAIT_S = 30.0  # the longest a sentence waits for a loading engine when no other can speak
PROFILES_FILE = "profiles.yaml"
DEFAULT_MODELS_DIR = PROJECT_ROOT / "models"


class SynthesisError(AssistantError):
    """Speech could not be synthesised; the message says which engine, voice or file."""

    code = "synthesis_failed"


# -- sentences ------------------------------------------------------------------------------

_CLOSER_CHARACTERS = "」』）)］]\"'”’»"  # closing quotes and brackets stay with the sentence
_OPENERS = "「『（(［[\"'“‘«"
_CLOSERS = re.escape(_CLOSER_CHARACTERS)
# Full-width ends always end a sentence; ASCII ! and ? when a space, the end or non-ASCII text
# follows (Japanese often writes "すごい!次は"); a full stop only before a space or the end, so
# 3.5 and example.com stay whole.
_BOUNDARY = re.compile(
    rf"[。！？．]+[{_CLOSERS}]*"
    rf"|[!?]+[{_CLOSERS}]*(?=\s|$|[^\x00-\x7f])"
    rf"|\.+[{_CLOSERS}]*(?=\s|$)"
)
# Words whose full stop never ends a sentence ("e.g. Tokyo", "Mr. Sato").
_ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "no.", "approx.", "cf."}
)
_MIN_CHARACTERS = {"ja": 4, "zh": 4}
_DEFAULT_MIN_CHARACTERS = 10
_SPEAKABLE = re.compile(r"\w")


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    """Whether the punctuation ends a sentence, not a quotation or an abbreviation."""
    following = text[match.end() :]
    if match.group()[-1] in _CLOSER_CHARACTERS and following[:1] not in ("", *_OPENERS):
        # 「本当？」と聞きました: a quotation followed by more of the sentence.
        return following[:1].isspace()
    if not match.group().startswith("."):
        return True
    word = text[: match.start()].split()[-1:] or [""]
    if (word[0] + ".").lower() in _ABBREVIATIONS:
        return False
    following = following.lstrip()
    # "9 a.m. and then", "etc. for": a lower-case word after the stop continues the sentence.
    return not (following[:1].isalpha() and following[:1].islower())


def _joiner(language: str) -> str:
    """What goes between merged pieces: nothing in Japanese, a space elsewhere."""
    return "" if language in _MIN_CHARACTERS else " "


def split_sentences(text: str, language: str) -> list[str]:
    """Sentences of ``text`` with their punctuation; very short pieces join a neighbour."""
    pieces: list[str] = []
    for line in text.splitlines():
        start = 0
        for match in _BOUNDARY.finditer(line):
            if _is_sentence_end(line, match):
                pieces.append(line[start : match.end()].strip())
                start = match.end()
        pieces.append(line[start:].strip())
    pieces = [piece for piece in pieces if piece]
    minimum = _MIN_CHARACTERS.get(language, _DEFAULT_MIN_CHARACTERS)
    joiner = _joiner(language)
    merged: list[str] = []
    carry = ""
    for piece in pieces:
        piece = f"{carry}{joiner}{piece}" if carry else piece
        if len(piece) < minimum:
            carry = piece
            continue
        merged.append(piece)
        carry = ""
    if carry:
        if merged:
            merged[-1] = f"{merged[-1]}{joiner}{carry}"
        else:
            merged.append(carry)
    return merged


# -- the facade -----------------------------------------------------------------------------


def _can_read(engine: TextToSpeech, text: str, language: str) -> bool:
    """An engine's own ``can_read`` when it has one (espeak-ng and kanji); else True."""
    can_read = getattr(engine, "can_read", None)
    return True if can_read is None else bool(can_read(text, language))


def _waited_ready(engine: TextToSpeech) -> bool:
    """For an engine that loads in the background (``wait_ready``): wait for it, bounded."""
    wait_ready = getattr(engine, "wait_ready", None)
    return wait_ready is not None and bool(wait_ready(LOAD_WAIT_S))


class SpeechSynthesis:
    """Speaks text in a language with the first engine able to, sentence by sentence."""

    def __init__(
        self,
        engines: Mapping[str, Sequence[TextToSpeech]],
        *,
        cache_size: int = CACHE_SIZE,
        cache_bytes: int = CACHE_BYTES,
        sentence_pause: float = SENTENCE_PAUSE,
        missing: Sequence[str] = (),
    ) -> None:
        self.engines = {language: list(chain) for language, chain in engines.items()}
        self.missing = tuple(missing)  # what staff could install, for ``assistant check``
        self._cache: OrderedDict[tuple[str, str, float, str], bytes] = OrderedDict()
        self._cache_size = cache_size
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0
        self._pause = silence(sentence_pause)
        self._lock = threading.Lock()
        self._logged_failures: set[tuple[str, str]] = set()

    def engine_for(self, language: str) -> str | None:
        """The engine that would speak ``language`` now, or None when none can."""
        for engine in self.engines.get(language, ()):
            if engine.supports(language):
                return engine.name
        return None

    def available(self) -> dict[str, list[str]]:
        """Per language, the engines with an installed voice, in the order they are tried."""
        return {
            language: [engine.name for engine in chain if engine.supports(language)]
            for language, chain in self.engines.items()
        }

    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        """The whole text as one PCM clip, with short pauses between sentences."""
        return b"".join(self.iter_sentences(text, language, rate))

    def iter_sentences(self, text: str, language: str, rate: float = 1.0) -> Iterator[bytes]:
        """PCM one sentence at a time, so playback can start after the first."""
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        sentences = [s for s in split_sentences(text, language) if _SPEAKABLE.search(s)]
        for index, sentence in enumerate(sentences):
            pcm = self.speak_sentence(sentence, language, rate)
            yield pcm + self._pause if index < len(sentences) - 1 else pcm

    def speak_sentence(self, sentence: str, language: str, rate: float = 1.0) -> bytes:
        """One sentence from the cache or the first engine that manages it."""
        rate = round(rate, 2)
        candidates = [
            engine
            for engine in self.engines.get(language, ())
            if engine.supports(language) and _can_read(engine, sentence, language)
        ]
        if not candidates:
            # Only an engine still loading (Kokoro) could speak it: waiting beats silence.
            candidates = [
                engine
                for engine in self.engines.get(language, ())
                if engine.supports(language) and _waited_ready(engine)
            ]
        if not candidates:
            raise SynthesisError(
                f"no installed voice can speak {language!r} text {sentence[:40]!r}; "
                "see voices/profiles.yaml and run assistant check",
                code="no_voice",
            )
        failures: list[str] = []
        for engine in candidates:
            key = (engine.name, language, rate, sentence)
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    return cached
            try:
                pcm = engine.synthesize(sentence, language, rate)
            except Exception as err:
                failures.append(f"{engine.name}: {err}")
                self._log_failure(engine.name, language, err)
                continue
            self._remember(key, pcm)
            return pcm
        raise SynthesisError(f"every engine failed for {language!r}: " + "; ".join(failures))

    def _remember(self, key: tuple[str, str, float, str], pcm: bytes) -> None:
        """Cache a sentence, forgetting the least recently used beyond either bound."""
        if len(pcm) > self._cache_bytes:
            return  # would push out everything else
        with self._lock:
            old = self._cache.pop(key, None)
            self._cached_bytes -= len(old) if old is not None else 0
            self._cache[key] = pcm
            self._cached_bytes += len(pcm)
            while len(self._cache) > self._cache_size or self._cached_bytes > self._cache_bytes:
                _, dropped = self._cache.popitem(last=False)
                self._cached_bytes -= len(dropped)

    def _log_failure(self, engine: str, language: str, err: Exception) -> None:
        """The traceback once per engine and language; later failures only at debug level."""
        if (engine, language) in self._logged_failures:
            _LOGGER.debug("%s failed again for %s: %s", engine, language, err)
            return
        self._logged_failures.add((engine, language))
        _LOGGER.warning(
            "%s failed for %s, falling back to the next engine: %s",
            engine,
            language,
            err,
            exc_info=not isinstance(err, SynthesisError),
        )

    def warm(self, wait: float | None = None) -> None:
        """Load every engine that has a ``warm`` (blocking for those that load at once, like
        Open JTalk's dictionary; Kokoro loads in its own thread), and wait up to ``wait``
        seconds for those loading in the background. No user's sentence then waits for it."""
        unique = {id(engine): engine for chain in self.engines.values() for engine in chain}
        for engine in unique.values():
            start = getattr(engine, "warm", None)
            if start is not None:
                start()
        if wait is not None:
            for engine in unique.values():
                wait_ready = getattr(engine, "wait_ready", None)
                if wait_ready is not None:
                    wait_ready(wait)

    def clear_cache(self) -> None:
        """Forget cached sentences (after a voice changes)."""
        with self._lock:
            self._cache.clear()
            self._cached_bytes = 0


# -- the standard set -----------------------------------------------------------------------


_LANGUAGE_NAMES = {"ja": "Japanese", "en": "English"}


def read_profiles(path: Path) -> dict[str, list[tuple[str, str]]]:
    """``profiles.yaml`` as language -> [(engine, voice)], with a clear error when broken."""
    from assistant.speech.engines import registry

    if not path.is_file():
        raise ConfigError(f"{path} is missing: it lists the voices per language (restore it)")
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot be read as YAML: {err}") from err
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{path}: expected languages mapped to lists like [piper:VOICE]")
    engine_names = registry.names(registry.EngineKind.VOICE)
    profiles: dict[str, list[tuple[str, str]]] = {}
    for language, entries in data.items():
        if not isinstance(language, str) or not isinstance(entries, list) or not entries:
            raise ConfigError(f"{path}: {language}: expected a list like [piper:VOICE]")
        chain: list[tuple[str, str]] = []
        for entry in entries:
            engine, _, voice = str(entry).partition(":")
            if engine not in engine_names or not voice.strip():
                raise ConfigError(
                    f"{path}: {language}: {entry!r} should be ENGINE:VOICE with ENGINE one of "
                    f"{', '.join(engine_names)}"
                )
            spec = registry.get(engine)
            if spec is not None and not spec.serves(language):
                spoken = ", ".join(_LANGUAGE_NAMES.get(x, x) for x in sorted(spec.languages or ()))
                raise ConfigError(f"{path}: {language}: {spec.display_name} speaks only {spoken}")
            chain.append((engine, voice.strip()))
        profiles[language] = chain
    return profiles


def default_synthesis(voices_dir: Path, models_dir: Path = DEFAULT_MODELS_DIR) -> SpeechSynthesis:
    """The engines installed here, ordered per language as ``voices/profiles.yaml`` says.

    Each engine the profiles name is built once through the engine registry, with the voice
    named for each language; an engine module is imported only when a profile names it.
    """
    from assistant.speech.engines import registry

    path = voices_dir / PROFILES_FILE
    profiles = read_profiles(path)
    wanted: dict[str, dict[str, str]] = {}  # engine -> language -> voice
    for language, chain in profiles.items():
        for engine, voice in chain:
            wanted.setdefault(engine, {})[language] = voice
    built: dict[str, registry.BuiltEngine] = {}
    missing: list[str] = []
    for engine, voices in wanted.items():
        spec = registry.get(engine)
        assert spec is not None  # read_profiles accepts only registered engines
        request = registry.EngineRequest(models_dir, voices_dir, voices=voices)
        try:
            built[engine] = spec.build(request)
        except SynthesisError as err:
            raise ConfigError(f"{path}: {err.message}") from err
        missing.extend(built[engine].missing)
    engines: dict[str, list[TextToSpeech]] = {}
    for language, chain in profiles.items():
        engines[language] = []
        for engine, _ in chain:
            made = built[engine]
            if made.engine is not None and language in made.languages:
                engines[language].append(made.engine)
    for note in missing:
        _LOGGER.warning("Speech: %s", note)
    return SpeechSynthesis(engines, missing=missing)
