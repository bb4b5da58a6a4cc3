"""The speech preferences (rate, volume, end-of-speech silence): defaults and ranges in one place.

They are stored with the session among its other preferences (a plain JSON object, so a page
theme and a slower voice follow the user to another device); ``SpeechPreferences`` reads them
with their defaults and ranges, and the steps by which "slower", "louder" or "wait longer"
change them. The dialog, the kiosk, the web chat and the segmenter all read these, so a
default or a limit is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SpeechSetting:
    """One number preference: its stored name, default, allowed range and spoken steps."""

    key: str
    default: float
    low: float
    high: float
    steps: tuple[float, ...]

    def clamp(self, value: object) -> float:
        """The stored value within range; anything unreadable (damaged) is the default."""
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return self.default
        if number != number:  # NaN
            return self.default
        return min(self.high, max(self.low, number))

    def to_wire(self) -> dict[str, float]:
        """Default and range, for a page that offers the setting (so it is written once)."""
        return {"default": self.default, "low": self.low, "high": self.high}

    def step(self, current: float, up: bool) -> float | None:
        """The next step up or down from ``current``; None when already at the end."""
        position = min(range(len(self.steps)), key=lambda i: abs(self.steps[i] - current))
        position += 1 if up else -1
        if not 0 <= position < len(self.steps):
            return None
        return self.steps[position]


# Speech starts at normal rate and below full volume, so "louder" has somewhere to go.
RATE = SpeechSetting("rate", 1.0, 0.6, 1.5, (0.6, 0.8, 1.0, 1.25, 1.5))
VOLUME = SpeechSetting("volume", 0.8, 0.4, 1.0, (0.4, 0.6, 0.8, 1.0))
# End-of-speech silence in seconds ("wait longer" / 「待ち時間を短く」); the web page's
# settings may set any value in the range, the spoken commands move by these steps.
SILENCE = SpeechSetting("silence", 1.0, 0.25, 5.0, (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0))
SETTINGS: tuple[SpeechSetting, ...] = (RATE, VOLUME, SILENCE)

# The spoken commands that change a setting, and in which direction.
_COMMANDS: dict[str, tuple[SpeechSetting, bool]] = {
    "slower": (RATE, False), "faster": (RATE, True),
    "quieter": (VOLUME, False), "louder": (VOLUME, True),
    "wait_shorter": (SILENCE, False), "wait_longer": (SILENCE, True),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SpeechPreferences:
    """How the assistant speaks to one user and how long it waits for them to finish."""

    rate: float = RATE.default
    volume: float = VOLUME.default
    silence: float = SILENCE.default

    @classmethod
    def from_preferences(cls, stored: Mapping[str, Any] | None) -> SpeechPreferences:
        """Read from a session's preferences: missing values are defaults, all within range."""
        stored = stored or {}
        return cls(**{s.key: s.clamp(stored.get(s.key, s.default)) for s in SETTINGS})

    def stepped(self, command: str) -> tuple[str, float] | None:
        """The setting a spoken command changes and its new value; None at the limit."""
        setting, up = _COMMANDS[command]
        value = setting.step(getattr(self, setting.key), up)
        if value is None:
            return None
        return setting.key, value
