"""Voice notes: Telegram's OGG/Opus in and out, as the project's 16 kHz 16-bit mono PCM.

libsndfile (bundled with soundfile) reads and writes OGG/Opus, so no ffmpeg is needed. Opus
only takes 8, 12, 16, 24 or 48 kHz; our 16 kHz is one of them.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile

from assistant.speech.audio import SAMPLE_RATE, to_pcm

MAX_VOICE_SECONDS = 60


class VoiceNoteError(ValueError):
    """The file is not audio libsndfile can read."""


def decode_voice(data: bytes) -> bytes:
    """A voice note (OGG/Opus, or any format libsndfile reads) as project PCM."""
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=False)
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError) as err:
        raise VoiceNoteError(str(err)) from err
    return to_pcm(samples, int(rate))


def encode_voice(pcm: bytes) -> bytes:
    """Project PCM as an OGG/Opus voice note."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    out = io.BytesIO()
    soundfile.write(out, samples, SAMPLE_RATE, format="OGG", subtype="OPUS")
    return out.getvalue()
