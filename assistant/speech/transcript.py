"""What a recogniser wrote, tidied into an answer: no stutters, no loops, no closing stop.

Whisper writes "N-n-no" for a hesitant "no" and, on a short answer, sometimes repeats itself
until its token limit; the dialog should see what the person said. Kept apart from the engine
so the clean-up is plain text in, text out, testable without a model.
"""

from __future__ import annotations

import re

from assistant.safe_text import clean

_TRAILING = "。．.!！?？、, "
_SEPARATORS = " \t、,。.!！"
_REPEATED = re.compile(r"(.{4,}?)(?:[\s、,。.!！]*\1)+|(.{2,3}?)(?:[\s、,。.!！]*\2){2,}")


def _once(text: str) -> str:
    """A stretch Whisper wrote over and over, once (with the cut-off copy after it)."""
    found = _REPEATED.search(text)
    if found is None:
        return text
    unit = found.group(1) or found.group(2)
    rest = text[found.end() :]
    if rest.lstrip(_SEPARATORS) and unit.strip().startswith(rest.lstrip(_SEPARATORS)):
        rest = ""
    return text[: found.start()] + unit + rest


# A stutter as Whisper writes it: one letter repeated with hyphens, before a word ("N-n-no")
# or alone ("D-d-d", what it made of "stop" said over the kiosk's own voice).
_STUTTER_BEFORE_WORD = re.compile(r"\b(\w)(?:-\1)+-(?=\1\w)", re.IGNORECASE)
_STUTTER_ALONE = re.compile(r"\b(\w)(?:-\1)+\b", re.IGNORECASE)
_EMPTY_CLAUSES = re.compile(r"\s*(?:[,、]\s*){2,}")


def _without_stutters(text: str) -> str:
    """ "N-n-no" as "no"; a stutter of one letter with no word after it is no word at all:
    matched by sound, "D-d-d" (keys T T T) sounded like "To-do list" (T T LST) and started
    that job."""
    text = _STUTTER_BEFORE_WORD.sub("", text)
    text = _STUTTER_ALONE.sub(lambda m: m.group(1) if m.group(1) in "IAa" else "", text)
    return re.sub(r"\s{2,}", " ", _EMPTY_CLAUSES.sub(", ", text)).strip(" ,、")


def tidy(text: str) -> str:
    """Whisper's text as an answer: clean, no leading space, no closing full stop, no
    stutters, and a stretch said over and over in a row once: on a short answer Whisper
    sometimes loops until its token limit ("animal quiz animal quiz animal quiz animal"), and
    the dialog would refuse that title as too long, again and again."""
    return _once(_without_stutters(clean(text).strip())).rstrip(_TRAILING).strip()
