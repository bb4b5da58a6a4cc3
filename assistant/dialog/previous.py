"""A question's earlier answer as a person would type it, for going back and changing.

The read-back (``Replies.format_value``) says an answer for the ear and the eye; this gives the
form the answer box takes back unchanged: a list as its items joined the way they are typed
("bread, cake" / 「パン、ケーキ」), a date as a person writes it, a colour by name when the
name means exactly that colour (else its code, so pressing Enter keeps the colour).
"""

from __future__ import annotations

import datetime
from typing import Any

from assistant.jobs.catalog import Question
from assistant.understanding.colors import color_name, parse_color


def typed_answer(question: Question, value: Any, language: str, *, yes: str, no: str) -> str | None:
    """``value`` as the user would type it for ``question``; None when there is none."""
    if value is None or value == "" or value == []:
        return None
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
