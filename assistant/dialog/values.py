"""An answer said back as a person would say it: a choice by its label, a date in the
language's own way, a colour by its name (not its code), a photo by what is in it.

Apart from the reply writer because the read-back, the question's previous answer and the
edits after delivery all say answers, and it needs only the phrases, not the whole writer.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from assistant.jobs.catalog import Question
from assistant.understanding.colors import color_name


def said_value(question: Question, value: Any, language: str, say: Callable[..., str]) -> str:
    """``value`` as an answer to ``question`` in ``language``; ``say(key, **params)`` gives
    the phrases ("none", "yes", the list separator)."""
    if value is None or value == [] or value == "":
        return say("word_none")
    if question.type == "choice":
        choice = question.choice(str(value))
        return choice.label.get(language) if choice else str(value)
    if question.type == "yesno":
        return say("word_yes" if value else "word_no")
    if question.type == "list":
        return say("list_separator").join(str(v) for v in value)
    if question.type == "date":
        try:
            day = datetime.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        if language == "ja":
            return f"{day.year}年{day.month}月{day.day}日"
        return f"{day.strftime('%B')} {day.day}, {day.year}"
    if question.type == "color" and isinstance(value, str):
        # The name only: "maroon (#8b4513)" was read out, code and all, to people who
        # think in colours (the web page shows the colour itself).
        return color_name(value, language)
    if question.type == "number" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    if question.type == "photo" and isinstance(value, dict):  # issue 15: named by its alt
        return say("photo_named", alt=str(value.get("alt", "")))
    return str(value)
