"""Colours for generated pages: WCAG 2.x contrast, and the user's colour kept readable.

Templates receive a fresh :class:`Palette` as ``palette`` in every render context. Every text
colour and every background behind text that comes from (or is derived from) a user's colour goes
through it, so each pair reaches WCAG AA contrast (4.5:1). When a user's colour has to change to
get there, the palette uses the nearest passing colour and records an :class:`Adjustment`, which
the generator reads after rendering so the user can be told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

BLACK = "#000000"
WHITE = "#ffffff"

#: WCAG AA contrast for normal-size text.
AA_TEXT = 4.5

#: How finely :func:`nearest_readable` walks from a colour towards black or white. One channel
#: step is 1/255, so 1/256 visits every distinct colour on that line: the result is the nearest.
STEP = 1 / 256

_HEX_DIGITS = frozenset("0123456789abcdef")


def valid_color(value: Any, fallback: str) -> str:
    """``value`` as lower-case ``#rrggbb`` when it is one, otherwise ``fallback``."""
    if isinstance(value, str) and len(value) == 7 and value[0] == "#":
        lowered = value.lower()
        if set(lowered[1:]) <= _HEX_DIGITS:
            return lowered
    return fallback


def _channels(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb`` (0 for black, 1 for white)."""
    red, green, blue = _channels(color)
    return 0.2126 * _linear(red) + 0.7152 * _linear(green) + 0.0722 * _linear(blue)


def contrast(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def mix(color: str, other: str, t: float) -> str:
    """``color`` moved a fraction ``t`` (0..1) of the way to ``other``, as ``#rrggbb``."""
    t = min(max(float(t), 0.0), 1.0)
    parts = (
        int(a * (1 - t) + b * t + 0.5)
        for a, b in zip(_channels(color), _channels(other), strict=True)
    )
    return "#" + "".join(f"{part:02x}" for part in parts)


def best_text_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (always at least 4.58:1)."""
    return BLACK if contrast(BLACK, background) >= contrast(WHITE, background) else WHITE


def _backgrounds(background: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(background, str):
        return (background,)
    backgrounds = tuple(background)
    if not backgrounds:
        raise ValueError("at least one background is needed")
    return backgrounds


def worst_contrast(color: str, background: str | Sequence[str]) -> float:
    """The lowest contrast of ``color`` against any of the backgrounds."""
    return min(contrast(color, bg) for bg in _backgrounds(background))


def nearest_readable(
    color: str, background: str | Sequence[str], minimum: float = AA_TEXT
) -> tuple[str, float]:
    """The colour nearest to ``color`` that reaches ``minimum`` on every background, and how far.

    The search walks from ``color`` towards black (towards white when the backgrounds are dark)
    in steps of :data:`STEP` and returns the first colour that passes, with the fraction ``t``
    of the way it went (0 when ``color`` already passes). On one background black or white
    always reaches 4.5:1, so the result passes; backgrounds both light and dark at once may have
    no answer, and then black or white is returned with ``t`` = 1.
    """
    backgrounds = _backgrounds(background)
    if worst_contrast(color, backgrounds) >= minimum:
        return color, 0.0
    target = max((BLACK, WHITE), key=lambda end: worst_contrast(end, backgrounds))
    steps = round(1 / STEP)
    for step in range(1, steps + 1):
        t = step / steps
        candidate = mix(color, target, t)
        if worst_contrast(candidate, backgrounds) >= minimum:
            return candidate, t
    return target, 1.0


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A colour the page could not use as chosen, and the nearest readable one it used."""

    question_id: str | None
    original: str
    used: str
    ratio_before: float
    ratio_after: float


@dataclass(slots=True)
class Palette:
    """The colour helpers a template uses; one per render, collecting the adjustments it made.

    ``question_id`` is None in an adjustment when the colour was the template's own (a fallback
    or a fixed text colour), not an answer: nothing to tell the user then.
    """

    adjustments: list[Adjustment] = field(default_factory=list)
    #: Every (text, background) pair this palette chose, for tests and checks.
    pairs: list[tuple[str, str]] = field(default_factory=list)

    def color(self, value: Any, fallback: str) -> str:
        """The answer as ``#rrggbb`` when it is a valid colour, otherwise ``fallback``."""
        return valid_color(value, fallback)

    def is_color(self, value: Any) -> bool:
        """Whether the answer is a usable ``#rrggbb`` colour."""
        return valid_color(value, "") != ""

    def on(self, background: str) -> str:
        """Black or white text, whichever reads better on ``background``."""
        text = best_text_on(background)
        self._pair(text, background)
        return text

    def mix(self, color: str, other: str, t: float) -> str:
        """``color`` moved a fraction ``t`` of the way to ``other``."""
        return mix(color, other, t)

    def tint(self, color: str, t: float) -> str:
        """``color`` moved a fraction ``t`` of the way to white (a pale background)."""
        return mix(color, WHITE, t)

    def shade(self, color: str, t: float) -> str:
        """``color`` moved a fraction ``t`` of the way to black."""
        return mix(color, BLACK, t)

    def contrast(self, a: str, b: str) -> float:
        """WCAG 2.x contrast ratio of two colours."""
        return contrast(a, b)

    def readable_on(
        self, color: str, background: str | Sequence[str], question: str | None = None
    ) -> str:
        """``color`` as text on ``background`` (one colour or several): itself when it reaches
        4.5:1, otherwise the nearest colour that does, recorded as an adjustment for ``question``.
        """
        backgrounds = _backgrounds(background)
        used, _ = nearest_readable(color, backgrounds)
        for bg in backgrounds:
            self._pair(used, bg)
        if used != color:
            adjustment = Adjustment(
                question_id=question,
                original=color,
                used=used,
                ratio_before=worst_contrast(color, backgrounds),
                ratio_after=worst_contrast(used, backgrounds),
            )
            if adjustment not in self.adjustments:
                self.adjustments.append(adjustment)
        return used

    def _pair(self, text: str, background: str) -> None:
        if (text, background) not in self.pairs:
            self.pairs.append((text, background))
