"""E-mail addresses as people type or say them (issue 16: an artifact sent by e-mail).

Typed, an address is found as it is; said aloud, the recogniser writes "taro at example dot
com" or 「たろう アットマーク example ドット com」, so the spoken words for "@" and "." are
read as the characters before the address is looked for. One pattern serves the dialog and
the console's mailer, so both accept and refuse the same addresses.
"""

from __future__ import annotations

import re
import unicodedata

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDRESS = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")
MAX_ADDRESS = 254
# Spoken "@" and "." in both languages, as recognisers write them.
_SPOKEN_AT = re.compile(
    r"\s*(?:\bat\s*mark\b|\bat\b|アットマーク|アット|あっとまーく|あっと)\s*", re.I
)
_SPOKEN_DOT = re.compile(r"\s*(?:\bdot\b|\bperiod\b|ドット|どっと|てん|点)\s*", re.I)
_SPOKEN_DASH = re.compile(r"\s*(?:\bhyphen\b|\bdash\b|ハイフン|はいふん)\s*", re.I)
_SPOKEN_UNDERSCORE = re.compile(r"\s*(?:\bunderscore\b|アンダーバー|アンダースコア)\s*", re.I)


def is_address(text: str) -> bool:
    """Whether ``text`` is exactly one e-mail address."""
    return len(text) <= MAX_ADDRESS and ".." not in text and ADDRESS.fullmatch(text) is not None


def find_address(text: str) -> str | None:
    """The one address in what was typed or said ("send it to a@b.jp", "taro at example dot
    com"), else None. Two different addresses are None too: the user is asked again rather
    than one being picked for them."""
    plain = unicodedata.normalize("NFKC", text).strip().rstrip("。.、,!！?？")
    found = _addresses(plain)
    if not found:
        found = _addresses(_spoken(plain))
    if len({address.lower() for address in found}) != 1:
        return None
    # In lower case: a recogniser writes "Kenji@gmail.com" for a name at the start, and mail
    # services take local parts without regard to case.
    return found[0].lower()


def _addresses(text: str) -> list[str]:
    return [
        m.group(0).strip(".") for m in ADDRESS.finditer(text) if is_address(m.group(0).strip("."))
    ]


def _spoken(text: str) -> str:
    """The spoken words for the marks as marks; the spaces around the address's parts go."""
    words = _SPOKEN_UNDERSCORE.sub("_", _SPOKEN_DASH.sub("-", text))
    words = _SPOKEN_DOT.sub(".", _SPOKEN_AT.sub("@", words))
    # "taro yamada@example.com" heard as words: only the run touching "@" is the address.
    match = re.search(r"(\S+(?:\s+\S+)?)@(\S+)", words)
    if match is None:
        return words
    local = match.group(1).split()[-1]
    return f"{local}@{match.group(2)}"
