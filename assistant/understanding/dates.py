"""Dates and times as people say them, in Japanese and English, relative to a given day."""

from __future__ import annotations

import calendar
import datetime
import re

from assistant.understanding.numbers import KANJI_NUMERAL, plain_number
from assistant.understanding.text import normalize, normalize_all, strip_fillers

_DAY = datetime.timedelta(days=1)


def _arabize(text: str) -> str:
    """Kanji numerals to digits ("十二月二十五日" → "12月25日") so one regex serves both."""
    return KANJI_NUMERAL.sub(lambda m: str(plain_number(m.group())), text)


def _strip(text: str, prefixes: tuple[str, ...], tails: tuple[str, ...]) -> str:
    text = strip_fillers(normalize(text))
    for _ in range(2):
        for prefix in prefixes:
            if text.startswith(prefix) and len(text) > len(prefix):
                text = text[len(prefix) :].lstrip(" ,、")
        for tail in tails:
            if text.endswith(tail) and len(text) > len(tail):
                text = text[: -len(tail)].rstrip(" ,、")
    return text


def _int(text: str | None) -> int | None:
    value = plain_number(text) if text else None
    return value if isinstance(value, int) else None


# --- dates -----------------------------------------------------------------------------------

_DATE_PREFIXES = ("on ", "the ", "by ")
# fmt: off
_DATE_TAILS = normalize_all(
    ["でおねがいします", "でお願いします", "です", "に", "で", "まで", "please"]
)
_RELATIVE_DAYS = {
    **dict.fromkeys(normalize_all(["today", "今日", "きょう", "本日", "ほんじつ"]), 0),
    **dict.fromkeys(
        normalize_all(["tomorrow", "明日", "あした", "あす", "みょうにち", "翌日"]), 1
    ),
    **dict.fromkeys(
        normalize_all(["day after tomorrow", "the day after tomorrow", "明後日", "あさって"]), 2
    ),
    **dict.fromkeys(normalize_all(["明々後日", "明明後日", "しあさって"]), 3),
    **dict.fromkeys(normalize_all(["yesterday", "昨日", "きのう"]), -1),
    **dict.fromkeys(normalize_all(["一昨日", "おととい", "day before yesterday"]), -2),
    **dict.fromkeys(normalize_all(["next week", "in a week", "a week from now", "一週間後"]), 7),
}
_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")]
    )
    for name in names
}
_WEEKDAYS_EN = {
    name: i
    for i, names in enumerate(
        [("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
         ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
         ("sunday", "sun")]
    )
    for name in names
}
_WEEKDAYS_JA = {
    "月": 0, "げつ": 0, "火": 1, "か": 1, "水": 2, "すい": 2, "木": 3, "もく": 3,
    "金": 4, "きん": 4, "土": 5, "ど": 5, "日": 6, "にち": 6,
}
_KANA_DAYS = {
    "ついたち": 1, "ふつか": 2, "みっか": 3, "よっか": 4, "いつか": 5, "むいか": 6, "なのか": 7,
    "ようか": 8, "ここのか": 9, "とおか": 10, "はつか": 20, "にじゅうよっか": 24,
}
# fmt: on
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_US = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}))?")
_EN_DAY = r"(?:the )?(\d{1,2})(?:st|nd|rd|th)?"
_EN_DMY = re.compile(_EN_DAY + r"(?: of)? ([a-z]+)\.?,?(?: (\d{4}))?")
_EN_MDY = re.compile(r"([a-z]+)\.? " + _EN_DAY + r",?(?: (\d{4}))?")
_EN_DAY_ONLY = re.compile(r"(?:the )?(\d{1,2})(?:st|nd|rd|th)")
_WEEKDAY_NOTE = re.compile(r"\s*\([^)]*\)$")  # "12月25日(金)"
# fmt: off
_JA_DATE = re.compile(
    r"(?:(?P<y>\S+?)(?:年|ねん)の?)?(?:(?P<m>\S+?)(?:月|がつ)の?)?"
    r"(?:(?P<d>\S+?)(?:日|にち)|(?P<kd>" + "|".join(_KANA_DAYS) + "))"
)
_JA_MONTH_PREFIX = {
    "今月": 0, "こんげつ": 0, "来月": 1, "らいげつ": 1, "再来月": 2, "さらいげつ": 2
}
_JA_AFTER = re.compile(r"(?P<n>\S+?)(?P<unit>日|にち|週間|しゅうかん)(?:後|ご|あと)")
_EN_AFTER = re.compile(
    r"(?:in (?P<a>.+?)|(?P<b>.+?) from now|after (?P<c>.+?)) (?P<unit>days?|weeks?)"
)
_JA_WEEKDAY = re.compile(
    r"(?P<week>来週|らいしゅう|今週|こんしゅう|再来週|さらいしゅう)?の?"
    r"(?P<wd>[月火水木金土日]|げつ|か|すい|もく|きん|ど|にち)(?:曜日|曜|ようび|よう)"
)
_EN_WEEKDAY = re.compile(r"(?:(?:next|this|coming|on|this coming) )?([a-z]+)")
_WEEK_OFFSET = {
    "今週": 0, "こんしゅう": 0, "来週": 1, "らいしゅう": 1, "再来週": 2, "さらいしゅう": 2
}
# fmt: on


def _make(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _month_day(
    month: int, day: int, year: int | None, today: datetime.date
) -> datetime.date | None:
    """A date without a year means the next time it comes round (today included)."""
    if year is not None:
        return _make(year, month, day)
    date = _make(today.year, month, day)
    if date is None:
        date = _make(today.year + 1, month, day)  # 2月29日 asked for in a year without one
        return date if date and date >= today else None
    return date if date >= today else _make(today.year + 1, month, day)


def _day_only(day: int, today: datetime.date, months_ahead: int | None) -> datetime.date | None:
    """ "25日" is this month's 25th, or next month's when it has passed."""
    month_index = today.year * 12 + today.month - 1 + (months_ahead or 0)
    date = _make(month_index // 12, month_index % 12 + 1, day)
    if months_ahead is None and (date is None or date < today):
        month_index += 1
        date = _make(month_index // 12, month_index % 12 + 1, day)
    return date


def _next_weekday(weekday: int, today: datetime.date) -> datetime.date:
    return today + _DAY * ((weekday - today.weekday() - 1) % 7 + 1)


def parse_date(text: str, today: datetime.date) -> datetime.date | None:
    """A calendar date from "12月25日", "2026/12/25", "next friday", "あした" or "3日後"."""
    text = _WEEKDAY_NOTE.sub("", _strip(text, _DATE_PREFIXES, _DATE_TAILS))
    if text in _RELATIVE_DAYS:
        return today + _DAY * _RELATIVE_DAYS[text]
    text = _arabize(text).replace(" ", "") if any(c >= "\u3040" for c in text) else text
    if match := _ISO.fullmatch(text):
        return _make(*(int(g) for g in match.groups()))
    if match := _US.fullmatch(text):
        year = int(match.group(3)) if match.group(3) else None
        return _month_day(int(match.group(1)), int(match.group(2)), year, today)
    if match := _JA_AFTER.fullmatch(text):
        count = _int(match.group("n"))
        weeks = match.group("unit") in ("週間", "しゅうかん")
        return None if count is None else today + _DAY * count * (7 if weeks else 1)
    if match := _EN_AFTER.fullmatch(text):
        words = match.group("a") or match.group("b") or match.group("c")
        count = 1 if words in ("a", "one") else _int(words)
        weeks = match.group("unit").startswith("week")
        return None if count is None else today + _DAY * count * (7 if weeks else 1)
    if match := _JA_WEEKDAY.fullmatch(text):
        weekday = _WEEKDAYS_JA[match.group("wd")]
        if match.group("week") is None:
            return _next_weekday(weekday, today)
        monday = today - _DAY * today.weekday()
        return monday + _DAY * (7 * _WEEK_OFFSET[match.group("week")] + weekday)
    if (match := _EN_WEEKDAY.fullmatch(text)) and match.group(1) in _WEEKDAYS_EN:
        return _next_weekday(_WEEKDAYS_EN[match.group(1)], today)
    for pattern, day_at, month_at in ((_EN_DMY, 1, 2), (_EN_MDY, 2, 1)):
        match = pattern.fullmatch(text)
        if match and match.group(month_at) in _MONTHS:
            year = int(match.group(3)) if match.group(3) else None
            return _month_day(_MONTHS[match.group(month_at)], int(match.group(day_at)), year, today)
    if match := _EN_DAY_ONLY.fullmatch(text):
        return _day_only(int(match.group(1)), today, None)
    return _japanese_date(text, today)


class Month(int):
    """A month number that a phrase names in its own language: ``{month:en}`` is "February",
    ``{month:ja}`` is 「2月」 (so the English and Japanese phrases share one placeholder)."""

    def __format__(self, spec: str) -> str:
        if spec == "en":
            return calendar.month_name[int(self)]
        if spec == "ja":
            return f"{int(self)}月"
        return format(int(self), spec)


def impossible_day(text: str) -> tuple[Month, int] | None:
    """The month and day of a date no calendar has (「2月30日」, "April 31"), so the answer can
    say what is wrong instead of asking for "a date" again; None for anything else."""
    text = _WEEKDAY_NOTE.sub("", _strip(text, _DATE_PREFIXES, _DATE_TAILS))
    text = _arabize(text).replace(" ", "") if any(c >= "\u3040" for c in text) else text
    month = day = None
    if match := _US.fullmatch(text):
        month, day = int(match.group(1)), int(match.group(2))
    for pattern, day_at, month_at in ((_EN_DMY, 1, 2), (_EN_MDY, 2, 1)):
        if (match := pattern.fullmatch(text)) and match.group(month_at) in _MONTHS:
            month, day = _MONTHS[match.group(month_at)], int(match.group(day_at))
    if (match := _JA_DATE.fullmatch(text)) and match.group("m") and match.group("d"):
        month, day = _int(match.group("m")), _int(match.group("d"))
    if month is None or day is None or not 1 <= month <= 12 or day < 1:
        return None
    longest = 29 if month == 2 else calendar.monthrange(2025, month)[1]
    return (Month(month), day) if day > longest else None


def _japanese_date(text: str, today: datetime.date) -> datetime.date | None:
    months_ahead = None
    for prefix, offset in _JA_MONTH_PREFIX.items():
        if text.startswith(prefix):
            months_ahead, text = offset, text[len(prefix) :].lstrip("の")
            break
    match = _JA_DATE.fullmatch(text)
    if not match:
        return None
    day = _KANA_DAYS[match.group("kd")] if match.group("kd") else _int(match.group("d"))
    month = _int(match.group("m")) if match.group("m") else None
    year = _int(match.group("y")) if match.group("y") else None
    if day is None or (match.group("m") and month is None) or (match.group("y") and year is None):
        return None
    if month is None:
        return None if year is not None else _day_only(day, today, months_ahead)
    if months_ahead is not None:
        return None
    return _month_day(month, day, year, today)


# --- times -----------------------------------------------------------------------------------

_TIME_PREFIXES = ("at ", "around ", "about ", "by ")
# fmt: off
_TIME_TAILS = normalize_all(
    ["でおねがいします", "でお願いします", "ごろです", "ごろ", "頃", "くらい", "ぐらい",
     "ちょうど", "です", "に", "で", "から", "please", "sharp"]
)
_NOON = normalize_all(
    ["noon", "midday", "12 noon", "正午", "しょうご", "お昼", "おひる", "昼の12時"]
)
_MIDNIGHT = normalize_all(["midnight", "真夜中", "まよなか", "夜中の12時", "深夜0時", "午前0時"])
_PM = {"午後", "ごご", "夜", "よる", "夕方", "ゆうがた", "晩", "ばん", "pm", "p.m", "p.m.",
       "in the afternoon", "in the evening", "at night", "tonight"}
_AM = {"午前", "ごぜん", "朝", "あさ", "am", "a.m", "a.m.", "in the morning"}
_JA_TIME = re.compile(
    r"(?P<p>午前|午後|ごぜん|ごご|朝|あさ|夜|よる|夕方|ゆうがた|晩|ばん|昼|ひる|深夜|しんや)?の?"
    r"(?P<h>.+?)(?:時|じ)(?:(?P<half>半|はん)|(?P<m>.+?)(?:分|ふん|ぷん))?"
)
_EN_PERIOD = re.compile(
    r"(?P<core>.+?) ?(?P<p>a\.?m\.?|p\.?m\.?|o'?clock|in the morning|in the afternoon"
    r"|in the evening|at night|tonight)"
)
# fmt: on
_CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})")
_QUARTERS = re.compile(r"(half|quarter|\S+) (past|after|to) (.+)")


def _clock(hour: int | None, minute: int | None, period: str | None) -> datetime.time | None:
    if hour is None or minute is None:
        return None
    if period in ("深夜", "しんや", "夜", "よる", "at night", "tonight") and hour == 12:
        hour = 0
    elif period in _PM and 1 <= hour < 12:
        hour += 12
    elif period in _AM and hour == 12:
        hour = 0
    elif period in ("昼", "ひる") and 1 <= hour <= 6:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return datetime.time(hour, minute)


def parse_time(text: str) -> datetime.time | None:
    """A clock time from "15:30", "3:30 pm", "午後三時半", "ごご3じ" or "noon"."""
    text = _strip(text, _TIME_PREFIXES, _TIME_TAILS)
    if text in _NOON:
        return datetime.time(12, 0)
    if text in _MIDNIGHT:
        return datetime.time(0, 0)
    if any(c >= "\u3040" for c in text):
        return _japanese_time(_arabize(text).replace(" ", ""))
    period = None
    if match := _EN_PERIOD.fullmatch(text):
        text, period = match.group("core"), match.group("p")
        if match := _EN_PERIOD.fullmatch(text):  # "3 o'clock in the afternoon"
            text, period = match.group("core"), match.group("p")
    if match := _CLOCK.fullmatch(text):
        return _clock(int(match.group(1)), int(match.group(2)), period)
    if match := _QUARTERS.fullmatch(text):
        minutes = {"half": 30, "quarter": 15}.get(match.group(1)) or _int(match.group(1))
        hour = _int(match.group(3))
        if minutes is None or hour is None or not 0 < minutes < 60:
            return None
        if match.group(2) == "to":
            return _clock(hour - 1, 60 - minutes, period)
        return _clock(hour, minutes, period)
    hour = _int(text)
    if hour is not None:
        # A bare "3" could be 3:00 or 15:00, so it needs am/pm/o'clock; "15" cannot be misread.
        return _clock(hour, 0, period) if period or hour >= 13 else None
    words = text.split()
    for cut in range(1, len(words)):
        hour, minute = _int(" ".join(words[:cut])), " ".join(words[cut:])
        if hour is not None:
            return _clock(hour, _int(minute.removeprefix("oh ")), period)
    return None


def _japanese_time(text: str) -> datetime.time | None:
    match = _JA_TIME.fullmatch(text)
    if not match:
        return None
    hour_text = match.group("h")
    hour = 4 if hour_text == "よ" else _int(hour_text)  # 4時 is read よじ
    if match.group("half"):
        minute: int | None = 30
    elif match.group("m"):
        minute = _int(match.group("m"))
    else:
        minute = 0
    return _clock(hour, minute, match.group("p"))
