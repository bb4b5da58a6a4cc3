"""Speech preferences: one place for their defaults, ranges and the steps of spoken commands."""

from __future__ import annotations

from assistant.preferences import SILENCE, SpeechPreferences


def test_defaults_ranges_and_damaged_values() -> None:
    assert SpeechPreferences.from_preferences(None) == SpeechPreferences(1.0, 0.8, 1.0)
    stored = {"rate": "fast", "volume": 7, "silence": 0.1, "theme": "contrast"}
    assert SpeechPreferences.from_preferences(stored) == SpeechPreferences(1.0, 1.0, 0.25)


def test_spoken_commands_move_by_steps_and_stop_at_the_ends() -> None:
    speech = SpeechPreferences()
    assert speech.stepped("slower") == ("rate", 0.8)
    assert speech.stepped("louder") == ("volume", 1.0)
    assert SpeechPreferences(volume=1.0).stepped("louder") is None
    assert SpeechPreferences(silence=1.3).stepped("wait_longer") == ("silence", 2.0)
    assert SpeechPreferences(silence=SILENCE.low).stepped("wait_shorter") is None
