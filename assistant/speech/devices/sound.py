"""Microphones and speakers through PortAudio (``sounddevice``), and in-memory stand-ins.

Everything here speaks project PCM (see ``audio.py``): a source yields exact 30 ms frames, a
sink plays ``bytes`` of that format. PortAudio runs its own threads; nothing here blocks the
event loop. A microphone callback hands frames to the loop with ``call_soon_threadsafe``; a
speaker writes small blocks on its own worker thread so ``stop()`` (barge-in) takes effect
within one block.

Capture from a file device may run faster than real time (tests do this); consumers must not
rely on the microphone for pacing, only on the frames' own length. Such a device hands over
seconds of audio at once, more than the microphone's buffer keeps, so the oldest of it (often
the start of what was said) would be dropped: ``Microphone(realtime=True)`` reads it no faster
than real time instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any, Protocol, Self

import numpy as np

from assistant.errors import AssistantError
from assistant.speech import audio

_LOGGER = logging.getLogger(__name__)

NO_PORTAUDIO = "sound support needs libportaudio2: apt-get install libportaudio2"
NO_SOUNDDEVICE = "sound support needs the speech extra: pip install 'facility-assistant[speech]'"
NO_MICROPHONE = "no microphone found; check the cable or `assistant check`"
NO_SPEAKER = "no speaker found; check the cable or `assistant check`"
NO_DEVICE = "no sound device found; check the cable or `assistant check`"

_END = object()  # ends a frame or chunk queue


class AudioDeviceError(AssistantError):
    """A sound device is missing, cannot be opened, or failed while in use."""

    code = "audio_device"


@dataclass(frozen=True, slots=True)
class AudioDevice:
    """One PortAudio device as ``assistant check`` and configuration show it."""

    index: int
    name: str
    inputs: int
    outputs: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False


class AudioSource(Protocol):
    """Where the kiosk's frames come from: a microphone, or memory in tests and tools."""

    def frames(self) -> AsyncIterator[bytes]:
        """Exact 30 ms frames of project PCM until the source ends or is closed."""
        ...

    async def close(self) -> None:
        """Stop producing frames; ``frames()`` ends."""
        ...


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


def _sounddevice() -> ModuleType:
    """``sounddevice``, imported late so that memory sources work without PortAudio."""
    try:
        import sounddevice
    except OSError as err:  # the wheel does not carry PortAudio itself
        raise AudioDeviceError(NO_PORTAUDIO, code="audio_unavailable") from err
    except ImportError as err:
        raise AudioDeviceError(NO_SOUNDDEVICE, code="audio_unavailable") from err
    return sounddevice


def list_devices() -> list[AudioDevice]:
    """Every device PortAudio sees, so staff can pick one by index or name."""
    sd = _sounddevice()
    try:
        found = list(sd.query_devices())
        default_in, default_out = sd.default.device
    except sd.PortAudioError as err:
        raise AudioDeviceError(NO_DEVICE, code="audio_device_missing") from err
    if not found:
        raise AudioDeviceError(NO_DEVICE, code="audio_device_missing")
    return [
        AudioDevice(
            index=int(info["index"]),
            name=str(info["name"]),
            inputs=int(info["max_input_channels"]),
            outputs=int(info["max_output_channels"]),
            default_samplerate=float(info["default_samplerate"]),
            is_default_input=info["index"] == default_in,
            is_default_output=info["index"] == default_out,
        )
        for info in found
    ]


def _device_info(sd: ModuleType, device: int | str | None, kind: str) -> dict[str, Any]:
    """The chosen (or default) device of ``kind``; one clear error when there is none."""
    missing = NO_MICROPHONE if kind == "input" else NO_SPEAKER
    channels_key = f"max_{kind}_channels"
    try:
        if device is None:
            index = sd.default.device[0 if kind == "input" else 1]
            if index is None or index < 0:
                raise AudioDeviceError(missing, code="audio_device_missing")
            info = dict(sd.query_devices(index))
        else:
            info = dict(sd.query_devices(device))
    except (ValueError, sd.PortAudioError) as err:
        named = "" if device is None else f" ({device!r})"
        raise AudioDeviceError(f"{missing}{named}", code="audio_device_missing") from err
    if info[channels_key] < 1:
        raise AudioDeviceError(
            f"{missing} ({info['name']!r} has no {kind})", code="audio_device_missing"
        )
    return info


def _device_rate(sd: ModuleType, info: dict[str, Any], kind: str, wanted: int | None) -> int:
    """16 kHz when the device takes it (no resampling), else its own default rate."""
    if wanted is not None:
        return wanted
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=info["index"], samplerate=audio.SAMPLE_RATE, channels=1, dtype="int16")
    except (ValueError, sd.PortAudioError):
        rate = round(info["default_samplerate"])
        _LOGGER.info("%s does not take 16 kHz; resampling from %d Hz", info["name"], rate)
        return rate
    return audio.SAMPLE_RATE


class _Rechunker:
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


class _CaptureClock:
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


class Microphone:
    """A PortAudio input stream as an async source of 30 ms frames.

    ``buffer_seconds`` is how far the consumer may fall behind before the oldest frames are
    dropped (a live kiosk wants the present, not a backlog). ``realtime=True`` is for capture
    devices that run faster than real time, such as an ALSA ``file`` device reading a pipe:
    without it they deliver a whole spoken answer in milliseconds and the buffer keeps only
    its end. On a live microphone it changes nothing but adding up to one device period of
    delay.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        samplerate: int | None = None,
        buffer_seconds: float = 3.0,
        realtime: bool = False,
    ) -> None:
        self.device = device
        self.samplerate = samplerate  # None: 16 kHz if the device takes it, else its own
        self.max_frames = max(1, round(buffer_seconds / audio.FRAME_SECONDS))
        # A device that captures faster than real time (an ALSA file or pipe, a loopback) is
        # read no faster than the clock, as a live microphone would deliver it.
        self.realtime = realtime
        self.dropped_frames = 0  # frames thrown away because the consumer fell behind
        self.device_overflows = 0  # blocks PortAudio itself reported as overflowed
        self._warned_drop_at = float("-inf")
        self._pacing = threading.Event()  # set on close: a pacing wait ends at once
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._stream: Any = None
        self._closing = False
        self._ended = False
        self._error: AudioDeviceError | None = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Start capturing; PortAudio's open runs in a thread (ALSA may take a while)."""
        self._loop = asyncio.get_running_loop()
        self._stream = await asyncio.to_thread(self._open_stream)

    def _open_stream(self) -> Any:
        sd = _sounddevice()
        info = _device_info(sd, self.device, "input")
        rate = _device_rate(sd, info, "input", self.samplerate)
        chunker = _Rechunker(rate)
        clock = _CaptureClock()

        def callback(data: Any, count: int, timing: Any, status: Any) -> None:
            # PortAudio's thread: copy, cut, hand over; never wait here (but see realtime).
            if status.input_overflow:
                self.device_overflows += 1
            frames = chunker.push(bytes(data))
            if frames and self._loop is not None:
                with contextlib.suppress(RuntimeError):  # the loop is already closed
                    self._loop.call_soon_threadsafe(self._push, frames)
            if self.realtime and not self._closing:
                # Waiting here holds PortAudio back from its next read of the device.
                wait = clock.captured(count / rate)
                if wait:
                    self._pacing.wait(wait)

        def finished() -> None:
            if not self._closing and self._loop is not None:
                error = AudioDeviceError(
                    f"microphone {info['name']!r} stopped", code="audio_device_failed"
                )
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._end, error)

        try:
            stream = sd.RawInputStream(
                device=info["index"],
                samplerate=rate,
                channels=1,
                dtype="int16",
                callback=callback,
                finished_callback=finished,
            )
            stream.start()
        except (ValueError, sd.PortAudioError) as err:
            raise AudioDeviceError(
                f"cannot open microphone {info['name']!r}: {err}", code="audio_device_failed"
            ) from err
        _LOGGER.info(
            "microphone %r open at %d Hz%s", info["name"], rate, ", paced" if self.realtime else ""
        )
        return stream

    def _push(self, frames: list[bytes]) -> None:
        """Loop thread: queue frames, dropping the oldest when the consumer is behind."""
        if self._ended:
            return
        dropped = self.dropped_frames
        for frame in frames:
            if self._queue.qsize() >= self.max_frames:
                self._queue.get_nowait()
                self.dropped_frames += 1
            self._queue.put_nowait(frame)
        now = time.monotonic()
        if self.dropped_frames > dropped and now - self._warned_drop_at > 5.0:
            # Lost audio explains a missed answer; say so, at most every few seconds.
            self._warned_drop_at = now
            _LOGGER.warning(
                "microphone: %d frames dropped so far: the listener fell behind, or the device "
                "runs faster than real time%s",
                self.dropped_frames,
                "" if self.realtime else " (then use realtime=True, `kiosk --realtime-input`)",
            )

    def _end(self, error: AudioDeviceError | None = None) -> None:
        if not self._ended:
            self._ended = True
            self._error = error
            self._queue.put_nowait(_END)

    async def frames(self) -> AsyncIterator[bytes]:
        """Exact 960-byte frames until ``close()``; raises if the device fails meanwhile."""
        while True:
            item = await self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            assert isinstance(item, bytes)
            yield item

    async def close(self) -> None:
        """Stop and release the device; a pending ``frames()`` ends normally."""
        self._closing = True
        self._pacing.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(_close_stream, stream)
        self._end()


def _close_stream(stream: Any) -> None:
    try:
        stream.abort()
        stream.close()
    except Exception:  # closing is best effort; the device may already be gone
        _LOGGER.warning("closing %r failed", stream, exc_info=True)


class _PlaybackState:
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


async def _iterate(chunks: AsyncIterator[bytes] | Iterable[bytes]) -> AsyncIterator[bytes]:
    """Chunks from an async or a plain iterator; a plain one may block, so it runs in a thread."""
    if isinstance(chunks, AsyncIterator):
        async for chunk in chunks:
            yield chunk
        return
    iterator = iter(chunks)
    while (chunk := await asyncio.to_thread(next, iterator, _END)) is not _END:
        assert isinstance(chunk, bytes)
        yield chunk


class _Pacer:
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


class _Playback:
    """One play or play_stream call: its chunks and its stop signal, shared with the worker."""

    def __init__(self, volume: float) -> None:
        self.volume = volume
        self.chunks: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.chunks.put(_END)  # wakes a worker waiting for the next chunk


class Speaker(_PlaybackState):
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
        sd = _sounddevice()
        info = _device_info(sd, self.device, "output")
        rate = _device_rate(sd, info, "output", self.samplerate)
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
            async for chunk in _iterate(chunks):
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
        pacer = _Pacer(self.lead + float(stream.latency))
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
            _close_stream(stream)
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
            _close_stream(stream)
