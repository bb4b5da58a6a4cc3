"""The one audio format inside the project, and small helpers to convert into it.

16 kHz, 16-bit signed little-endian, mono PCM, cut into 30 ms frames: what webrtcvad, Vosk and
PocketSphinx all take. Everything that enters (microphones, WAV files, synthesised speech,
voice notes) is converted here once; everything inside passes plain ``bytes`` of this format.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from assistant.extras import require_extra

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2  # bytes: 16-bit
CHANNELS = 1
FRAME_MS = 30
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 480
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_WIDTH  # 960
FRAME_SECONDS = FRAME_MS / 1000


def _numpy() -> ModuleType:
    """numpy, imported only where samples are converted: the frame constants and WAV writing
    serve the web chat of a base install, which has no numpy (it comes with the speech extra)."""
    return require_extra("numpy", "speech", "audio conversion")


def duration(pcm: bytes) -> float:
    """Seconds of audio in ``pcm``."""
    return len(pcm) / (SAMPLE_RATE * SAMPLE_WIDTH)


def silence(seconds: float) -> bytes:
    """Digital silence of the given length."""
    return bytes(int(seconds * SAMPLE_RATE) * SAMPLE_WIDTH)


def frames(pcm: bytes) -> Iterator[bytes]:
    """30 ms frames; a short last frame is padded with silence."""
    for start in range(0, len(pcm), FRAME_BYTES):
        frame = pcm[start : start + FRAME_BYTES]
        if len(frame) < FRAME_BYTES:
            frame += bytes(FRAME_BYTES - len(frame))
        yield frame


def to_pcm(samples: np.ndarray, rate: int) -> bytes:
    """Float or int16 samples at ``rate`` (mono, or channels last) as project PCM."""
    np = _numpy()
    data = np.asarray(samples)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if data.dtype.kind == "f":
        data = np.clip(data, -1.0, 1.0) * 32767.0
    data = data.astype(np.float64)
    if rate != SAMPLE_RATE and len(data):
        count = max(1, round(len(data) * SAMPLE_RATE / rate))
        positions = np.linspace(0, len(data) - 1, count)
        data = np.interp(positions, np.arange(len(data)), data)
    return np.clip(np.round(data), -32768, 32767).astype("<i2").tobytes()


def from_pcm(pcm: bytes, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Project PCM as int16 samples, resampled to ``rate`` when a device needs another."""
    np = _numpy()
    data = np.frombuffer(pcm, dtype="<i2")
    if rate == SAMPLE_RATE or not len(data):
        return data.copy()
    count = max(1, round(len(data) * rate / SAMPLE_RATE))
    positions = np.linspace(0, len(data) - 1, count)
    return np.round(np.interp(positions, np.arange(len(data)), data)).astype("<i2")


def scale(pcm: bytes, factor: float) -> bytes:
    """Louder or quieter by ``factor`` (clipped, never wrapped)."""
    np = _numpy()
    data = np.frombuffer(pcm, dtype="<i2").astype(np.float64) * factor
    return np.clip(np.round(data), -32768, 32767).astype("<i2").tobytes()


def read_wav(path: Path) -> bytes:
    """Any PCM WAV file as project PCM."""
    np = _numpy()
    with wave.open(str(path), "rb") as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        raw = wav.readframes(wav.getnframes())
    if width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) * 256
    elif width == 2:
        samples = np.frombuffer(raw, dtype="<i2")
    elif width == 4:
        samples = (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise ValueError(f"{path}: {width * 8}-bit WAV is not supported; use 16-bit PCM")
    if channels > 1:
        samples = samples.reshape(-1, channels)
    return to_pcm(samples, rate)


def wav_bytes(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    """Project PCM (or PCM at ``rate``) as the bytes of a 16-bit mono WAV file, which every
    browser plays without a codec question."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(CHANNELS)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return out.getvalue()


def write_wav(path: Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    """Project PCM (or PCM at ``rate``) as a 16-bit mono WAV file."""
    path.write_bytes(wav_bytes(pcm, rate))
