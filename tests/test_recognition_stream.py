"""The recognition streams' shared rules (``assistant/speech/engines/stream.py``), on a real
PocketSphinx decoder: a finished stream refuses audio, a second ``finish`` is the same result
and gives the pooled decoder back only once (twice would let two utterances share it)."""

from __future__ import annotations

import pytest

from assistant.ports import Recognition
from assistant.speech import audio
from assistant.speech.engines.stream import UtteranceStream
from testing import require
from testing.speech_audio import speak_espeak

require.module("pocketsphinx", "pip install pocketsphinx")

from assistant.speech.engines.pocketsphinx import PocketSphinxRecognizer  # noqa: E402


def test_a_finished_stream_refuses_audio_and_gives_its_decoder_back_once() -> None:
    recognizer = PocketSphinxRecognizer()
    stream = recognizer.start("en", ["yes", "no"])
    for frame in audio.frames(speak_espeak("yes") + audio.silence(0.3)):
        stream.accept(frame)
    first = stream.finish()
    assert first.text == "yes"
    assert stream.finish() is first
    with pytest.raises(RuntimeError, match="stream already finished"):
        stream.accept(audio.silence(0.03))
    assert len(recognizer._idle) == 1
    recognizer.start("en", ["yes", "no"])  # reuses the one decoder, not a new one
    assert len(recognizer._idle) == 0


def test_partial_text_is_passed_on_only_when_it_changes() -> None:
    class Heard(UtteranceStream):
        def __init__(self, partials: list[str]) -> None:
            super().__init__()
            self.partials = partials
            self.decided = 0

        def _hear(self, pcm: bytes) -> str:
            return self.partials.pop(0)

        def _decide(self) -> Recognition:
            self.decided += 1
            return Recognition(self.audio.decode(), 1.0)

    stream = Heard(["", "fo", "fo", "four", ""])
    said = [stream.accept(part) for part in (b"a", b"b", b"c", b"d", b"e")]
    assert said == [None, "fo", None, "four", ""]
    assert stream.finish().text == stream.finish().text == "abcde"
    assert stream.decided == 1
