"""Edits after delivery said aloud, in a noisy room, through the real voice turn with what the
dialog expects after delivery (the three choices and the commands, heard freely and matched by
sound only as a whole): the speech of Kokoro (Japanese) and Piper (English), heard by
faster-whisper, then read by the edit tables; the choices said aloud are still the choices."""

from __future__ import annotations

import asyncio
import datetime

import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.dialog.flow import DialogFlow
from assistant.dialog.replies import ReplyWriter
from assistant.events import SessionState
from assistant.jobs.phrases import load_phrases
from assistant.ports import SpeechToText
from assistant.session import Session
from assistant.speech.routing import recognizer_for
from assistant.speech.voice_kit import build_recognizers
from assistant.speech.voice_turn import hear
from assistant.understanding.edits import AnswerEdit, LookEdit, UndoEdit, understand_edit
from assistant.understanding.expectation import Expectation
from assistant.understanding.interpret import match_choice
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
    expectation = after_delivery(language)
    assert expectation.free and expectation.phrases
    turn = asyncio.run(hear(recognizer, expectation, pcm, session_key="t", channel="kiosk"))
    assert understand_edit(job, turn.text, language, TODAY, looks=True) == expected, turn.text


def after_delivery(language: str, share_kinds: tuple[str, ...] = ()) -> Expectation:
    """What the dialog listens for once the café page was delivered, as the kiosk asks it
    (``share_kinds``: where the facility offers publishing and sending, issue 16)."""
    jobs = corpus.catalog()
    writer = ReplyWriter(
        load_phrases(PROJECT_ROOT / "dialogs" / "locales"), share_kinds=share_kinds
    )
    flow = DialogFlow(jobs, writer.delivered_question, writer.make_words)
    session = Session(key="t", language=language, channel="kiosk")
    session.state, session.job_id = SessionState.DELIVERED, "cafe_page"
    return flow.expectation(session)


CHOICES = [
    ("ja", "終わります", "finish"),
    ("ja", "別のものを作る", "another"),
    ("en", "Finish.", "finish"),
    ("en", "Make something else.", "another"),
]


SHARING = ("publish", "send")
# Where the facility offers publishing and sending (issue 16), those two choices said aloud.
SHARE_CHOICES = [
    ("ja", "ホームページに公開して", "publish"),
    ("ja", "メールで送って", "send"),
    ("ja", "公開", "publish"),
    ("en", "Put it on the web.", "publish"),
    ("en", "Send it by e-mail.", "send"),
    ("en", "Publish.", "publish"),
]


@pytest.mark.parametrize(
    ("language", "words", "choice", "sharing"),
    [*((*row, ()) for row in CHOICES), *((*row, SHARING) for row in SHARE_CHOICES)],
)
def test_a_choice_said_after_delivery_is_still_the_choice(
    recognizers: list[SpeechToText],
    language: str,
    words: str,
    choice: str,
    sharing: tuple[str, ...],
) -> None:
    recognizer = recognizer_for(recognizers, language)
    assert recognizer is not None
    pcm = corpus.in_the_room(corpus.speech(words, VOICE[language]), seed=len(words))
    expectation = after_delivery(language, sharing)
    turn = asyncio.run(hear(recognizer, expectation, pcm, session_key="t", channel="kiosk"))
    writer = ReplyWriter(load_phrases(PROJECT_ROOT / "dialogs" / "locales"), share_kinds=sharing)
    assert match_choice(turn.text, writer.delivered_question, language) == choice, turn.text
