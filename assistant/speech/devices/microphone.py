"""The microphone: a PortAudio input stream as an async source of exact 30 ms frames.

PortAudio runs its own threads; its callback hands frames to the event loop with
``call_soon_threadsafe``. Capture from a file device may run faster than real time (tests do
this): consumers must not rely on the microphone for pacing, only on the frames' own length,
and ``Microphone(realtime=True)`` reads such a device no faster than real time so the start of
what was said is not dropped from a full buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
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
from assistant.speech.devices.pacing import CaptureClock, Rechunker

_LOGGER = logging.getLogger(__name__)

_END = object()  # ends the frame queue


class AudioSource(Protocol):
    """Where the kiosk's frames come from: a microphone, or memory in tests and tools."""

    def frames(self) -> AsyncIterator[bytes]:
        """Exact 30 ms frames of project PCM until the source ends or is closed."""
        ...

    async def close(self) -> None:
        """Stop producing frames; ``frames()`` ends."""
        ...


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
        sd = sounddevice_module()
        info = device_info(sd, self.device, "input")
        rate = device_rate(sd, info, "input", self.samplerate)
        chunker = Rechunker(rate)
        clock = CaptureClock()

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
            await asyncio.to_thread(close_stream, stream)
        self._end()
