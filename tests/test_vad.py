"""webrtcvad and the segmenter on real synthesised speech, in silence and in room noise."""

from __future__ import annotations

import pytest

from assistant.ports import VoiceActivityDetector
from assistant.speech import audio
from assistant.speech.segmenter import Segmenter
from assistant.speech.vad import WebRtcVad, segment
from testing.speech_audio import mix, noise, speak_en, speak_espeak, speak_ja, voiced_seconds

NOISE_LEVEL = 0.01  # white noise at -40 dBFS: a quiet room with a fan

PHRASES = {
    "en sentence": lambda: speak_en("Hello, I would like to make a web page for my cafe."),
    "ja hai": lambda: speak_ja("はい"),
    "ja sentence": lambda: speak_ja("こんにちは、カフェのページを作りたいです"),
    "en yes (espeak)": lambda: speak_espeak("yes"),
}


def scene(*parts: bytes, noisy: bool) -> bytes:
    """Parts played one after another, with room noise over all of it when ``noisy``."""
    pcm = b"".join(parts)
    return mix(pcm, noise(audio.duration(pcm), NOISE_LEVEL)) if noisy else pcm


def test_webrtcvad_implements_the_port() -> None:
    vad: VoiceActivityDetector = WebRtcVad()
    assert vad.is_speech(audio.silence(audio.FRAME_SECONDS)) is False


@pytest.mark.parametrize("noisy", [False, True], ids=["silence", "noise"])
@pytest.mark.parametrize("name", list(PHRASES))
@pytest.mark.slow
def test_one_phrase_is_one_utterance_of_its_spoken_length(name: str, noisy: bool) -> None:
    spoken = PHRASES[name]()
    pcm = scene(audio.silence(1.0), spoken, audio.silence(1.5), noisy=noisy)

    utterances = segment(pcm, WebRtcVad(), Segmenter(silence_seconds=1.0))

    assert len(utterances) == 1
    length = audio.duration(utterances[0])
    voiced = voiced_seconds(spoken)
    # pre-roll (0.3 s) + the voice + webrtcvad's hangover and at most 0.2 s of trailing quiet
    assert voiced <= length <= voiced + 0.8, (length, voiced)
    if not noisy:
        assert voiced_seconds(utterances[0]) == pytest.approx(voiced, abs=0.01)  # nothing cut


@pytest.mark.parametrize("noisy", [False, True], ids=["silence", "noise"])
@pytest.mark.parametrize(
    "first,second",
    [
        ("ja hai", "ja sentence"),
        ("en sentence", "en yes (espeak)"),
        ("ja sentence", "en sentence"),
    ],
)
@pytest.mark.slow
def test_two_phrases_with_a_pause_are_two_utterances(first: str, second: str, noisy: bool) -> None:
    one, two = PHRASES[first](), PHRASES[second]()
    pcm = scene(audio.silence(0.8), one, audio.silence(1.5), two, audio.silence(1.5), noisy=noisy)

    utterances = segment(pcm, WebRtcVad(), Segmenter(silence_seconds=1.0))

    assert len(utterances) == 2
    for utterance, spoken in zip(utterances, (one, two), strict=True):
        voiced = voiced_seconds(spoken)
        assert voiced <= audio.duration(utterance) <= voiced + 0.8


def test_a_short_end_of_speech_setting_splits_at_the_japanese_comma() -> None:
    """The pause at 「、」 is about 0.4 s: one utterance at 1.0 s, two at 0.25 s."""
    spoken = speak_ja("こんにちは、カフェのページを作りたいです")
    pcm = scene(audio.silence(1.0), spoken, audio.silence(1.5), noisy=False)
    assert len(segment(pcm, WebRtcVad(), Segmenter(silence_seconds=1.0))) == 1
    assert len(segment(pcm, WebRtcVad(), Segmenter(silence_seconds=0.25))) == 2


@pytest.mark.parametrize("noisy", [False, True], ids=["silence", "noise"])
def test_no_speech_no_utterance(noisy: bool) -> None:
    assert segment(scene(audio.silence(3.0), noisy=noisy), WebRtcVad(), Segmenter()) == []


def test_a_fresh_detector_does_not_hear_the_room_noise_as_speech() -> None:
    """webrtcvad calls the first 3 frames of steady noise speech; the warm-up hides them."""
    vad = WebRtcVad()
    assert not any(vad.is_speech(f) for f in audio.frames(noise(2.0, NOISE_LEVEL, seed=99)))
    vad.reset()
    assert not any(vad.is_speech(f) for f in audio.frames(noise(2.0, NOISE_LEVEL, seed=98)))


def test_every_mode_finds_the_english_sentence() -> None:
    pcm = scene(audio.silence(1.0), PHRASES["en sentence"](), audio.silence(1.5), noisy=True)
    for mode in range(4):
        assert len(segment(pcm, WebRtcVad(mode), Segmenter())) == 1, mode


@pytest.mark.parametrize("size", [0, 320, 480, 959, 961, 1920])
def test_a_wrong_frame_length_is_refused_with_a_clear_error(size: int) -> None:
    message = f"a frame must be 30 ms of 16 kHz 16-bit mono audio (960 bytes), not {size} bytes"
    with pytest.raises(ValueError) as caught:
        WebRtcVad().is_speech(bytes(size))
    assert str(caught.value) == message


@pytest.mark.parametrize("mode", [-1, 4, 2.0, True])
def test_an_unknown_mode_is_refused(mode: object) -> None:
    with pytest.raises(ValueError, match="aggressiveness must be 0, 1, 2 or 3"):
        WebRtcVad(mode)  # type: ignore[arg-type]
