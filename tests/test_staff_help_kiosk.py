"""A staff message reaches a person at the kiosk by voice (issue 16, part S): the real kiosk
channel with real synthesis speaks it, marked as from staff, as it speaks a delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from assistant.dialog.manager import DialogManager
from assistant.speech import audio
from assistant.speech.devices.memory import MemorySink
from assistant.speech.voice_kit import build_voice
from channels.kiosk.channel import KioskChannel

pytestmark = pytest.mark.slow  # real synthesis through the kiosk in real time

KEY = "kiosk:helped"


class StaffStepIn:
    """A quiet microphone; once the kiosk has greeted, staff send a message, and the
    microphone ends when the kiosk has spoken it (or the test's time runs out)."""

    def __init__(self, kiosk: list[KioskChannel], manager: DialogManager) -> None:
        self.kiosk = kiosk
        self.manager = manager

    async def _quiet_until(self, spoken: int) -> AsyncIterator[bytes]:
        quiet = audio.silence(audio.FRAME_SECONDS)
        while len(self.kiosk[0].stats.spoken) < spoken or self.kiosk[0]._speaking():
            await asyncio.sleep(0.005)
            yield quiet

    async def frames(self) -> AsyncIterator[bytes]:
        async for frame in self._quiet_until(1):
            yield frame
        await self.manager.staff_say(KEY, "sam", "staff.sessions.to_user", text="Wait there")
        async for frame in self._quiet_until(2):
            yield frame

    async def close(self) -> None:
        """Nothing to release."""


async def test_the_kiosk_says_a_staff_message_aloud(manager: DialogManager) -> None:
    voice = build_voice()
    holder: list[KioskChannel] = []
    kiosk = KioskChannel(
        manager, source=StaffStepIn(holder, manager), sink=MemorySink(speed=8.0),
        recognizer_for=lambda language: None, synthesis=voice.synthesis, vad=voice.vad,
        session_key=KEY, language="en",
    )  # fmt: skip
    holder.append(kiosk)
    await asyncio.wait_for(kiosk.run(), 90)
    assert kiosk.stats.spoken[1:] == ["From staff: Wait there"], kiosk.stats.spoken
