"""Turns a stream of frames marked speech / not speech into utterances.

A pure state machine in the style of Home Assistant's ``VoiceCommandSegmenter``: no I/O, no
voice activity detector of its own. The caller marks each 30 ms frame (``WebRtcVad`` or
anything implementing ``VoiceActivityDetector``) and feeds it here; the segmenter says when an
utterance starts and hands back its audio when the user has been quiet for ``silence_seconds``
(the user's own setting, changeable between turns) or when it grows longer than
``max_seconds``.

All time is counted in samples of the project format (16 kHz), so a setting of 0.25 s means
exactly 4,000 samples and never drifts with float rounding; ``at`` in events is the number of
seconds of audio processed since the start (or the last ``reset()``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from assistant.preferences import SILENCE
from assistant.speech.audio import SAMPLE_RATE, SAMPLE_WIDTH

# The user's end-of-speech silence: its range and default live with the other speech settings.
SILENCE_MIN = SILENCE.low
SILENCE_MAX = SILENCE.high
SILENCE_DEFAULT = SILENCE.default

EndReason = Literal["silence", "max_length", "end_of_audio"]


def clamp_silence_seconds(seconds: float) -> float:
    """The nearest allowed end-of-speech silence, for callers that adjust it by steps."""
    return SILENCE.clamp(seconds)


def _samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Enough speech was heard to call it an utterance (used for barge-in and the screen)."""

    at: float


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """The utterance is over: its PCM (with pre-roll, trailing silence trimmed) and why."""

    audio: bytes
    at: float
    reason: EndReason

    @property
    def seconds(self) -> float:
        """Length of ``audio`` in seconds."""
        return len(self.audio) / (SAMPLE_RATE * SAMPLE_WIDTH)


SegmentEvent = SpeechStarted | SpeechEnded

_VALIDATED = frozenset(
    {"silence_seconds", "start_seconds", "max_seconds", "pre_roll_seconds", "trailing_seconds"}
)


@dataclass
class Segmenter:
    """Finds utterances in marked frames; settings are validated whenever they are set."""

    silence_seconds: float = SILENCE_DEFAULT
    """Quiet needed after speech before the utterance ends (0.25 to 5.0 s)."""
    start_seconds: float = 0.09
    """Continuous speech needed before an utterance starts, so clicks and knocks are ignored."""
    max_seconds: float = 15.0
    """Longest utterance, counted from its first speech frame; then it is cut."""
    pre_roll_seconds: float = 0.3
    """Audio kept from before the start, so the first syllable reaches the recogniser."""
    trailing_seconds: float = 0.2
    """Silence left at the end of a delivered utterance (recognisers like a little)."""

    _clock: int = field(default=0, init=False, repr=False)
    _pre: deque[bytes] = field(default_factory=deque, init=False, repr=False)
    _pre_samples: int = field(default=0, init=False, repr=False)
    _run: list[bytes] = field(default_factory=list, init=False, repr=False)
    _run_samples: int = field(default=0, init=False, repr=False)
    _utterance: list[bytes] = field(default_factory=list, init=False, repr=False)
    _speech_samples: int = field(default=0, init=False, repr=False)
    _quiet_samples: int = field(default=0, init=False, repr=False)
    _in_speech: bool = field(default=False, init=False, repr=False)

    def __setattr__(self, name: str, value: object) -> None:
        """Checks every setting on construction and on later change (between turns)."""
        if name in _VALIDATED:
            value = self._check(name, value)
        object.__setattr__(self, name, value)

    @staticmethod
    def _check(name: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{name} must be a number of seconds, not {value!r}")
        seconds = float(value)
        low, high = {
            "silence_seconds": (SILENCE_MIN, SILENCE_MAX),
            "start_seconds": (0.0, 1.0),
            "max_seconds": (1.0, 300.0),
            "pre_roll_seconds": (0.0, 2.0),
            "trailing_seconds": (0.0, 1.0),
        }[name]
        if not low <= seconds <= high:
            raise ValueError(f"{name} must be between {low:g} and {high:g} seconds, not {value!r}")
        return seconds

    # -- state ------------------------------------------------------------------------------

    @property
    def in_speech(self) -> bool:
        """Whether an utterance has started and not ended yet."""
        return self._in_speech

    @property
    def elapsed(self) -> float:
        """Seconds of audio processed since the start or the last ``reset()``."""
        return self._clock / SAMPLE_RATE

    def reset(self) -> None:
        """Forget everything heard (e.g. after the assistant spoke with the microphone gated)."""
        self._clock = 0
        self._clear_idle()
        self._end_utterance()

    def _clear_idle(self) -> None:
        self._pre.clear()
        self._pre_samples = 0
        self._run = []
        self._run_samples = 0

    def _end_utterance(self) -> None:
        self._utterance = []
        self._speech_samples = 0
        self._quiet_samples = 0
        self._in_speech = False

    # -- processing -------------------------------------------------------------------------

    def process(self, frame: bytes, is_speech: bool) -> list[SegmentEvent]:
        """Feed one frame and its mark; returns what happened (usually nothing)."""
        samples = len(frame) // SAMPLE_WIDTH
        self._clock += samples
        if self._in_speech:
            return self._process_in_speech(frame, samples, is_speech)
        return self._process_idle(frame, samples, is_speech)

    def _process_idle(self, frame: bytes, samples: int, is_speech: bool) -> list[SegmentEvent]:
        if not is_speech:
            # A click too short to start: it becomes part of the pre-roll history.
            for old in self._run:
                self._remember(old)
            self._run = []
            self._run_samples = 0
            self._remember(frame)
            return []
        self._run.append(frame)
        self._run_samples += samples
        if self._run_samples < _samples(self.start_seconds):
            return []
        self._utterance = [*self._pre, *self._run]
        self._speech_samples = self._run_samples
        self._quiet_samples = 0
        self._in_speech = True
        self._clear_idle()
        return [SpeechStarted(at=self.elapsed)]

    def _remember(self, frame: bytes) -> None:
        self._pre.append(frame)
        self._pre_samples += len(frame) // SAMPLE_WIDTH
        limit = _samples(self.pre_roll_seconds)
        while self._pre and self._pre_samples > limit:
            self._pre_samples -= len(self._pre.popleft()) // SAMPLE_WIDTH

    def _process_in_speech(self, frame: bytes, samples: int, is_speech: bool) -> list[SegmentEvent]:
        self._utterance.append(frame)
        self._speech_samples += samples
        if is_speech:
            self._quiet_samples = 0
        else:
            self._quiet_samples += samples
            if self._quiet_samples >= _samples(self.silence_seconds):
                return [self._finish("silence")]
        if self._speech_samples >= _samples(self.max_seconds):
            return [self._finish("max_length")]
        return []

    def flush(self) -> list[SegmentEvent]:
        """End a running utterance because the audio stopped (microphone closed, file ended)."""
        if not self._in_speech:
            self._clear_idle()
            return []
        return [self._finish("end_of_audio")]

    def _finish(self, reason: EndReason) -> SpeechEnded:
        audio = b"".join(self._utterance)
        keep = _samples(self.trailing_seconds)
        extra = self._quiet_samples - keep
        if extra > 0:
            audio = audio[: len(audio) - extra * SAMPLE_WIDTH]
        event = SpeechEnded(audio=audio, at=self.elapsed, reason=reason)
        self._end_utterance()
        self._clear_idle()
        return event
