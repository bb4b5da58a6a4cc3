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
import time
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.events import Turn
from assistant.ports import Recognition, SpeechToText
from assistant.speech.recognition import recognize
from assistant.speech.recognition_pool import RecognitionPool
from assistant.speech.routing import SURE
from assistant.speech.sound_match import distinct_clauses, match, sound_key, whole_likeness
from assistant.telemetry import NO_TELEMETRY, Telemetry, error_code
from assistant.understanding.expectation import Expectation

_LOGGER = logging.getLogger(__name__)
# How much the whole answer must sound like the phrase to be taken as it (a free answer
# holding a phrase's words, "make the title bigger", stays as heard).
WHOLE = 0.75


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
    telemetry: Telemetry = NO_TELEMETRY,
) -> VoiceTurn:
    """Recognise ``pcm`` in the expected language, listening for the expected phrases (all
    words when the question is free), off the event loop; errors of the engine propagate,
    so each channel decides how to tell its user. With a ``pool`` (the web chat, where any
    number of clients speak at once) recognition is bounded by it and may be refused with
    ``RecognitionBusyError``; without one it runs in a thread, as the kiosk and Telegram do.
    ``telemetry`` hears the confidence the dialog gets and the time recognition took, or the
    error's code."""
    grammar = None if expectation.free else expectation.phrases
    started = time.perf_counter()
    try:
        if pool is not None:
            result = await pool.recognize(recognizer, expectation.language, grammar, pcm)
        else:
            result = await asyncio.to_thread(
                recognize, recognizer, expectation.language, grammar, pcm
            )
    except Exception as err:
        telemetry.error(error_code(err))
        raise
    seconds = time.perf_counter() - started
    if expectation.free and expectation.phrases:
        result = matched_by_sound(result, expectation.phrases, expectation.language)
    engine = result.engine or recognizer.name
    telemetry.recognition(engine, expectation.language, result.confidence, seconds)
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


def matched_by_sound(result: Recognition, phrases: Sequence[str], language: str) -> Recognition:
    """Free words heard where a few phrases are also expected (after delivery: the three
    choices, the commands, and any edit in one's own words): the phrase when the whole answer
    sounds like one ("Finish", heard freely as "Finnish"), else the words as heard.

    Only the whole answer counts, never a phrase inside a longer one: "make the title bigger"
    holds a command's word, and a closed grammar forced 「色を緑にして」 onto 「日本語にして」
    (a language switch). Listening freely heard every edit right, and the choices too."""
    text = result.text.strip()
    if not text or distinct_clauses(text, language) > 1:
        return result
    found = match(text, phrases, language)
    if found is None or found.confidence < SURE:
        return result
    if whole_likeness(sound_key(text, language), sound_key(found.phrase, language)) < WHOLE:
        return result
    confidence = max(found.confidence, result.confidence)
    return Recognition(found.phrase, confidence, ((found.phrase, confidence),), result.engine)
