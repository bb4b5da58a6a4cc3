"""The speaker: project PCM played through a PortAudio output stream, interruptible.

A speaker writes small blocks on its own worker thread so ``stop()`` (barge-in) takes effect
within one block, and nothing blocks the event loop. ``PlaybackState`` is what the kiosk reads
to gate its microphone while (and just after) the assistant speaks; memory sinks share it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Protocol, Self

from assistant.speech import audio
from assistant.speech.devices.listing import (
    AudioDeviceError,
    close_stream,
    device_info,
    device_rate,
    sounddevice_module,
)
from assistant.speech.devices.pacing import Pacer

_LOGGER = logging.getLogger(__name__)

_END = object()  # ends a chunk queue


class AudioSink(Protocol):
    """Where speech goes: a speaker, or memory in tests; interruptible for barge-in."""

    @property
    def is_playing(self) -> bool:
        """True while sound is coming out: the kiosk gates its microphone."""
        ...

    @property
    def playing_since(self) -> float | None:
        """``time.monotonic()`` when the current playback started; None when silent."""
        ...

    @property
    def ended_at(self) -> float | None:
        """``time.monotonic()`` when the last playback ended or was stopped."""
        ...

    async def play(self, pcm: bytes, *, volume: float = 1.0) -> bool:
        """Play to the end (True) or until ``stop()`` (False)."""
        ...

    async def play_stream(
        self, chunks: AsyncIterator[bytes] | Iterable[bytes], *, volume: float = 1.0
    ) -> bool:
        """Play chunks as they arrive (sentence by sentence); False when stopped."""
        ...

    def stop(self) -> None:
        """Interrupt what is playing and what is waiting to play."""
        ...

    def should_gate_microphone(self, tail: float = 0.3) -> bool:
        """True while playing and ``tail`` seconds after, when the room still echoes."""
        ...


class PlaybackState:
    """What the kiosk needs to gate its microphone: is sound playing, since and until when."""

    def __init__(self) -> None:
        self._playing_since: float | None = None
        self._ended_at: float | None = None
        self._generation = 0  # stop() bumps it: playbacks started before are stopped
        self._lock = asyncio.Lock()

    @property
    def is_playing(self) -> bool:
        """True from the first block written until the last one has been heard."""
        return self._playing_since is not None

    @property
    def playing_since(self) -> float | None:
        """``time.monotonic()`` when the current playback started; None when silent."""
        return self._playing_since

    @property
    def ended_at(self) -> float | None:
        """``time.monotonic()`` when the last playback ended (or was stopped)."""
        return self._ended_at

    def should_gate_microphone(self, tail: float = 0.3) -> bool:
        """True while playing and ``tail`` seconds after, when the room still echoes."""
        if self.is_playing:
            return True
        return self._ended_at is not None and time.monotonic() - self._ended_at < tail

    async def play(self, pcm: bytes, *, volume: float = 1.0) -> bool:
        """Play project PCM; False when ``stop()`` cut it short (subclasses: play_stream)."""
        return await self.play_stream([pcm], volume=volume)  # type: ignore[attr-defined]

    def _started(self) -> None:
        self._playing_since = time.monotonic()

    def _finished(self) -> None:
        if self._playing_since is not None:
            self._ended_at = time.monotonic()
        self._playing_since = None


async def iterate_chunks(chunks: AsyncIterator[bytes] | Iterable[bytes]) -> AsyncIterator[bytes]:
    """Chunks from an async or a plain iterator; a plain one may block, so it runs in a thread."""
    if isinstance(chunks, AsyncIterator):
        async for chunk in chunks:
            yield chunk
        return
    iterator = iter(chunks)
    while (item := await asyncio.to_thread(next, iterator, _END)) is not _END:
        assert isinstance(item, bytes)
        yield item


class _Playback:
    """One play or play_stream call: its chunks and its stop signal, shared with the worker."""

    def __init__(self, volume: float) -> None:
        self.volume = volume
        self.chunks: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.chunks.put(_END)  # wakes a worker waiting for the next chunk


class Speaker(PlaybackState):
    """A PortAudio output stream that plays project PCM and stops within one block."""

    def __init__(
        self,
        device: int | str | None = None,
        *,
        samplerate: int | None = None,
        block_ms: int = 20,
        lead: float = 0.05,
    ) -> None:
        super().__init__()
        self.device = device
        self.samplerate = samplerate  # None: 16 kHz if the device takes it, else its own
        self.block_ms = block_ms
        self.lead = lead  # how far beyond the device's own latency writes may run ahead
        self.rate: int | None = None
        # One thread owns the stream: PortAudio streams are not for sharing between threads.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speaker")
        self._stream: Any = None
        self._current: _Playback | None = None

    async def __aenter__(self) -> Self:
        await asyncio.get_running_loop().run_in_executor(self._worker, self._ensure_stream)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _ensure_stream(self) -> Any:
        """Open once and keep open: reopening costs time (and truncates ALSA file devices)."""
        if self._stream is not None:
            return self._stream
        sd = sounddevice_module()
        info = device_info(sd, self.device, "output")
        rate = device_rate(sd, info, "output", self.samplerate)
        try:
            self._stream = sd.RawOutputStream(
                device=info["index"], samplerate=rate, channels=1, dtype="int16"
            )
        except (ValueError, sd.PortAudioError) as err:
            raise AudioDeviceError(
                f"cannot open speaker {info['name']!r}: {err}", code="audio_device_failed"
            ) from err
        self.rate = rate
        _LOGGER.info("speaker %r open at %d Hz", info["name"], rate)
        return self._stream

    async def play_stream(
        self, chunks: AsyncIterator[bytes] | Iterable[bytes], *, volume: float = 1.0
    ) -> bool:
        """Play chunks as they are synthesised; False when ``stop()`` cut it short."""
        generation = self._generation
        async with self._lock:
            if generation != self._generation:
                return False  # stopped while waiting for the previous playback
            run = _Playback(volume)
            self._current = run
            loop = asyncio.get_running_loop()
            worker = loop.run_in_executor(self._worker, self._write_all, run)
            feeder = asyncio.create_task(self._feed(chunks, run))
            self._started()
            try:
                completed = await asyncio.shield(worker)
                if feeder.done() and not feeder.cancelled() and feeder.exception():
                    raise feeder.exception()  # type: ignore[misc]
                return completed
            finally:
                feeder.cancel()
                if not worker.done():  # cancelled: the stream must be quiet before returning
                    run.stop()
                    await asyncio.wait({worker})
                self._current = None
                self._finished()

    @staticmethod
    async def _feed(chunks: AsyncIterator[bytes] | Iterable[bytes], run: _Playback) -> None:
        try:
            async for chunk in iterate_chunks(chunks):
                if run.stopped.is_set():
                    return
                run.chunks.put(chunk)
        finally:
            run.chunks.put(_END)

    def stop(self) -> None:
        """Barge-in: stop at once; safe from any task, a no-op when silent."""
        self._generation += 1
        if self._current is not None:
            self._current.stop()

    def _write_all(self, run: _Playback) -> bool:
        """Worker thread: write small blocks, pace them, and drop the rest on stop."""
        stream = self._ensure_stream()
        rate = self.rate or audio.SAMPLE_RATE
        block_bytes = max(1, rate * self.block_ms // 1000) * audio.SAMPLE_WIDTH
        pacer = Pacer(self.lead + float(stream.latency))
        try:
            stream.start()
            while (chunk := run.chunks.get()) is not _END:
                assert isinstance(chunk, bytes)
                if run.volume != 1.0:
                    chunk = audio.scale(chunk, run.volume)
                if rate != audio.SAMPLE_RATE:
                    chunk = audio.from_pcm(chunk, rate).tobytes()
                for start in range(0, len(chunk), block_bytes):
                    if run.stopped.is_set():
                        break
                    block = chunk[start : start + block_bytes]
                    stream.write(block)
                    wait = pacer.wrote(len(block) / (rate * audio.SAMPLE_WIDTH))
                    if wait and run.stopped.wait(wait):
                        break
                if run.stopped.is_set():
                    break
            if run.stopped.is_set():
                stream.abort()  # drop what the device still holds: silence now
                return False
            stream.stop()  # a real device returns once the buffer has been heard
            return not run.stopped.wait(pacer.remaining())  # the null device does not wait
        except Exception as err:
            self._stream = None
            close_stream(stream)
            raise AudioDeviceError(f"speaker failed: {err}", code="audio_device_failed") from err

    async def close(self) -> None:
        """Stop playing and release the device."""
        self.stop()
        async with self._lock:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._worker, self._release)
        self._worker.shutdown(wait=False)

    def _release(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            close_stream(stream)
