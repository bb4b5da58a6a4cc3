"""Text that is safe to store, show and write to a file, whatever a boundary was given.

Every channel and the language model hand the dialog strings that Python accepts but the rest
of the system does not: a lone UTF-16 surrogate (``"\\ud800"``, valid in a JSON string, in a
Telegram message and in a model's answer) cannot be encoded as UTF-8, so the SQLite write, a
file or a websocket frame fails on it; terminal control characters printed by a program move
the cursor or rewrite a receipt. Boundaries call ``clean`` once, so nothing behind them has to
think about it.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"  # what Unicode itself puts where a character could not be decoded
_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 controls except tab and newline, DEL, and the C1 controls (ESC sequences start here).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a code point that UTF-8 cannot encode."""
    return _SURROGATES.search(text) is not None


def has_controls(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab and newline."""
    return _CONTROLS.search(text) is not None


def clean(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD and control characters removed
    (tab and newline stay); a carriage return becomes a newline, as a typed line means."""
    text = _SURROGATES.sub(REPLACEMENT, text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


def decode(data: bytes) -> str:
    """Bytes from outside (a console line, a file) as clean text: invalid UTF-8 becomes
    U+FFFD instead of an exception, so "Café" typed in Latin-1 is still a line."""
    return clean(data.decode("utf-8", errors="replace"))
