"""The facts of an event page, worked out once in Python for its layouts and its .ics file.

The page templates (``page/event*.html.j2``) and the calendar file (``generators/calendar.py``)
read the same answers; doing the date, time, cost and contact reasoning here keeps the two in
agreement and keeps the templates about markup. Everything returned is plain text that the
templates autoescape, except ``qr`` (an inline SVG that segno built from our own link) and the
``map_href``/``contact_href`` links, which are built from scratch (quoted, fixed schemes), never
copied from an answer, so a ``javascript:`` answer can only ever be shown as words.
"""

from __future__ import annotations

import datetime
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

import segno
from markupsafe import Markup

from assistant.safe_text import clean
from generators.sections import map_link

LAYOUTS = ("lively", "friendly", "formal")
DEFAULT_LAYOUT = "lively"
WEEKDAYS = {
    "ja": ("月", "火", "水", "木", "金", "土", "日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# What people say for "no charge" (compared after lower-casing and removing spaces).
FREE_WORDS = {
    "free", "freeofcharge", "nocharge", "nothing", "0", "0yen", "¥0", "0円", "０円",
    "無料", "むりょう", "ただ", "タダ", "無償", "参加無料", "入場無料", "なし",
}  # fmt: skip
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+")
_PHONE = re.compile(r"\+?[0-9０-９][0-9０-９ ()\-‐－ー]{5,22}")


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What an event page shows; ``None`` (or ``""``) for whatever was skipped."""

    name: str
    date: datetime.date | None
    date_text: str
    start: datetime.time | None
    end: datetime.time | None
    time_text: str
    place: str
    map_href: str | None
    cost_text: str | None
    organiser: str | None
    contact: str | None
    contact_href: str | None
    details: str | None
    layout: str
    link: str
    qr: Markup | None
    lang: str

    @property
    def iso_date(self) -> str:
        return self.date.isoformat() if self.date else ""

    @property
    def month_text(self) -> str:
        """「8月」 / "August" for the date tile ("" without a date)."""
        if self.date is None:
            return ""
        return f"{self.date.month}月" if self.lang == "ja" else MONTHS[self.date.month - 1]

    @property
    def weekday_text(self) -> str:
        """「（金）」 / "Friday" for the date tile ("" without a date)."""
        if self.date is None:
            return ""
        weekday = WEEKDAYS["ja" if self.lang == "ja" else "en"][self.date.weekday()]
        return f"（{weekday}）" if self.lang == "ja" else weekday

    @property
    def has_calendar(self) -> bool:
        """A calendar file is made only for a real day and start time."""
        return self.date is not None and self.start is not None


def _text(value: Any) -> str:
    """An answer as one clean line of text ("" when skipped or not text)."""
    return clean(value).strip() if isinstance(value, str) else ""


def parse_date(value: Any) -> datetime.date | None:
    """``YYYY-MM-DD`` (what the date question stores) or ``None``."""
    text = _text(value)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def parse_time(value: Any) -> datetime.time | None:
    """``HH:MM`` (what the time question stores) or ``None``."""
    text = _text(value)
    if not re.fullmatch(r"\d{2}:\d{2}", text):
        return None
    try:
        return datetime.time.fromisoformat(text)
    except ValueError:
        return None


def date_text(day: datetime.date, lang: str) -> str:
    """「2027年1月15日（金）」 / "Friday 15 January 2027"."""
    weekday = WEEKDAYS["ja" if lang == "ja" else "en"][day.weekday()]
    if lang == "ja":
        return f"{day.year}年{day.month}月{day.day}日（{weekday}）"
    return f"{weekday} {day.day} {MONTHS[day.month - 1]} {day.year}"


def _english_clock(moment: datetime.time, with_half: bool = True) -> str:
    hour = moment.hour % 12 or 12
    half = (" am" if moment.hour < 12 else " pm") if with_half else ""
    return f"{hour}:{moment.minute:02d}{half}"


def time_text(start: datetime.time, end: datetime.time | None, lang: str) -> str:
    """「13:00〜15:00」 / "1:00–3:00 pm" (am/pm once when both halves of the day agree)."""
    if lang == "ja":
        return f"{start:%H:%M}〜{end:%H:%M}" if end else f"{start:%H:%M}〜"
    if end is None:
        return _english_clock(start)
    same_half = (start.hour < 12) == (end.hour < 12) and end > start
    return f"{_english_clock(start, not same_half)}–{_english_clock(end)}"


def cost_text(value: Any, lang: str) -> str | None:
    """The cost as shown: 「無料」/"Free" for any way of saying so, else the words given."""
    text = _text(value)
    if not text:
        return None
    if re.sub(r"[\s!！。.]", "", text).lower() in FREE_WORDS:
        return "無料" if lang == "ja" else "Free"
    return text


def contact_href(value: Any) -> str | None:
    """``mailto:`` for an e-mail address, ``tel:`` for a phone number, else no link."""
    text = _text(value)
    if _EMAIL.fullmatch(text):
        return "mailto:" + urllib.parse.quote(text, safe="@.+-_")
    if _PHONE.fullmatch(text):
        digits = "".join(str(int(c)) if c.isdigit() else c for c in text if c.isdigit() or c == "+")
        if 6 <= len(digits.lstrip("+")) <= 15:
            return "tel:" + digits
    return None


def qr_svg(link: str) -> Markup | None:
    """The link as an inline SVG QR code (``None`` without a link: nothing to point at)."""
    if not re.fullmatch(r"https?://[!-~]{1,2000}", link):
        return None
    code = segno.make(link, error="m")
    return Markup(code.svg_inline(scale=4, border=2, dark="#000000", light="#ffffff"))


def event_facts(answers: dict[str, Any], lang: str, link: str = "") -> EventFacts:
    """The page's facts from the stored answers (the template's ``event_facts(...)``)."""
    ja = lang == "ja"
    day = parse_date(answers.get("event_date"))
    start = parse_time(answers.get("start_time"))
    end = parse_time(answers.get("end_time")) if start else None
    if end == start:
        end = None
    raw_date, raw_start = _text(answers.get("event_date")), _text(answers.get("start_time"))
    later = "あとでお知らせします" if ja else "to be announced"
    layout = _text(answers.get("layout"))
    return EventFacts(
        name=_text(answers.get("event_name")) or ("イベント" if ja else "Event"),
        date=day,
        date_text=date_text(day, lang)
        if day
        else raw_date or f"{'日にちは、' if ja else 'Date '}{later}",
        start=start,
        end=end,
        time_text=time_text(start, end, lang)
        if start
        else raw_start or f"{'時間は、' if ja else 'Time '}{later}",
        place=_text(answers.get("place")) or f"{'場所は、' if ja else 'Place '}{later}",
        map_href=map_link(_text(answers.get("address"))),  # the sections' map search
        cost_text=cost_text(answers.get("cost"), lang),
        organiser=_text(answers.get("organiser")) or None,
        contact=_text(answers.get("contact")) or None,
        contact_href=contact_href(answers.get("contact")),
        details=_text(answers.get("details")) or None,
        layout=layout if layout in LAYOUTS else DEFAULT_LAYOUT,
        link=link,
        qr=qr_svg(link),
        lang="ja" if ja else "en",
    )
