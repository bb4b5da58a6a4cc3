"""One voice turn, as every channel makes it: real speech through real PocketSphinx."""

from __future__ import annotations

import pytest

from assistant.speech import audio
from assistant.speech.voice_turn import hear
from assistant.understanding.expectation import Expectation
from testing import require
from testing.speech_audio import speak_en

require.module("pocketsphinx", "pip install pocketsphinx")

from assistant.speech.engines.pocketsphinx import PocketSphinxRecognizer  # noqa: E402


@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer()


async def test_an_expected_answer_becomes_a_sure_turn_for_the_session(
    sphinx: PocketSphinxRecognizer,
) -> None:
    expected = Expectation("en", ("number one", "number two", "number three", "help"))
    pcm = audio.silence(0.3) + speak_en("number two") + audio.silence(0.3)
    heard = await hear(sphinx, expected, pcm, session_key="web:abc", channel="web")
    assert heard.heard_something and heard.text == "number two"
    assert heard.language == "en" and heard.engine == "pocketsphinx"
    turn = heard.turn
    assert (turn.session_key, turn.channel, turn.text) == ("web:abc", "web", "number two")
    assert turn.confidence == heard.recognition.confidence and turn.confidence > 0.5


async def test_silence_is_heard_as_nothing(sphinx: PocketSphinxRecognizer) -> None:
    expected = Expectation("en", ("yes", "no"))
    heard = await hear(
        sphinx, expected, audio.silence(1.0), session_key="telegram:1", channel="telegram",
        language="en",
    )  # fmt: skip
    assert not heard.heard_something
    assert heard.turn.language == "en" and heard.turn.channel == "telegram"
