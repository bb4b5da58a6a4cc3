"""What a language model invented may be put into an artifact only as plain text.

A model's words end up on a page, in a program's output and on a printed receipt, and the
answers it was written from are user input, so a prompt injection could make it write a
phishing link ("log in at evil.example/login") or terminal escape sequences that clear the
screen the receipt is shown on. Model-written text therefore holds no control characters, no
invalid Unicode and no links of any kind: no ``scheme://``, no ``mailto:``-like scheme, no
``www.``, no bare domain or IP address. A link the person typed as an answer is their data,
so the same link may appear in the model's text (``given``); anything else is refused and the
template result is used instead.

Refusing is cheap (the template artifact is complete), so the patterns lean towards refusing:
a sentence glued to the next without a space ("bread.Come") may be taken for a domain.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from assistant.safe_text import has_controls, has_surrogates

# Schemes that need no "//": mail, scripts, inline documents, phones, chat apps, files.
_SCHEMES = (
    "mailto|javascript|vbscript|data|file|tel|sms|callto|ftp|ftps|sftp|ssh|git|magnet|"
    "intent|market|skype|whatsapp|tg|irc|ws|wss|http|https|blob"
)
_LINKS = re.compile(
    r"[a-z][a-z0-9+.-]*\s*:\s*//"  # any scheme with an authority, even spaced out
    rf"|(?<![a-z0-9+.-])(?:{_SCHEMES}):(?=\S)"  # a known scheme without one
    r"|(?<![\w-])www\d*\."  # www.anything
    r"|(?<![\w.-])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)"  # an IPv4 address
    # A bare domain: a path or port after it, or an end in a well-known or two-letter domain.
    r"|(?<![\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,23}(?=[/:?#])"
    r"|(?<![\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:com|net|org|info|biz|io|co|app|dev|xyz|top|site|online|shop|store|link|click|"
    r"live|club|example|test|local|invalid|localhost|onion|[a-z]{2})(?![\w-])",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}\"'»」』。、"
_LEADING = "([{\"'«「『"


def text_problem(text: str, given: Collection[str] = ()) -> str | None:
    """Why ``text`` (written by a model) may not go into an artifact, or None when it may.

    ``given`` are the person's own answers: a link found in one of them is allowed.
    """
    if has_surrogates(text):
        return "holds invalid Unicode (a lone surrogate)"
    if has_controls(text.replace("\r\n", "\n")):
        return "holds control characters"
    for match in _LINKS.finditer(text):
        link = _whole_word(text, match.start(), match.end())
        if not link or not any(link.casefold() in answer.casefold() for answer in given):
            return f"holds a link ({match.group(0)!r})"
    return None


def _whole_word(text: str, start: int, end: int) -> str:
    """The run of non-space characters around a match, without closing punctuation."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end].rstrip(_TRAILING).lstrip(_LEADING)


def answer_texts(answers: dict[str, object]) -> tuple[str, ...]:
    """The person's answers as the texts a model's link may come from (lists flattened)."""
    texts: list[str] = []
    for value in answers.values():
        items = value if isinstance(value, list | tuple) else [value]
        texts += [str(item) for item in items if isinstance(item, str | int | float)]
    return tuple(texts)
