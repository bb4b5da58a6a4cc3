"""How a sentence is put together for the person in front of it: typed or spoken, and how
English and Japanese sentences join.

Apart from ``replies`` because the manager needs the same notion of "types in a chat" to
note how an answer came in, without the whole reply writer.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.session import Session

_WIDE_MARKS = ("。", "！", "？", "」", "）", "、")
TYPED_CHANNELS = frozenset({"web", "telegram"})  # chats; the console stands in for a voice
INPUT = "input"  # session.preferences key: how the person gave their last answer


def types(session: Session) -> bool:
    """Whether the person types in a chat (the web page, Telegram) rather than speaks: a chat
    is typed unless their last answer came through a recogniser (``DialogManager`` notes it)."""
    if session.channel not in TYPED_CHANNELS:
        return False
    return session.preferences.get(INPUT) != "spoken"


def sentences(parts: Sequence[str]) -> str:
    """Sentences put together as a person writes them: a space between English ones, none
    after a Japanese full stop (「6問中1問目です。 …」 had a half-width space after 。)."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out and not out.endswith(_WIDE_MARKS):
            out += " "
        out += part
    return out
