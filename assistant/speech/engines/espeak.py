"""espeak-ng: the last fallback voice, robotic but present on any Debian machine.

It is run as a program (no shell) and its WAV read from stdout. It reads kanji as character
names ("CJK ideograph ..."), so ``can_read`` refuses any text that contains them.
"""

from __future__ import annotations

import logging
import re
import shutil
import struct
import subprocess
from collections.abc import Mapping

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

_LOGGER = logging.getLogger(__name__)

DEFAULT_VOICES = {"en": "en-us", "ja": "ja"}
BASE_WORDS_PER_MINUTE = 175  # espeak-ng's own default speed
INSTALL_HINT = "espeak-ng is not installed: apt-get install espeak-ng"
TIMEOUT_SECONDS = 30.0

# CJK Unified Ideographs (and extension A, compatibility ideographs, the supplementary planes)
# plus 々 and 〆, which espeak-ng also reads as symbol names.
_IDEOGRAPH = re.compile(
    "[\u3005\u3006\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]"
)


def has_kanji(text: str) -> bool:
    """Whether ``text`` holds a CJK ideograph, which espeak-ng cannot read aloud."""
    return _IDEOGRAPH.search(text) is not None


def words_per_minute(rate: float) -> int:
    """espeak-ng's ``-s`` for a rate where 1.0 is its normal speed (kept in its 80-450 range)."""
    return max(80, min(450, round(BASE_WORDS_PER_MINUTE * rate)))


def parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Samples and rate from a WAV on a pipe, whose size fields espeak-ng leaves unset."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SynthesisError("espeak-ng did not write a WAV file", code="synthesis_failed")
    position, rate, channels, width = 12, 0, 1, 2
    while position + 8 <= len(data):
        chunk, size = data[position : position + 4], struct.unpack_from("<I", data, position + 4)[0]
        body = position + 8
        if chunk == b"fmt ":
            channels, rate = struct.unpack_from("<HI", data, body + 2)
            width = struct.unpack_from("<H", data, body + 14)[0] // 8
        elif chunk == b"data":
            if width != 2 or not rate:
                raise SynthesisError(
                    f"espeak-ng wrote {width * 8}-bit audio", code="synthesis_failed"
                )
            payload = data[body:]  # the declared size is a placeholder when streaming
            payload = payload[: len(payload) - len(payload) % (2 * channels)]
            samples = np.frombuffer(payload, dtype="<i2")
            return (samples.reshape(-1, channels) if channels > 1 else samples), rate
        position = body + size + (size & 1)
    raise SynthesisError("espeak-ng wrote a WAV file without audio", code="synthesis_failed")


class EspeakSynthesizer:
    """Any language espeak-ng has a voice for; never Japanese text with kanji."""

    name = "espeak-ng"

    def __init__(
        self, voices: Mapping[str, str] | None = None, *, executable: str = "espeak-ng"
    ) -> None:
        self.voices = dict(DEFAULT_VOICES if voices is None else voices)
        self.executable = executable

    def _program(self) -> str | None:
        """The full path of the program, or None when it is not installed."""
        return shutil.which(self.executable)

    def supports(self, language: str) -> bool:
        """Whether a voice is configured for ``language`` and espeak-ng is installed."""
        return language in self.voices and self._program() is not None

    def can_read(self, text: str, language: str) -> bool:
        """False for text with kanji: espeak-ng would spell out character names instead."""
        return not has_kanji(text)

    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        """``text`` as project PCM, from ``espeak-ng --stdout``."""
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        voice = self.voices.get(language)
        if voice is None:
            raise SynthesisError(f"espeak-ng has no voice set for {language!r}", code="no_voice")
        if not self.can_read(text, language):
            raise SynthesisError(
                "espeak-ng cannot read kanji; another engine must speak this text",
                code="unreadable",
            )
        program = self._program()
        if program is None:
            raise SynthesisError(INSTALL_HINT, code="engine_missing")
        command = [program, "--stdout", "-v", voice, "-s", str(words_per_minute(rate))]
        try:
            # Text on stdin, not argv: a sentence starting with "-" is not an option.
            done = subprocess.run(
                command,
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except FileNotFoundError as err:
            raise SynthesisError(INSTALL_HINT, code="engine_missing") from err
        except subprocess.TimeoutExpired as err:
            raise SynthesisError(
                f"espeak-ng took more than {TIMEOUT_SECONDS:.0f} s", code="synthesis_failed"
            ) from err
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise SynthesisError(f"espeak-ng failed: {reason}", code="synthesis_failed")
        samples, sample_rate = parse_wav(done.stdout)
        return to_pcm(samples, sample_rate)


def _build(request: EngineRequest) -> BuiltEngine:
    """espeak-ng with the voices ``profiles.yaml`` names; it is a program, not a package."""
    espeak = EspeakSynthesizer(dict(request.voices))
    missing = []
    if request.voices and not espeak.supports(next(iter(request.voices))):
        missing.append(INSTALL_HINT)
    return BuiltEngine(espeak, frozenset(request.voices), missing)


register(
    EngineSpec(
        name=EspeakSynthesizer.name,
        title="espeak-ng",
        kind=EngineKind.VOICE,
        languages=None,  # any language espeak-ng has a voice for
        requires=(),
        build=_build,
        install_hint="apt-get install espeak-ng",
    )
)
