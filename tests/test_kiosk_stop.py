"""Ctrl-C stops the kiosk: cancelling its task ends it, whatever it was waiting for, and
leaves the speaker stopped (``assistant kiosk`` turns Ctrl-C into exactly this cancellation)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from assistant.dialog.manager import DialogManager
from assistant.speech import audio
from assistant.speech.devices.memory import MemorySink, MemorySource
from assistant.speech.voice_kit import VoiceKit, build_voice
from channels.kiosk.channel import KioskChannel


class EndingMicrophone(MemorySource):
    """A short recording that says when it has ended."""

    def __init__(self, pcm: bytes) -> None:
        super().__init__(pcm)
        self.ended = asyncio.Event()

    async def frames(self) -> AsyncIterator[bytes]:
        async for frame in super().frames():
            yield frame
        self.ended.set()


@pytest.fixture(scope="module")
def voice() -> VoiceKit:
    return build_voice()


async def test_cancelling_the_kiosk_while_it_waits_for_its_speech_stops_it(
    manager: DialogManager, voice: VoiceKit
) -> None:
    """The microphone has ended and the greeting is still playing (in real time): the kiosk
    waits for it, and Ctrl-C then must stop the kiosk, not just the greeting."""
    sink = MemorySink(speed=1.0)
    microphone = EndingMicrophone(audio.silence(0.3))
    kiosk = KioskChannel(
        manager, source=microphone, sink=sink,
        recognizer_for=voice.recognizer_for, synthesis=voice.synthesis, vad=voice.vad,
        session_key="kiosk:stop", language="en",
    )  # fmt: skip
    task = asyncio.create_task(kiosk.run())
    async with asyncio.timeout(60):
        await microphone.ended.wait()  # from here the kiosk waits for the greeting to end
    assert sink.is_playing and not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(30):
            await task
    assert task.cancelled()
    assert not sink.is_playing
