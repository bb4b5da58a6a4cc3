"""Corrections inside one answer: "three, no, four", 「3、いや4」, 「青…じゃなくて緑」.

People correct themselves mid-sentence, and speech recognisers keep every word. The value is
what follows the last correction word. Closed answers (numbers, colours, choices, dates) are
read loosely: a correction word anywhere counts, and the caller keeps the corrected reading
only when it is a valid answer. Free text is read strictly, because a message may contain
those words as content ("Come in, no shoes inside", 「ただのカフェじゃなくて、居場所です」): there
only a correction word standing as a clause of its own, between commas or dots, counts.
"""

from __future__ import annotations

import re

# fmt: off
_EN_MARKERS = (
    "no wait", "no sorry", "no no", "no", "nope", "wait", "sorry", "i mean", "i meant",
    "actually", "make that", "or rather", "rather", "scratch that", "correction", "oops",
    "let me correct that", "i said it wrong",
)
_JA_CLAUSE_MARKERS = (
    "いやいや", "いいや", "いや", "いえ", "いいえ", "ちがう", "違う", "ちがった", "違った",
    "ちがいます", "違います", "まちがえた", "間違えた", "まちがい", "間違い", "訂正", "ごめん",
    "ごめんなさい", "すみません", "やっぱり", "やっぱ", "やはり", "じゃなくて", "ではなくて",
)
# Attached to the wrong value itself: 「3じゃなくて4」, 「赤ではなく青」.
_JA_ATTACHED = ("じゃなくて", "ではなくて", "じゃなく", "ではなく", "やなくて")
# Markers that may open an answer with nothing before them: 「やっぱり5」, "actually, four".
_LEADING = ("やっぱり", "やはり", "actually", "i mean", "make that", "sorry")
# Unmistakable even with no comma after them: "Cats, I mean dogs".
_EN_STRONG = ("i mean", "i meant", "no wait", "or rather", "scratch that", "let me correct that")
# fmt: on
_SEP = r"[\s,.;:!?、。…・‥~〜ー-]"
_EN = "|".join(re.escape(m) for m in sorted(_EN_MARKERS, key=len, reverse=True))
_JA = "|".join(re.escape(m) for m in sorted(_JA_CLAUSE_MARKERS, key=len, reverse=True))
_ATTACHED = "|".join(re.escape(m) for m in _JA_ATTACHED)
_PUNCT = r"[,.;:!?、。…‥]"
# Strict: a marker that is a clause of its own, between punctuation, with words either side.
_STRICT = re.compile(
    rf"(?<=\S){_PUNCT}+\s*(?:(?:{_EN}|{_JA})\s*{_PUNCT}+|(?:{'|'.join(_EN_STRONG)})\s)\s*(?=\S)",
    re.IGNORECASE,
)
# Loose: English markers between word boundaries, Japanese clause markers after a separator or
# a digit, attached markers anywhere.
_LOOSE = re.compile(
    rf"(?<=\S)(?:{_SEP}*\b(?:{_EN})\b{_SEP}*|(?:{_SEP}+|(?<=[0-9]))(?:{_JA}){_SEP}*"
    rf"|{_SEP}*(?:{_ATTACHED}){_SEP}*)(?=\S)",
    re.IGNORECASE,
)
_OPENING = re.compile(
    rf"^(?:{'|'.join(re.escape(m) for m in sorted(_LEADING, key=len, reverse=True))})(?:{_SEP}+|(?=[^\x00-\x7f0-9]|[0-9]))",
    re.IGNORECASE,
)


def corrected(text: str, *, free_text: bool = False) -> str | None:
    """What the user meant after correcting themselves, or None when there is no correction.

    ``free_text`` reads strictly (see the module's docstring); the caller decides whether the
    corrected reading is a valid answer and otherwise keeps the whole utterance.
    """
    stripped = text.strip()
    pattern = _STRICT if free_text else _LOOSE
    last = None
    for found in pattern.finditer(stripped):
        last = found
    rest = stripped[last.end() :] if last is not None else stripped
    if not free_text or last is not None:
        opening = _OPENING.match(rest)
        if opening is not None and opening.end() < len(rest):
            rest = rest[opening.end() :]
    if rest == stripped:
        return None  # no correction: the words stand as they are, full stop included
    rest = rest.lstrip(" ,、。.…").rstrip()
    return rest or None


_NO_FIRST = re.compile(
    rf"^(?:no|nope|いいえ|いや|ちがう|違う|ちがいます|違います)(?:{_SEP}+|(?=[0-9]))(?=\S)",
    re.IGNORECASE,
)


def after_no(text: str) -> str | None:
    """The new value in "no, four" or 「いや、4」 said to "I heard three. Is that right?"."""
    found = _NO_FIRST.match(text.strip())
    if found is None:
        return None
    return text.strip()[found.end() :].strip(" ,、。.…") or None
