"""One voice turn, the same for every channel: an utterance, the phrases the question expects,
the recogniser in a worker thread, and a ``Turn`` carrying what was heard and how sure it is.

The kiosk (its microphone), the web chat (a page's stream) and Telegram (a voice note) differ
only in where the utterance comes from and how they say what was heard; what the dialog gets
from them must not differ, or the same answer would be kept by one channel and read back by
another. Recognition blocks (Vosk, PocketSphinx), so it never runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from assistant.events import Turn
from assistant.ports import Recognition, SpeechToText
from assistant.speech.recognition import recognize
from assistant.speech.recognition_pool import RecognitionPool
from assistant.understanding.expectation import Expectation

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VoiceTurn:
    """What one utterance became: the recogniser's result and the turn for the dialog."""

    recognition: Recognition
    turn: Turn
    engine: str  # the recogniser that heard it
    language: str  # the language it was heard in (the question's, not always the session's)

    @property
    def text(self) -> str:
        """What was heard (empty when nothing was: a cough, a door)."""
        return self.recognition.text

    @property
    def heard_something(self) -> bool:
        """Whether any words were recognised; a channel ignores or re-asks when not."""
        return bool(self.recognition.text.strip())


async def hear(
    recognizer: SpeechToText,
    expectation: Expectation,
    pcm: bytes,
    *,
    session_key: str,
    channel: str,
    language: str | None = None,
    pool: RecognitionPool | None = None,
) -> VoiceTurn:
    """Recognise ``pcm`` in the expected language, listening for the expected phrases (all
    words when the question is free), off the event loop; errors of the engine propagate,
    so each channel decides how to tell its user. With a ``pool`` (the web chat, where any
    number of clients speak at once) recognition is bounded by it and may be refused with
    ``RecognitionBusyError``; without one it runs in a thread, as the kiosk and Telegram do."""
    if pool is not None:
        result = await pool.recognize(recognizer, expectation.language, expectation.phrases, pcm)
    else:
        result = await asyncio.to_thread(
            recognize, recognizer, expectation.language, expectation.phrases, pcm
        )
    engine = result.engine or recognizer.name
    _LOGGER.info(
        "%s heard %r (confidence %.2f, %s)", channel, result.text, result.confidence, engine
    )
    turn = Turn(
        session_key=session_key,
        text=result.text,
        language=language,
        channel=channel,
        confidence=result.confidence,
    )
    return VoiceTurn(result, turn, engine, expectation.language)
