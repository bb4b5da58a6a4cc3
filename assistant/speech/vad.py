"""Voice activity with webrtcvad, and a helper that cuts a whole buffer into utterances.

webrtcvad takes 10, 20 or 30 ms frames at 8-48 kHz; the project only ever passes 30 ms of
16 kHz 16-bit mono (960 bytes), so anything else is a bug upstream and is refused with a
message that says what was expected, instead of webrtcvad's bare ``Error``.
"""

from __future__ import annotations

import logging

import webrtcvad

from assistant.ports import VoiceActivityDetector
from assistant.speech.audio import FRAME_BYTES, SAMPLE_RATE, frames
from assistant.speech.segmenter import Segmenter, SpeechEnded

_LOGGER = logging.getLogger(__name__)


class WebRtcVad:
    """``VoiceActivityDetector`` on webrtcvad; mode 0 (lenient) to 3 (strict), default 2."""

    name = "webrtcvad"

    def __init__(self, mode: int = 2, warm_up_frames: int = 10) -> None:
        """Mode 2 marks Piper speech and room silence correctly (FACTS.md)."""
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 3:
            raise ValueError(f"webrtcvad aggressiveness must be 0, 1, 2 or 3, not {mode!r}")
        if warm_up_frames < 0:
            raise ValueError(f"warm_up_frames must not be negative, not {warm_up_frames!r}")
        self.mode = mode
        self.warm_up_frames = warm_up_frames
        self._vad = webrtcvad.Vad(mode)
        self._seen = 0

    def reset(self) -> None:
        """Start afresh (a new microphone stream): webrtcvad re-learns the room's noise."""
        self._vad = webrtcvad.Vad(self.mode)
        self._seen = 0

    def is_speech(self, frame: bytes) -> bool:
        """Whether this 30 ms frame holds speech."""
        if len(frame) != FRAME_BYTES:
            raise ValueError(
                "a frame must be 30 ms of 16 kHz 16-bit mono audio "
                f"({FRAME_BYTES} bytes), not {len(frame)} bytes"
            )
        speech = self._vad.is_speech(frame, SAMPLE_RATE)
        if self._seen < self.warm_up_frames:
            # webrtcvad marks the first 3 frames of any steady noise as speech while its
            # noise estimate adapts; a fresh stream must not start with a phantom utterance.
            self._seen += 1
            return False
        return speech


def segment(
    pcm: bytes, vad: VoiceActivityDetector, segmenter: Segmenter | None = None
) -> list[bytes]:
    """Every utterance in a whole buffer of project PCM (for tests, tools and voice notes)."""
    segmenter = segmenter if segmenter is not None else Segmenter()
    utterances: list[bytes] = []
    for frame in frames(pcm):
        for event in segmenter.process(frame, vad.is_speech(frame)):
            if isinstance(event, SpeechEnded):
                _LOGGER.debug("utterance of %.2f s (%s)", event.seconds, event.reason)
                utterances.append(event.audio)
    for event in segmenter.flush():
        if isinstance(event, SpeechEnded):
            _LOGGER.debug("utterance of %.2f s (%s)", event.seconds, event.reason)
            utterances.append(event.audio)
    return utterances
