"""Timing and framing between a device and project PCM: device blocks cut into exact 30 ms
frames (resampled when the device runs at another rate), a capture clock that reads a fast
device at real-time speed, and a pacer that keeps a speaker's queue a little ahead."""

from __future__ import annotations

import time

import numpy as np

from assistant.speech import audio


class Rechunker:
    """Cuts device blocks of any size (and rate) into exact 30 ms project frames."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._step = rate / audio.SAMPLE_RATE  # device samples per project sample
        self._raw = np.zeros(0, dtype=np.float64)  # device samples not yet resampled
        self._position = 0.0  # where, in ``_raw``, the next project sample falls
        self._pcm = bytearray()

    def push(self, data: bytes) -> list[bytes]:
        """Frames completed by ``data``; the remainder waits for the next block."""
        if self.rate == audio.SAMPLE_RATE:
            self._pcm += data
        else:
            self._resample(np.frombuffer(data, dtype="<i2"))
        frames = []
        while len(self._pcm) >= audio.FRAME_BYTES:
            frames.append(bytes(self._pcm[: audio.FRAME_BYTES]))
            del self._pcm[: audio.FRAME_BYTES]
        return frames

    def _resample(self, samples: np.ndarray) -> None:
        # Linear interpolation like audio.to_pcm, but with the phase carried from block to
        # block: converting each block on its own would stretch every block a little.
        self._raw = np.concatenate([self._raw, samples.astype(np.float64)])
        count = int((len(self._raw) - 1 - self._position) // self._step) + 1
        if count <= 0:
            return
        positions = self._position + self._step * np.arange(count)
        values = np.interp(positions, np.arange(len(self._raw)), self._raw)
        self._pcm += np.clip(np.round(values), -32768, 32767).astype("<i2").tobytes()
        following = self._position + self._step * count
        keep = min(int(following), len(self._raw))
        self._raw = self._raw[keep:]
        self._position = following - keep


class CaptureClock:
    """How long a capture callback waits so that a fast device is read at real-time speed.

    Time counts from the first block, so a wait that oversleeps a little is made up on the
    next blocks and the average rate stays exact. A device that fell more than ``max_lag``
    behind (it had nothing to give for a while, or PortAudio's thread was held up) restarts
    the count rather than being read in a rush, the very burst this exists to avoid.
    """

    def __init__(self, max_lag: float = 0.2) -> None:
        self.max_lag = max_lag
        self._start: float | None = None
        self._seconds = 0.0

    def captured(self, seconds: float) -> float:
        """Record a block of ``seconds`` just read; how long to wait before reading on."""
        now = time.monotonic()
        self._seconds += seconds
        if self._start is None or now - (self._start + self._seconds) > self.max_lag:
            self._start = now - self._seconds  # this block ends now
            return 0.0
        return max(0.0, self._start + self._seconds - now)


class Pacer:
    """Keeps writes at most ``lead`` seconds ahead of the wall clock.

    A real device blocks writes by itself; ALSA's null and file devices take audio as fast as
    it comes, and without this a 5 s sound would be "played" before anyone could stop it.
    """

    def __init__(self, lead: float) -> None:
        self.lead = lead
        self.end = time.monotonic()

    def wrote(self, seconds: float) -> float:
        """Record ``seconds`` written; how long to wait before writing more."""
        now = time.monotonic()
        self.end = max(self.end, now) + seconds
        return max(0.0, self.end - now - self.lead)

    def remaining(self) -> float:
        """Seconds until the audio written so far has been heard."""
        return max(0.0, self.end - time.monotonic())
