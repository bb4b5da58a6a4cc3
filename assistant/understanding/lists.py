"""Items of a list answer: "coffee, cake and sandwiches", 「コーヒーと、ケーキと、サンドイッチ」.

Japanese joins list items with the particles と and や, which are also letters inside many
words (トマト, やさい, ひとり, おもちゃ, おとうと). Splitting on the character cuts words in two
and leaves particles on the items (「コーヒーと」), so the split follows the morphological
analyser (Sudachi, installed with the speech extra for Open JTalk): only a と or や that it
reads as a particle, and not before a verb (「友達と遊ぶ」 is one item), is a
separator. Without the analyser a careful character rule is the fallback.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any

from assistant.understanding.text import has_japanese

_LOGGER = logging.getLogger(__name__)

_SEPARATORS = re.compile(r"\s*(?:[,、;\n・，]|\s+and\s+|\s+&\s+)\s*", re.IGNORECASE)
_ITEM_ENDS = " \t。.!?「」\"'"
_JOINING_PARTICLES = frozenset({"と", "や"})
# What may follow a joining particle: the start of the next item. A verb, an adjective or
# another particle after it means と is "with" or "when" (「友達と遊ぶ」), not "and". What stands
# before it is not checked: kana-only words are often misread (いぬ as a verb).
_ITEM_STARTS_POS = frozenset({"名詞", "代名詞", "形状詞", "接頭辞", "記号", "補助記号"})
_NO_SPLIT_BEFORE_TO = "っ"
_NO_SPLIT_AFTER_TO = "ゃゅょぁぃぅぇぉっー"
_HIRAGANA = re.compile(r"[\u3041-\u309fー]+")
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizer() -> Any | None:
    """Sudachi's tokenizer, loaded once (about 0.3 s); None when it is not installed."""
    try:
        from sudachipy import dictionary
    except ImportError:
        return None
    try:
        found = dictionary.Dictionary()
        return found.tokenizer() if hasattr(found, "tokenizer") else found.create()
    except Exception as err:  # a broken dictionary must not break answering
        _LOGGER.warning("Japanese analyser not available for lists: %s", err)
        return None


def _tokens(text: str) -> list[tuple[str, str, str]] | None:
    """(surface, part of speech, its first subtype) per morpheme, or None without Sudachi."""
    tokenizer = _tokenizer()
    if tokenizer is None:
        return None
    from sudachipy import tokenizer as modes

    with _LOCK:  # one tokenizer object, shared; Sudachi's is not safe across threads
        morphemes = tokenizer.tokenize(text, modes.Tokenizer.SplitMode.C)
        return [(m.surface(), *m.part_of_speech()[:2]) for m in morphemes]


def _split_by_analyser(text: str, tokens: list[tuple[str, str, str]]) -> list[str]:
    parts: list[str] = []
    current = ""
    for index, (surface, pos, _sub) in enumerate(tokens):
        after = tokens[index + 1][1] if index + 1 < len(tokens) else ""
        if (
            surface in _JOINING_PARTICLES
            and pos == "助詞"
            and current.strip(" 、,")
            and (not after or after in _ITEM_STARTS_POS)
        ):
            parts.append(current)
            current = ""
            continue
        current += surface
    parts.append(current)
    return parts


def _split_by_characters(text: str) -> list[str]:
    """The fallback: と or や with at least two characters on each side, never in もっと."""
    parts, start = [], 0
    for i, ch in enumerate(text):
        if ch not in _JOINING_PARTICLES:
            continue
        left, right = text[start:i].strip(), text[i + 1 :].strip()
        if len(left) < 2 or len(right) < 2:
            continue
        if text[i - 1] in _NO_SPLIT_BEFORE_TO or text[i + 1] in _NO_SPLIT_AFTER_TO:
            continue
        parts.append(left)
        start = i + 1
    parts.append(text[start:].strip())
    return parts


def _split_particles(part: str) -> list[str]:
    tokens = _tokens(part)
    if tokens is None:
        if part.endswith(tuple(_JOINING_PARTICLES)) and len(part) > 2:
            part = part[:-1]  # 「コーヒーと、」: the particle before a comma
        return _split_by_characters(part)
    parts = _split_by_analyser(part, tokens)
    if len(parts) == 1 and _HIRAGANA.fullmatch(part):
        # Kana alone is often misread (ともだちとかぞく as ともだち+とか+ぞく).
        return _split_by_characters(part)
    return parts


def parse_list(text: str) -> list[str]:
    """Items of a list answer, split on commas, 、, ・, semicolons, newlines, "and", と or や.

    Items keep the user's own spelling (only width is normalised), since they usually end up
    on a page; a particle left at an item's end (「コーヒーと」) is not part of it.
    """
    text = unicodedata.normalize("NFKC", text).strip()
    parts = _SEPARATORS.split(text)
    if has_japanese(text):
        parts = [piece for part in parts for piece in _split_particles(part)]
    items = []
    for part in parts:
        item = part.strip(_ITEM_ENDS)
        if item.lower().startswith("and "):
            item = item[4:].strip()
        if item:
            items.append(item)
    return items
