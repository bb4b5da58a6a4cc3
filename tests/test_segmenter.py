"""The segmenter on synthetic frames: exact timing of every end-of-speech setting, no audio."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assistant.speech.audio import FRAME_BYTES, FRAME_SECONDS
from assistant.speech.segmenter import (
    SILENCE_MAX,
    SILENCE_MIN,
    Segmenter,
    SegmentEvent,
    SpeechEnded,
    SpeechStarted,
    clamp_silence_seconds,
)

SETTINGS = (0.25, 0.5, 1.0, 2.0, 5.0)
EPS = 1e-9


def frame(number: int) -> bytes:
    """A frame whose every sample is its number, so delivered audio can be traced back."""
    return np.full(FRAME_BYTES // 2, number, dtype="<i2").tobytes()


def numbers(pcm: bytes) -> list[int]:
    """The frame numbers in delivered audio (the trimmed tail may end mid-frame)."""
    samples = np.frombuffer(pcm, dtype="<i2")
    return [int(samples[i]) for i in range(0, len(samples), FRAME_BYTES // 2)]


def script(*parts: tuple[bool, int]) -> list[bool]:
    """Speech flags from (is_speech, frame count) runs."""
    return [flag for flag, count in parts for _ in range(count)]


def run(segmenter: Segmenter, flags: list[bool]) -> list[tuple[int, SegmentEvent]]:
    """Feeds numbered frames; returns (frame index, event) pairs."""
    events = []
    for index, flag in enumerate(flags):
        events.extend((index, event) for event in segmenter.process(frame(index), flag))
    return events


def ended(events: list[tuple[int, SegmentEvent]]) -> list[tuple[int, SpeechEnded]]:
    return [(i, e) for i, e in events if isinstance(e, SpeechEnded)]


def started(events: list[tuple[int, SegmentEvent]]) -> list[tuple[int, SpeechStarted]]:
    return [(i, e) for i, e in events if isinstance(e, SpeechStarted)]


@pytest.mark.parametrize("silence", SETTINGS)
def test_utterance_ends_after_exactly_the_silence_setting(silence: float) -> None:
    segmenter = Segmenter(silence_seconds=silence)
    flags = script((False, 20), (True, 30), (False, 250))
    events = run(segmenter, flags)

    assert [type(e) for _, e in events] == [SpeechStarted, SpeechEnded]
    ((index, end),) = ended(events)
    last_speech = 20 + 30 - 1
    quiet = (index - last_speech) * FRAME_SECONDS
    assert silence - EPS <= quiet < silence + FRAME_SECONDS + EPS
    assert end.reason == "silence"
    assert end.at == pytest.approx((index + 1) * FRAME_SECONDS)
    assert not segmenter.in_speech


@pytest.mark.parametrize("silence", SETTINGS)
def test_silence_one_frame_short_of_the_setting_does_not_end(silence: float) -> None:
    short = math.ceil(silence / FRAME_SECONDS - EPS) - 1
    assert short * FRAME_SECONDS < silence
    segmenter = Segmenter(silence_seconds=silence)
    events = run(segmenter, script((True, 20), (False, short)))
    assert ended(events) == []
    assert segmenter.in_speech


@pytest.mark.parametrize("silence", SETTINGS)
def test_a_pause_shorter_than_the_setting_does_not_split(silence: float) -> None:
    pause = int((silence - FRAME_SECONDS) / FRAME_SECONDS)  # at least one frame short
    segmenter = Segmenter(silence_seconds=silence)
    flags = script((False, 5), (True, 20), (False, pause), (True, 20), (False, 200))
    events = run(segmenter, flags)

    assert len(started(events)) == 1
    ((_, end),) = ended(events)
    frames_in = numbers(end.audio)
    assert 5 in frames_in and 5 + 20 + pause + 19 in frames_in  # both halves, one utterance


def test_short_blips_of_non_speech_inside_speech_do_not_end_it() -> None:
    segmenter = Segmenter(silence_seconds=0.25)
    flags = script((True, 5), *[(False, 2), (True, 1)] * 30, (False, 50))
    events = run(segmenter, flags)
    assert len(ended(events)) == 1


@pytest.mark.parametrize("silence", SETTINGS)
@pytest.mark.parametrize("speech_frames", [3, 5, 10])
def test_very_short_answers_are_utterances(silence: float, speech_frames: int) -> None:
    """A 0.09-0.3 s "yes" or 「はい」 is a whole answer, at every setting."""
    segmenter = Segmenter(silence_seconds=silence)
    flags = script((False, 30), (True, speech_frames), (False, 200))
    events = run(segmenter, flags)
    ((_, end),) = ended(events)
    assert set(range(30, 30 + speech_frames)) <= set(numbers(end.audio))


def test_speech_started_is_reported_once_start_seconds_of_speech_were_heard() -> None:
    segmenter = Segmenter()
    events = run(segmenter, script((False, 10), (True, 5)))
    ((index, start),) = started(events)
    assert index == 12  # the third speech frame
    assert start.at == pytest.approx(13 * FRAME_SECONDS)
    assert segmenter.in_speech


def test_pre_roll_and_trimmed_trailing_silence() -> None:
    segmenter = Segmenter(silence_seconds=1.0, pre_roll_seconds=0.3, trailing_seconds=0.2)
    events = run(segmenter, script((False, 40), (True, 20), (False, 60)))
    ((_, end),) = ended(events)
    frames_in = numbers(end.audio)
    assert frames_in[0] == 30  # 0.3 s = 10 frames before the first speech frame (40)
    assert frames_in[:10] == list(range(30, 40))
    assert 59 in frames_in
    assert end.seconds == pytest.approx(0.3 + 20 * FRAME_SECONDS + 0.2)
    assert len(end.audio) % 2 == 0


def test_pre_roll_at_the_very_start_holds_what_there_is() -> None:
    segmenter = Segmenter()
    events = run(segmenter, script((False, 2), (True, 10), (False, 60)))
    ((_, end),) = ended(events)
    assert numbers(end.audio)[0] == 0


def test_no_pre_roll_when_switched_off() -> None:
    segmenter = Segmenter(pre_roll_seconds=0.0)
    events = run(segmenter, script((False, 20), (True, 10), (False, 60)))
    ((_, end),) = ended(events)
    assert numbers(end.audio)[0] == 20


def test_long_speech_is_cut_at_max_seconds_and_the_rest_starts_anew() -> None:
    segmenter = Segmenter(max_seconds=3.0, silence_seconds=0.5)
    flags = script((False, 10), (True, 250), (False, 40), (True, 20), (False, 40))
    events = run(segmenter, flags)
    ends = ended(events)
    assert [e.reason for _, e in ends] == ["max_length", "max_length", "silence", "silence"]
    (first_index, first), (second_index, _), _, (_, last) = ends
    assert first_index == 10 + 100 - 1  # 3 s = 100 frames of speech
    assert first.seconds == pytest.approx(0.3 + 3.0)
    assert second_index == first_index + 100  # continuing speech: a new utterance at once
    assert len(started(events)) == 4
    assert numbers(last.audio)[0] == 300 - 10  # the next phrase has its own pre-roll
    # no frame is delivered twice
    delivered = [n for _, e in ends for n in numbers(e.audio)]
    assert len(delivered) == len(set(delivered))


@pytest.mark.parametrize("first,second", [(1.0, 0.25), (0.25, 2.0), (5.0, 0.5)])
def test_a_setting_changed_between_utterances_takes_effect(first: float, second: float) -> None:
    segmenter = Segmenter(silence_seconds=first)
    events = run(segmenter, script((True, 10), (False, 200)))
    assert len(ended(events)) == 1

    segmenter.silence_seconds = second
    flags = script((True, 10), (False, 200))
    events = run(segmenter, flags)
    ((index, _),) = ended(events)
    quiet = (index - 9) * FRAME_SECONDS
    assert second - EPS <= quiet < second + FRAME_SECONDS + EPS


def test_a_setting_changed_during_an_utterance_applies_to_it() -> None:
    segmenter = Segmenter(silence_seconds=5.0)
    events = run(segmenter, script((True, 10), (False, 5)))
    assert ended(events) == []
    segmenter.silence_seconds = 0.25
    events = run(segmenter, [False] * 5)
    assert len(ended(events)) == 1


@pytest.mark.parametrize("click", [1, 2])
def test_clicks_shorter_than_start_seconds_are_ignored(click: int) -> None:
    segmenter = Segmenter()
    flags = script(*[(False, 10), (True, click)] * 20, (False, 100))
    assert run(segmenter, flags) == []
    assert not segmenter.in_speech


def test_clicks_in_a_row_must_be_continuous_to_start() -> None:
    segmenter = Segmenter()
    assert run(segmenter, script(*[(True, 2), (False, 1)] * 20, (False, 60))) == []


def test_clicks_before_speech_end_up_in_its_pre_roll_not_as_an_utterance() -> None:
    segmenter = Segmenter()
    events = run(segmenter, script((False, 20), (True, 1), (False, 3), (True, 10), (False, 60)))
    ((_, end),) = ended(events)
    assert 20 in numbers(end.audio)


def test_start_seconds_zero_starts_on_one_frame() -> None:
    segmenter = Segmenter(start_seconds=0.0)
    events = run(segmenter, script((False, 5), (True, 1), (False, 60)))
    assert len(ended(events)) == 1


@pytest.mark.parametrize("bad", [0.1, 0.0, -1.0, 5.01, 10.0])
def test_invalid_silence_is_rejected_with_a_clear_error(bad: float) -> None:
    with pytest.raises(ValueError, match=r"silence_seconds must be between 0\.25 and 5 seconds"):
        Segmenter(silence_seconds=bad)
    segmenter = Segmenter(silence_seconds=2.0)
    with pytest.raises(ValueError, match=str(bad)):
        segmenter.silence_seconds = bad
    assert segmenter.silence_seconds == 2.0


def test_clamp_gives_the_nearest_allowed_silence() -> None:
    assert clamp_silence_seconds(0.1) == SILENCE_MIN == 0.25
    assert clamp_silence_seconds(10) == SILENCE_MAX == 5.0
    assert clamp_silence_seconds(1.5) == 1.5
    assert Segmenter(silence_seconds=clamp_silence_seconds(10)).silence_seconds == 5.0


@pytest.mark.parametrize(
    "setting,value",
    [
        ("start_seconds", -0.1),
        ("max_seconds", 0.5),
        ("pre_roll_seconds", 3.0),
        ("max_seconds", 1e4),
    ],
)
def test_other_invalid_settings_are_rejected(setting: str, value: float) -> None:
    with pytest.raises(ValueError, match=setting):
        Segmenter(**{setting: value})


def test_a_setting_must_be_a_number() -> None:
    with pytest.raises(TypeError, match="silence_seconds must be a number"):
        Segmenter(silence_seconds="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Segmenter(silence_seconds=True)


def test_reset_forgets_a_running_utterance_and_the_clock() -> None:
    segmenter = Segmenter()
    run(segmenter, script((False, 5), (True, 10)))
    assert segmenter.in_speech
    segmenter.reset()
    assert not segmenter.in_speech
    assert segmenter.elapsed == 0.0
    events = run(segmenter, script((False, 20), (True, 10), (False, 60)))
    ((index, end),) = ended(events)
    assert numbers(end.audio)[0] == 10
    assert end.at == pytest.approx((index + 1) * FRAME_SECONDS)


def test_flush_ends_a_running_utterance() -> None:
    segmenter = Segmenter()
    run(segmenter, script((False, 5), (True, 10)))
    (end,) = segmenter.flush()
    assert isinstance(end, SpeechEnded) and end.reason == "end_of_audio"
    assert numbers(end.audio) == list(range(15))
    assert segmenter.flush() == []


def test_frames_of_any_length_count_by_their_samples() -> None:
    """The clock follows the audio given, so 10 ms frames time the same as 30 ms ones."""
    segmenter = Segmenter(silence_seconds=0.25)
    small = bytes(320)  # 10 ms
    events: list[SegmentEvent] = []
    for _ in range(30):
        events += segmenter.process(small, True)
    count = 0
    while not any(isinstance(e, SpeechEnded) for e in events):
        events += segmenter.process(small, False)
        count += 1
    assert count == 25
