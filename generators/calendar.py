"""The event page's "add to calendar" file: one VEVENT in an RFC 5545 ``.ics``, by icalendar.

Why these choices:
- The times are local wall-clock times of the facility, written with ``TZID`` and the zone's
  ``VTIMEZONE`` (``Settings.event_time_zone``, Asia/Tokyo by default for both languages: the
  event happens where the facility is, whichever language the page speaks).
- The ``UID`` is the artifact's series, so every version of one event page names the same
  calendar entry and ``SEQUENCE`` (version - 1) lets a corrected version replace the entry a
  phone already holds instead of adding a second one.
- Answers are only ever property values: icalendar escapes ``,``, ``;``, ``\\`` and newlines and
  folds long lines, and control characters are removed first, so no answer can start a line
  (``END:VEVENT``, ``ATTACH:``) of its own.
"""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

import icalendar

from assistant.safe_text import clean
from generators.event import EventFacts, event_facts

PRODID = "-//facility-assistant//event page//EN"
DEFAULT_TIME_ZONE = "Asia/Tokyo"
MAX_TEXT = 2000  # characters of one property: a calendar entry, not a document


def _value(text: str) -> str:
    """One property value: clean, one line, bounded."""
    return " ".join(clean(text).split())[:MAX_TEXT]


def event_calendar(
    facts: EventFacts,
    *,
    uid: str,
    sequence: int = 0,
    time_zone: str = DEFAULT_TIME_ZONE,
    stamp: datetime.datetime | None = None,
    lang: str = "en",
) -> bytes | None:
    """The ``.ics`` bytes, or ``None`` when the page has no real day and start time."""
    if facts.date is None or facts.start is None:
        return None
    zone = zoneinfo.ZoneInfo(time_zone)
    start = datetime.datetime.combine(facts.date, facts.start, tzinfo=zone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", _value(uid))
    event.add("sequence", max(sequence, 0))
    event.add("dtstamp", (stamp or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC))
    event.add("dtstart", start)
    if facts.end is not None:
        end = datetime.datetime.combine(facts.date, facts.end, tzinfo=zone)
        if end <= start:  # 22:00 to 01:00: it ends the next morning
            end += datetime.timedelta(days=1)
        event.add("dtend", end)
    event.add("summary", _value(facts.name))
    event.add("location", _value(facts.place))
    event.add("description", _value(_description(facts, lang)))
    if facts.link:
        event.add("url", facts.link)
    mail = facts.contact_href or ""
    if facts.organiser and mail.startswith("mailto:"):  # ORGANIZER must be an address
        event.add("organizer", mail, parameters={"CN": _value(facts.organiser)[:200]})
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _description(facts: EventFacts, lang: str) -> str:
    """The details and the facts a calendar has no field for, in the page's language."""
    ja = lang == "ja"
    parts: list[str] = []
    if facts.details:
        parts.append(facts.details)
    if facts.cost_text:
        parts.append(("参加費: " if ja else "Cost: ") + facts.cost_text)
    if facts.organiser:
        parts.append(("主催: " if ja else "Organiser: ") + facts.organiser)
    if facts.contact:
        parts.append(("連絡先: " if ja else "Contact: ") + facts.contact)
    return " / ".join(parts)


def calendar_for(
    answers: dict[str, Any], lang: str, *, uid: str, sequence: int, time_zone: str, link: str
) -> bytes | None:
    """The ``.ics`` for a job's answers, when the job has an event day and start time."""
    return event_calendar(
        event_facts(answers, lang, link), uid=uid, sequence=sequence, time_zone=time_zone, lang=lang
    )
