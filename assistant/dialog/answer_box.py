"""What a question's answer box should offer, its earlier answer as a person types it, and
the read-back's button that changes it.

The read-back (``Replies.format_value``) says an answer for the ear and the eye; this gives the
form the answer box takes back unchanged: a list as its items joined the way they are typed
("bread, cake" / 「パン、ケーキ」), a date as a person writes it, a colour by name when the
name means exactly that colour (else its code, so pressing Enter keeps the colour).
"""

from __future__ import annotations

import datetime
from typing import Any

from assistant.events import Expects
from assistant.jobs.catalog import Question
from assistant.jobs.phrases import Phrases
from assistant.understanding.colors import color_name, parse_color

# Colours offered as swatches to press, by the names that mean them exactly in each language.
SWATCHES = {
    "en": ("red", "orange", "yellow", "green", "light blue", "blue", "navy", "purple", "pink",
           "brown", "gray", "black"),
    "ja": ("赤", "オレンジ", "黄色", "緑", "水色", "青", "紺", "紫", "ピンク", "茶色", "灰色", "黒"),
}  # fmt: skip


def typed_answer(question: Question, value: Any, language: str, *, yes: str, no: str) -> str | None:
    """``value`` as the user would type it for ``question``; None when there is none."""
    if value is None or value == "" or value == [] or isinstance(value, dict):
        return None  # a photo ({"id", "alt"}) cannot be typed back in
    if question.type == "list" and isinstance(value, list | tuple):
        return ("、" if language == "ja" else ", ").join(str(item) for item in value)
    if question.type == "choice":
        choice = question.choice(str(value))
        return choice.label.get(language) if choice else str(value)
    if question.type == "yesno":
        return yes if value else no
    if question.type == "date":
        try:
            day = datetime.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return f"{day.year}年{day.month}月{day.day}日" if language == "ja" else day.isoformat()
    if question.type == "color" and isinstance(value, str):
        name = color_name(value, language)
        return name if (parse_color(name) or "").lower() == value.lower() else value
    if question.type == "number" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def expects(question: Question, language: str) -> Expects:
    """The control a screen should offer for ``question`` (see ``Expects``)."""
    swatches: tuple[tuple[str, str], ...] = ()
    if question.type == "color":
        names = SWATCHES["ja" if language == "ja" else "en"]
        swatches = tuple((name, parse_color(name) or "") for name in names)
        swatches = tuple(s for s in swatches if s[1])
    return Expects(
        type=question.type,
        optional=not question.required,
        low=question.min if question.type == "number" else None,
        high=question.max if question.type == "number" else None,
        swatches=swatches,
    )


def change_label(phrases: Phrases, language: str, question: Question, number: int) -> str:
    """The read-back's button: "Change the shop name" when the job names the answer (its
    ``name``), else "Change answer 2"."""
    if question.name is None:
        return phrases.say(language, "confirm_change", number=number)
    return phrases.say(language, "confirm_change_named", name=question.name.get(language))
