"""The kiosk channel: microphone → voice activity → recogniser → dialog → synthesis → speaker.

The dialog decides everything; this adapter only turns sound into turns and replies into sound.
Playback runs as its own task so the microphone is watched while the assistant speaks:

* Gating. While the assistant speaks (and briefly after), microphone frames do not reach the
  segmenter, so its own voice coming back through the microphone never becomes a turn.
* Barge-in. Speech clearly louder than the assistant's own echo for a few frames stops
  playback at once and becomes the next turn, with the frames heard so far kept as its
  beginning. "Stop" / 「ストップ」 is such speech too. The echo level is measured from the
  microphone during playback, and bounded from below by what is playing (the kiosk knows the
  audio: the echo is taken to be up to ``echo_gain`` times its loudest frame), so barge-in
  works from the first frame of playback and a soft start does not lower the bar.
* Silence. No time limits: after a quiet while the question is offered again gently, after a
  long one the session pauses; "continue" resumes it, and anyone else who speaks is taken for
  the next person.
* People. The kiosk is a seat (``assistant/dialog/seat.py``): each person gets a session and a
  code of their own, so nothing of one person reaches the next.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.dialog.manager import DialogManager
from assistant.dialog.seat import Seat
from assistant.events import Reply, ReplyKind, SessionState, Turn, TurnEvent
from assistant.jobs.phrases import Phrases
from assistant.ports import SpeechToText, VoiceActivityDetector
from assistant.preferences import SpeechPreferences
from assistant.speech.audio import FRAME_SAMPLES, FRAME_SECONDS, duration
from assistant.speech.devices.microphone import AudioSource
from assistant.speech.devices.speaker import AudioSink
from assistant.speech.segmenter import Segmenter, SpeechEnded
from assistant.speech.synthesis import SpeechSynthesis
from assistant.speech.voice_turn import hear
from channels.kiosk.pictures import KioskPictures

_LOGGER = logging.getLogger(__name__)

CHANNEL = "kiosk"
# The most of the played sound a room brings back into the microphone (speaker and microphone
# a metre apart, a stand-alone kiosk): the echo bound before anything is measured.
ECHO_GAIN = 0.25
BARGE_IN_FRAMES = 2  # loud speech frames in a row (60 ms) that interrupt playback
RMS_FLOOR = 300.0  # below this a frame is too quiet to interrupt anything
PRE_ROLL_FRAMES = 10
# Frames before the interrupting one that start the user's turn. More would keep a word's soft
# start (the "s" of "stop") but also more of the assistant's own echo, which PocketSphinx then
# forces onto a phrase of the grammar ("about"): three keep "number two" whole.
ONSET_FRAMES = 3


def rms(frame: bytes) -> float:
    """Loudness of a frame, in 16-bit sample units."""
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
    return float(math.sqrt(np.mean(samples * samples))) if len(samples) else 0.0


def _peak_rms(pcm: bytes) -> float:
    """The loudness of the loudest 30 ms frame of ``pcm``."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    count = len(samples) // FRAME_SAMPLES
    if not count:
        return rms(pcm[: len(pcm) // 2 * 2])
    frames = samples[: count * FRAME_SAMPLES].reshape(count, FRAME_SAMPLES)
    return float(np.sqrt(np.mean(frames * frames, axis=1)).max())


@dataclass
class KioskStats:
    """What happened, for tests, tools and the benchmark."""

    turns: list[str] = field(default_factory=list)
    spoken: list[str] = field(default_factory=list)
    barge_ins: int = 0
    ignored_while_speaking: int = 0
    reprompts: int = 0
    end_of_speech_to_reply: list[float] = field(default_factory=list)


class KioskChannel:
    """One kiosk: a microphone, a speaker and a session."""

    def __init__(
        self,
        manager: DialogManager,
        *,
        source: AudioSource,
        sink: AudioSink,
        recognizer_for: Callable[[str], SpeechToText | None],
        synthesis: SpeechSynthesis,
        vad: VoiceActivityDetector,
        session_key: str = "kiosk:local",
        language: str | None = None,
        reprompt_after: float = 20.0,
        pause_after: float = 120.0,
        barge_in_ratio: float = 2.0,
        echo_gain: float = ECHO_GAIN,
        gate_tail: float = 0.3,
        stop_when_ended: bool = True,
        phrases: Phrases | None = None,
        pictures: KioskPictures | None = None,
    ) -> None:
        self.manager = manager
        self.pictures = pictures  # the kiosk's own pictures for photo questions (issue 15)
        self.source = source
        self.sink = sink
        self.recognizer_for = recognizer_for
        self.synthesis = synthesis
        self.vad = vad
        self.seat = Seat(manager, session_key)  # ``session_key`` names the seat
        self.language = language
        self.reprompt_frames = round(reprompt_after / FRAME_SECONDS)
        self.pause_frames = round(pause_after / FRAME_SECONDS)
        self.barge_in_ratio = barge_in_ratio
        self.echo_gain = echo_gain
        self.gate_tail = gate_tail
        self.stop_when_ended = stop_when_ended
        self.phrases = phrases or manager.writer.phrases
        self.segmenter = Segmenter()
        self.stats = KioskStats()
        self._playback: asyncio.Task[bool] | None = None
        self._recent: deque[tuple[bytes, bool]] = deque(maxlen=PRE_ROLL_FRAMES)
        self._echo: list[float] = []
        self._played_peak = 0.0  # the loudest frame handed to the speaker in this playback
        self._loud = 0
        self._quiet_frames = 0
        self._silence_sent = 0
        self._state = SessionState.WELCOME
        self._language = language or ""
        self._lock = asyncio.Lock()
        self._interrupted = False
        self._deaf_announced: set[str] = set()  # languages already told "I cannot listen"
        self._failures_logged: set[tuple[str, str]] = set()  # (stage, error type) with traceback

    # -- life cycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Greet, then listen until the source ends or the session finishes."""
        self.manager.add_listener(CHANNEL, self._on_unsolicited)
        try:
            greeting = await self.seat.resume(CHANNEL, self.language)
            if greeting and self.recognizer_for(greeting[-1].language) is None:
                greeting.append(self._cannot_listen(greeting[-1].language))
            await self._respond(greeting)
            async for frame in self.source.frames():
                await self._frame(frame)
                if (
                    self.stop_when_ended
                    and self._state == SessionState.ENDED
                    and not self._speaking()
                ):
                    break
            await self._finish_playback()
        finally:
            # Ctrl-C (a cancellation) or the end: the speaker stops and no playback outlives us.
            self.manager.remove_listener(CHANNEL)
            self.sink.stop()
            if self._playback is not None and not self._playback.done():
                self._playback.cancel()

    @property
    def session_key(self) -> str:
        """The session of the person at the kiosk now."""
        return self.seat.key

    async def _on_unsolicited(self, session_key: str, replies: list[Reply]) -> None:
        if session_key == self.seat.key:
            await self._respond(replies)

    # -- listening --------------------------------------------------------------------------

    def _speaking(self) -> bool:
        """Whether the microphone is gated: playing, or just finished (room echo dies out)."""
        if self._interrupted:
            return False
        playback_pending = self._playback is not None and not self._playback.done()
        return playback_pending or self.sink.should_gate_microphone(self.gate_tail)

    async def _frame(self, frame: bytes) -> None:
        speech = self.vad.is_speech(frame)
        if self._speaking():
            if not self._barge_in(frame, speech):
                self._recent.append((frame, speech))
                return
            # The onset of what interrupted us (older frames hold mostly our own echo).
            for old, was_speech in list(self._recent)[-ONSET_FRAMES:]:
                await self._segment(old, was_speech)
            self._recent.clear()
        else:
            self._echo.clear()
            self._loud = 0
        await self._segment(frame, speech)

    def _barge_in(self, frame: bytes, speech: bool) -> bool:
        """Whether this frame, heard while speaking, is the user talking over the assistant.

        The assistant's own voice reaches the microphone at a level that stays within a range
        for the whole playback; a person talking into the microphone is clearly above it.
        """
        level = rms(frame)
        echo = self._echo_level()
        loud = speech and level > max(RMS_FLOOR, self.barge_in_ratio * echo)
        self._loud = self._loud + 1 if loud else 0
        if not loud:
            self._echo.append(level)
        if self._loud < BARGE_IN_FRAMES:
            self.stats.ignored_while_speaking += 1
            return False
        _LOGGER.info(
            "barge-in: the user spoke over the assistant (level %.0f, echo %.0f)", level, echo
        )
        self.stats.barge_ins += 1
        self.sink.stop()
        self._loud = 0
        self._interrupted = True  # what follows is the user's turn, not echo
        return True

    def _echo_level(self) -> float:
        """How loud the assistant's own voice can be in the microphone right now.

        Measured from the microphone, and never below ``echo_gain`` times the loudest frame
        handed to the speaker: the few frames measured early in playback, or in a reply that
        starts softly, say little about its loud syllables to come.
        """
        measured = 0.0
        if self._echo:
            ordered = sorted(self._echo)
            measured = ordered[int(0.9 * (len(ordered) - 1))]
        return max(measured, self.echo_gain * self._played_peak)

    async def _segment(self, frame: bytes, speech: bool) -> None:
        for event in self.segmenter.process(frame, speech):
            if isinstance(event, SpeechEnded):
                self._quiet_frames = 0
                await self._utterance(event.audio)
        if self.segmenter.in_speech or self._speaking():
            self._quiet_frames = 0
            return
        self._quiet_frames += 1
        if self._state in (SessionState.ENDED, SessionState.GENERATING):
            return
        if self._language in self._deaf_announced:  # asking again is pointless: it cannot hear
            return
        if self._quiet_frames == self.pause_frames:
            await self._event(TurnEvent.LONG_SILENCE)
        elif (
            self._quiet_frames % self.reprompt_frames == 0
            and self._quiet_frames < self.pause_frames
        ):
            self.stats.reprompts += 1
            await self._event(TurnEvent.SILENCE)

    async def _event(self, event: TurnEvent) -> None:
        turn = Turn(session_key=self.session_key, text="", channel=CHANNEL, event=event)
        await self._respond(await self.seat.handle(turn))

    async def _utterance(self, pcm: bytes) -> None:
        loop = asyncio.get_running_loop()
        ended = loop.time()
        expectation = await self.seat.expectation(self.language)
        language = expectation.language
        recognizer = self.recognizer_for(language)
        if recognizer is None:  # said once, at start-up or on switching language
            if language not in self._deaf_announced:
                await self._respond([self._cannot_listen(language)])
            else:
                _LOGGER.debug(
                    "no recogniser for %s: %.1f s of speech unheard", language, duration(pcm)
                )
            return
        try:
            heard = await hear(
                recognizer,
                expectation,
                pcm,
                session_key=self.session_key,
                channel=CHANNEL,
                telemetry=self.manager.telemetry,
            )
        except Exception as err:  # the recognition stage's boundary: the kiosk keeps running
            self._log_failure("recognition", err, f"{recognizer.name} for {language}")
            await self._respond([self._sentence("kiosk.recognition_failed", language)])
            return
        if not heard.heard_something:  # a cough, a door: nothing was said
            _LOGGER.info("heard nothing in %.1f s of sound (%s)", duration(pcm), heard.engine)
            return
        self.stats.turns.append(heard.text)
        turn = await self.pictures.turn_for(heard.turn) if self.pictures else heard.turn
        replies = await self.seat.handle(turn)
        self.stats.end_of_speech_to_reply.append(loop.time() - ended)
        await self._respond(replies)

    def _cannot_listen(self, language: str) -> Reply:
        """One plain sentence, once per language: this kiosk cannot understand speech in it."""
        self._deaf_announced.add(language)
        _LOGGER.error(
            "no speech recogniser for %s: the kiosk cannot listen (run `assistant check`)",
            language,
        )
        return self._sentence("kiosk.no_recognizer", language)

    def _sentence(self, key: str, language: str) -> Reply:
        """A kiosk sentence of the locale files, as a reply that keeps the dialog's state."""
        text = self.phrases.say(language, key)
        return Reply(ReplyKind.PROBLEM, text, text, language, self._state)

    def _log_failure(self, stage: str, err: Exception, what: str) -> None:
        """The traceback the first time a stage fails this way; one line after that."""
        key = (stage, type(err).__name__)
        if key in self._failures_logged:
            _LOGGER.warning("%s failed again (%s): %s", stage, what, err)
            return
        self._failures_logged.add(key)
        _LOGGER.error("%s failed (%s): %s", stage, what, err, exc_info=err)

    # -- speaking ---------------------------------------------------------------------------

    async def _respond(self, replies: list[Reply]) -> None:
        if not replies:
            return
        if self.pictures is not None:
            replies = self.pictures.offer(replies)
        self._state = replies[-1].state
        self._language = replies[-1].language
        text = " ".join(r.speech for r in replies if r.speech)
        async with self._lock:
            await self._finish_playback(interrupt=True)
            if not text:
                return
            session = await self.manager.session(self.session_key)
            speech = SpeechPreferences.from_preferences(session.preferences if session else None)
            language = replies[-1].language
            rate, volume = speech.rate, speech.volume
            # The user's own end-of-speech silence, kept with their session.
            self.segmenter.silence_seconds = speech.silence
            self.stats.spoken.append(text)
            self._echo.clear()
            self._played_peak = 0.0
            self._interrupted = False
            self._playback = asyncio.create_task(
                self.sink.play_stream(self._sentences(text, language, rate, volume), volume=volume)
            )

    async def _sentences(
        self, text: str, language: str, rate: float, volume: float
    ) -> AsyncIterator[bytes]:
        """Synthesis one sentence at a time, off the event loop, as playback needs it."""
        iterator = self.synthesis.iter_sentences(text, language, rate)
        sentinel = object()
        while True:
            try:
                chunk = await asyncio.to_thread(next, iterator, sentinel)
            except Exception as err:  # the synthesis stage's boundary: say what can be said
                self._log_failure("synthesis", err, f"{language}: {text[:60]!r}")
                return
            if chunk is sentinel:
                return
            assert isinstance(chunk, bytes)
            # Known before the speaker plays it: the echo bound covers it from its first frame.
            self._played_peak = max(self._played_peak, volume * _peak_rms(chunk))
            yield chunk

    async def _finish_playback(self, interrupt: bool = False) -> None:
        if self._playback is None:
            return
        if interrupt:
            self.sink.stop()
        try:
            await self._playback
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the kiosk itself is being stopped (Ctrl-C): let it through
            # Only the playback was cancelled: the kiosk goes on listening.
        except Exception as err:  # a speaker that failed must not stop the kiosk listening
            self._log_failure("playback", err, "speaker")
        self._playback = None
