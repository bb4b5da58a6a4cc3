"""A web page's microphone on the server: listening on and off, paced audio, utterances.

Part of ``WebConnection`` (a mixin, so the connection's own module stays about messages and
sessions). The page streams 16 kHz PCM after ``audio_start``; audio faster than real time past
a small burst is refused (``pacing.py``), the rest is segmented (``listening.py``), and each
utterance is recognised through the channel's bounded pool and becomes a turn like typed text.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from assistant.preferences import SpeechPreferences
from assistant.speech.recognition_pool import RecognitionBusyError
from channels.web.listening import MAX_BINARY_FRAME, Listening
from channels.web.protocol import AudioEnd, AudioStart

if TYPE_CHECKING:
    from assistant.events import Turn
    from channels.web.channel import WebChannel
    from channels.web.pacing import AudioPacing

_LOGGER = logging.getLogger(__name__)

# Audio the page sent before it heard that listening ended (one round trip of frames) is the
# tail of a stream the server itself stopped, not a mistake: it is not answered.
TAIL_SECONDS = 2.0


class VoiceInput:
    """The audio half of a web connection; the connection provides what is declared here."""

    channel: WebChannel
    key: str | None
    language: str
    listening: Listening | None
    pacing: AudioPacing
    stopped_listening: float

    if TYPE_CHECKING:

        async def send_json(self, message: dict[str, object]) -> None: ...
        async def error(self, key: str, **params: str) -> None: ...
        async def notice(self, key: str, **params: str) -> None: ...
        async def _within_budget(self) -> bool: ...
        async def _count_against_budget(self) -> None: ...
        async def _turn(self, turn: Turn) -> None: ...

    async def _audio_start(self, message: AudioStart) -> None:
        assert self.key is not None
        session = await self.channel.manager.session(self.key)
        language = session.language if session is not None else self.language
        if self.channel.recognizer_for(language) is None:
            self.listening = None
            await self.notice("no_recognizer")
            await self.send_json({"type": "listening", "active": False})
            return
        silence = SpeechPreferences.from_preferences(
            session.preferences if session else None
        ).silence
        self.channel.prepare_recognition(language)
        self.listening = Listening(
            self.channel.new_vad(), message.mode, silence, self.channel.max_utterance_s
        )
        await self.send_json({"type": "listening", "active": True})

    async def _audio_end(self, message: AudioEnd) -> None:
        listening, self.listening = self.listening, None
        if listening is None:
            # Pressing stop just after the server ended listening itself is not a mistake.
            if self.channel.clock() - self.stopped_listening >= TAIL_SECONDS:
                await self.error("not_listening")
            return
        self.stopped_listening = self.channel.clock()
        await self.send_json({"type": "listening", "active": False})
        for utterance in listening.finish():
            await self._utterance(utterance)
        self.stopped_listening = self.channel.clock()

    async def _audio(self, data: bytes) -> None:
        if self.listening is None or self.key is None:
            # Stray audio counts against the budget like any message: each frame is answered,
            # and a page that streams on regardless is closed with the reason.
            tail = self.channel.clock() - self.stopped_listening < TAIL_SECONDS
            if await self._within_budget() and not tail:
                await self.error("binary_unexpected")
            return
        if len(data) > MAX_BINARY_FRAME:
            await self.error("too_large")
            return
        if not self.pacing.take(len(data)) or not await self.pacing.take_shared(len(data)):
            await self._refuse_audio()
            return
        listening = self.listening
        for utterance in listening.feed(data):
            if listening.mode == "once":
                self.listening = None
                self.stopped_listening = self.channel.clock()
                await self.send_json({"type": "listening", "active": False})
            started = time.monotonic()
            await self._utterance(utterance)
            # The page went on streaming while this socket was not read: that audio arrives
            # at once now and was real time, so it is not refused.
            self.pacing.credit(time.monotonic() - started)
            if self.listening is None:  # the tail is counted from after recognition
                self.stopped_listening = self.channel.clock()
                break

    async def _refuse_audio(self) -> None:
        """Audio faster than real time past the burst: dropped, not queued. The first of a
        streak is answered; each counts against the message budget, so a client that goes on
        is closed with the reason, as a text flood is."""
        if self.pacing.refused():
            await self.error("audio_too_fast")
        await self._count_against_budget()

    async def _utterance(self, pcm: bytes) -> None:
        assert self.key is not None
        try:
            heard = await self.channel.hear(self.key, pcm, self.language)
        except RecognitionBusyError as err:
            _LOGGER.info("%s: %s", self.key, err)
            await self.error("recognition_busy")
            return
        if heard is None:
            await self.notice("no_recognizer")
            return
        if not heard.heard_something:
            return  # a cough or a door: nothing was said
        say = self.channel.phrases.say(heard.language, "web.heard", text=heard.text)
        confidence = heard.recognition.confidence
        await self.send_json(
            {"type": "heard", "text": heard.text, "confidence": confidence, "say": say}
        )
        await self._turn(heard.turn)
