"""Helpers the page sections call (``generators/templates/sections/``): answers said in
words made into a price list, an hours table, a map link, tap-to-call and mail links.

Every helper takes the user's own words and either returns structured data or None, so a
template can always fall back to showing the words as said. Nothing here builds markup: the
templates escape everything they print, and the only links made are ``https:``, ``tel:`` and
``mailto:`` with checked contents.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit

MAP_SEARCH = "https://www.openstreetmap.org/search?query="
# A price with a unit or currency may touch the item (「コーヒー400円」); a bare number needs a
# space or a colon before it ("coffee 3.50"), so "7up" or a long code stays one item.
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,7}(?:\.\d{1,2})?"
_UNIT = r"円|yen|dollars?|pounds?|euros?|[¥￥$£€]"
_NOTE_TAIL = r"\s*(?:[(（](?P<note>[^)）]*)[)）])?\s*$"
_PRICE = re.compile(
    rf"^(?P<item>.*?\S)[\s:：・…-]*(?P<price>(?:[¥￥$£€]\s*(?:{_AMOUNT})|(?:{_AMOUNT})\s*(?:{_UNIT})))"
    + _NOTE_TAIL,
    re.IGNORECASE,
)
_BARE_PRICE = re.compile(rf"^(?P<item>.*?\S)(?:\s*[:：]\s*|\s+)(?P<price>{_AMOUNT})" + _NOTE_TAIL)
_NOTE = re.compile(r"^(?P<item>.*?)\s*[(（](?P<note>[^)）]*)[)）]\s*$")


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One line of a menu: the item, its price as said (may be empty), a short note."""

    item: str
    price: str
    note: str


def price_rows(items: list[str] | None) -> list[PriceRow]:
    """「コーヒー 400円」 / "coffee 3.50" -> item + price; items without a price stay whole."""
    rows = []
    for raw in items or []:
        text = unicodedata.normalize("NFKC", str(raw)).strip()
        if not text:
            continue
        match = _PRICE.match(text) or _BARE_PRICE.match(text)
        if match and match.group("item").strip(" ・…-:："):
            item = match.group("item").strip(" ・…-:：")
            rows.append(PriceRow(item, match.group("price").strip(), match.group("note") or ""))
            continue
        note = _NOTE.match(text)
        if note and note.group("item"):
            rows.append(PriceRow(note.group("item"), "", note.group("note")))
        else:
            rows.append(PriceRow(text, "", ""))
    return rows


_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
_RANGE = re.compile(rf"{_TIME}\s*(?:から|〜|~|-|–|—|to|until|till)\s*{_TIME}", re.IGNORECASE)
_DAYS = {
    "ja": ["月", "火", "水", "木", "金", "土", "日"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
_CLOSED_JA = re.compile(r"([月火水木金土日])(?:曜日?)?(?:は)?(?:定休日?|お?休み|休)")
_CLOSED_EN = re.compile(r"closed\s+(?:on\s+)?(mon|tue|wed|thu|fri|sat|sun)[a-z]*", re.IGNORECASE)
_EN_SHORT = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _clock(hour: str, minute: str | None, meridiem: str | None) -> int:
    """Minutes after midnight."""
    h = int(hour)
    if meridiem and meridiem.lower().startswith("p") and h < 12:
        h += 12
    if meridiem and meridiem.lower().startswith("a") and h == 12:
        h = 0
    m = int(minute) if minute else 0
    if not (0 <= h <= 24 and 0 <= m < 60):
        raise ValueError("not a time")
    return h * 60 + m


def _japanese_times(text: str) -> str:
    """「7時半」「午後5時」 -> 7:30, 17:00, so one pattern reads both languages."""
    text = re.sub(r"(\d{1,2})時半", r"\1:30", text)
    text = re.sub(r"(\d{1,2})時(\d{1,2})分", lambda m: f"{m[1]}:{int(m[2]):02d}", text)
    text = re.sub(r"(\d{1,2})時", r"\1:00", text)
    return (
        re.sub(r"(?:午後|夜|夕方)\s*(\d{1,2}):", lambda m: f"{int(m[1]) % 12 + 12}:", text)
        .replace("午前", "")
        .replace("朝", "")
    )


def hours_rows(text: str | None, language: str) -> list[tuple[str, str]] | None:
    """Simple opening hours as table rows (days, times): 「9時から17時、月曜休み」,
    "9 am to 5 pm, closed Mondays", "10:00-18:00". None when the words are not that simple:
    the page then shows them as said."""
    if not text:
        return None
    said = unicodedata.normalize("NFKC", str(text)).strip()
    if len(said) > 60:
        return None
    match = _RANGE.search(_japanese_times(said))
    if match is None:
        return None
    (h1, m1, p1), (h2, m2, p2) = match.group(1, 2, 3), match.group(4, 5, 6)
    try:
        # "9 to 5 pm": the first time shares the second's am/pm only when that keeps order.
        opens = _clock(h1, m1, p1)
        closes = _clock(h2, m2, p2)
    except ValueError:
        return None
    if closes <= opens and not p2 and closes + 12 * 60 <= 24 * 60:
        closes += 12 * 60  # "10 to 4": closing in the afternoon
    if closes <= opens:
        return None
    times = f"{opens // 60}:{opens % 60:02d} – {closes // 60}:{closes % 60:02d}"
    closed = [_DAYS["ja"].index(d) for d in _CLOSED_JA.findall(said)]
    closed += [_EN_SHORT.index(d.lower()[:3]) for d in _CLOSED_EN.findall(said)]
    ja = language == "ja"
    if not closed:
        return [("毎日" if ja else "Every day", times)]
    days = _DAYS["ja" if ja else "en"]
    shut = "定休日" if ja else "Closed"
    runs: list[tuple[int, int, str]] = []  # first day, last day, value: Tue–Sun share a row
    for index in range(7):
        value = shut if index in closed else times
        if runs and runs[-1][2] == value and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index, value)
        else:
            runs.append((index, index, value))
    rows = []
    for first, last, value in runs:
        name = f"{days[first]}曜日" if ja and first == last else days[first]
        label = name if first == last else f"{days[first]}{'〜' if ja else ' – '}{days[last]}"
        rows.append((label, value))
    return rows


def map_link(address: str | None) -> str | None:
    """An OpenStreetMap search for the address (a link only: the page loads nothing)."""
    if not address or not str(address).strip():
        return None
    return MAP_SEARCH + quote(str(address).strip()[:200], safe="")


def tel_link(phone: str | None) -> str | None:
    """``tel:`` with the digits (and a leading +) of a number said with spaces or dashes;
    None when it does not look like a phone number."""
    if not phone:
        return None
    text = unicodedata.normalize("NFKC", str(phone)).strip()
    if not re.fullmatch(r"\+?[\d\s().\-]{6,24}", text):
        return None
    digits = re.sub(r"\D", "", text)
    if not 6 <= len(digits) <= 15:
        return None
    return "tel:" + ("+" if text.startswith("+") else "") + digits


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})+")


def mailto_link(email: str | None) -> str | None:
    """``mailto:`` for an address that is only an address; None otherwise."""
    if not email:
        return None
    text = unicodedata.normalize("NFKC", str(email)).strip()
    return "mailto:" + text if _EMAIL.fullmatch(text) else None


def https_links(items: list[str] | None) -> list[dict[str, str]]:
    """Only ``https://`` addresses with a host and no spaces or controls, as
    ``{"href", "label"}`` (the label is the address without its scheme)."""
    links = []
    for raw in items or []:
        text = str(raw).strip()
        if not text.lower().startswith("https://") or re.search(r"[\s\x00-\x1f\x7f<>\"'`]", text):
            continue
        try:
            parts = urlsplit(text)
        except ValueError:
            continue
        if parts.scheme.lower() != "https" or not parts.hostname or parts.username:
            continue
        links.append({"href": text, "label": text[len("https://") :].rstrip("/")})
    return links


def faq_pairs(items: list[str] | None) -> list[dict[str, str]]:
    """「駐車場はありますか？ 2台あります」 / "Parking? Two spaces" -> question + answer. A list
    answer splits at commas, so a part without a question mark continues the answer before."""
    pairs: list[dict[str, str]] = []
    for raw in items or []:
        text = str(raw).strip()
        if not text:
            continue
        mark = re.search(r"[?？]", text)
        if mark:
            pairs.append(
                {"question": text[: mark.end()].strip(), "answer": text[mark.end() :].strip()}
            )
        elif pairs:
            answer = pairs[-1]["answer"]
            pairs[-1]["answer"] = f"{answer}, {text}" if answer else text
    return [pair for pair in pairs if pair["answer"]]


def section_helpers() -> Any:
    """What templates see as ``sections``."""
    return SimpleNamespace(
        price_rows=price_rows,
        hours_rows=hours_rows,
        map_link=map_link,
        tel_link=tel_link,
        mailto_link=mailto_link,
        https_links=https_links,
        faq_pairs=faq_pairs,
    )
