"""In-memory audio sources and sinks: the kiosk's microphone and speaker for tests and tools.

They speak the same interface as ``Microphone`` and ``Speaker``; the sink takes
as long as playing would (scaled by ``speed``), so gating and barge-in behave as in a room.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

from assistant.speech import audio
from assistant.speech.devices.speaker import PlaybackState, iterate_chunks


class MemorySource:
    """Frames from bytes, for tests and tools; optionally paced like a live microphone."""

    def __init__(self, pcm: bytes, *, realtime: bool = False) -> None:
        self.pcm = pcm
        self.realtime = realtime
        self._closed = False

    @classmethod
    def from_wav(cls, path: Path, *, realtime: bool = False) -> MemorySource:
        """A WAV file (any PCM rate or width) as a source."""
        return cls(audio.read_wav(path), realtime=realtime)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def frames(self) -> AsyncIterator[bytes]:
        """The bytes as 30 ms frames (the last padded with silence), then the end."""
        start = time.monotonic()
        for number, frame in enumerate(audio.frames(self.pcm)):
            if self._closed:
                return
            if self.realtime:  # against the start time, so sleeps do not add up drift
                await asyncio.sleep(
                    max(0.0, start + number * audio.FRAME_SECONDS - time.monotonic())
                )
            else:
                await asyncio.sleep(0)
            yield frame

    async def close(self) -> None:
        """End ``frames()`` at the next frame."""
        self._closed = True


class MemorySink(PlaybackState):
    """Collects what would be played, taking as long as playing it would (barge-in tests)."""

    def __init__(self, *, block_ms: int = 20, speed: float = 1.0) -> None:
        super().__init__()
        self.block_ms = block_ms
        self.speed = speed  # 2.0 plays twice as fast; float("inf") does not wait at all
        self.played = bytearray()  # everything heard, volume applied
        self.utterances: list[bytes] = []  # what each play call got heard
        self._stopped = asyncio.Event()

    async def play_stream(
        self, chunks: AsyncIterator[bytes] | Iterable[bytes], *, volume: float = 1.0
    ) -> bool:
        """Play chunks as they come; False when ``stop()`` cut it short."""
        generation = self._generation
        async with self._lock:
            if generation != self._generation:
                return False
            self._stopped = asyncio.Event()
            heard = bytearray()
            self._started()
            try:
                return await self._play_chunks(chunks, volume, heard)
            finally:
                self.utterances.append(bytes(heard))
                self._finished()

    async def _play_chunks(
        self, chunks: AsyncIterator[bytes] | Iterable[bytes], volume: float, heard: bytearray
    ) -> bool:
        block_bytes = audio.SAMPLE_RATE * self.block_ms // 1000 * audio.SAMPLE_WIDTH
        clock = time.monotonic()
        iterator = aiter(iterate_chunks(chunks))
        while (chunk := await self._next_unless_stopped(iterator)) is not None:
            data = audio.scale(chunk, volume) if volume != 1.0 else chunk
            clock = max(clock, time.monotonic())
            for start in range(0, len(data), block_bytes):
                if self._stopped.is_set():
                    return False
                block = data[start : start + block_bytes]
                heard += block
                self.played += block
                clock += audio.duration(block) / self.speed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), max(0.0, clock - time.monotonic()))
        return not self._stopped.is_set()

    async def _next_unless_stopped(self, iterator: AsyncIterator[bytes]) -> bytes | None:
        """The next chunk, or None at the end or as soon as ``stop()`` is called."""
        following = asyncio.ensure_future(anext(iterator, None))
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({following, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not following.done():
                following.cancel()
        if self._stopped.is_set():
            return None
        return following.result()

    def stop(self) -> None:
        """Barge-in: stop at the current block; safe from any task."""
        self._generation += 1
        self._stopped.set()

    def write_wav(self, path: Path) -> None:
        """Everything played, as a WAV file to listen to."""
        audio.write_wav(path, bytes(self.played))


def iter_chunks(pcm: bytes, seconds: float) -> Iterator[bytes]:
    """``pcm`` cut into chunks of about ``seconds`` (whole samples): sentence stand-ins."""
    size = max(1, round(seconds * audio.SAMPLE_RATE)) * audio.SAMPLE_WIDTH
    for start in range(0, len(pcm), size):
        yield pcm[start : start + size]
