"""The event page's facts, its "add to calendar" file and its own link (issue 15, part E).

What a reader of the page or of the calendar entry notices: the date and time range written as
people of each language write them, "free" understood, a phone or mail link only for a phone
number or address, a map link that cannot be anything but a map search, an .ics file a calendar
reads back with the facility's time zone, one entry per artifact, and no answer able to add a
line of its own to the file. Browser checks are in tests/test_event_page_browser.py.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import icalendar
import pytest
import pytest_asyncio
import segno

from assistant.config import load_settings
from assistant.errors import ConfigError
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.session import GenerationRequest
from assistant.store.sqlite import SQLiteStore
from assistant.understanding.answers import check_answers
from generators.event import contact_href, cost_text, event_facts
from generators.page import PageGenerator
from generators.registry import build_generators
from generators.sections import MAP_SEARCH, map_link
from generators.template import TemplateRenderer
from testing.answer_sets import HOSTILE, VALID

TODAY = datetime.date(2026, 11, 25)
NEW_TEXT_FIELDS = ("address", "cost", "organiser", "contact")
# Property names an event file may hold (RFC 5545), after unfolding: any other line start
# would be an answer that escaped its value.
KNOWN_LINES = re.compile(
    r"^(BEGIN|END|VERSION|PRODID|CALSCALE|METHOD|TZID|COMMENT|DTSTART|TZNAME|TZOFFSETFROM|"
    r"TZOFFSETTO|RDATE|RRULE|SUMMARY|DTEND|DTSTAMP|UID|SEQUENCE|DESCRIPTION|LOCATION|"
    r"ORGANIZER|URL|X-LIC-LOCATION)[;:]"
)
RENDERER = TemplateRenderer()  # one jinja2 environment: templates compile once
INJECTION = "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:evil\nATTACH:http://evil.example/"


def answers_for(catalog: JobCatalog, language: str, name: str = "typical") -> dict[str, Any]:
    job = catalog.jobs["event_page"]
    return check_answers(VALID["event_page"][language][name], job, language, TODAY)


async def make_page(
    catalog: JobCatalog,
    folder: Path,
    answers: dict[str, Any],
    language: str = "en",
    *,
    series: str = "s1",
    version: int = 1,
    time_zone: str = "Asia/Tokyo",
) -> tuple[str, bytes | None]:
    """The page and its calendar file as ``PageGenerator`` makes them, without its node check
    of the script (the delivery tests run that): these tests look at words and lines."""
    job = catalog.jobs["event_page"]
    request = GenerationRequest("test", "event_page", language, answers, series, version)
    generator = PageGenerator(RENDERER, time_zone)
    html, _palette = generator.renderer.render(job, request)
    return html, generator.calendar(job, request)


def unfolded_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")  # CRLF only (RFC 5545 3.1)
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


# --- the facts as shown -----------------------------------------------------------------------


def test_the_date_and_time_range_read_as_each_language_writes_them() -> None:
    answers = {"event_date": "2027-01-15", "start_time": "13:00", "end_time": "15:00"}
    ja, en = event_facts(answers, "ja"), event_facts(answers, "en")
    assert (ja.date_text, ja.time_text) == ("2027年1月15日（金）", "13:00〜15:00")
    assert (en.date_text, en.time_text) == ("Friday 15 January 2027", "1:00–3:00 pm")
    across_noon = {**answers, "start_time": "11:00", "end_time": "13:30"}
    assert event_facts(across_noon, "en").time_text == "11:00 am–1:30 pm"
    open_ended = {**answers, "end_time": None}
    assert event_facts(open_ended, "ja").time_text == "13:00〜"
    assert event_facts(open_ended, "en").time_text == "1:00 pm"


@pytest.mark.parametrize(
    "said", ["free", "Free!", "free of charge", "無料", "むりょう", "0円", "ただ"]
)
def test_free_is_understood_in_both_languages(said: str) -> None:
    assert cost_text(said, "ja") == "無料"
    assert cost_text(said, "en") == "Free"


def test_an_amount_is_shown_as_said_and_a_skipped_cost_not_at_all() -> None:
    assert cost_text("500円", "ja") == "500円"
    assert cost_text("£5 for adults", "en") == "£5 for adults"
    assert cost_text(None, "en") is None


@pytest.mark.parametrize(
    ("contact", "href"),
    [
        ("03-1234-5678", "tel:0312345678"),
        ("０３−１２３４−５６７８".replace("−", "-"), "tel:0312345678"),
        ("+44 (0)1234 567 890", "tel:+4401234567890"),
        ("events@example.org", "mailto:events@example.org"),
        ("javascript:alert(1)", None),
        ('"><img src=x onerror=alert(1)>', None),
        ("call 03-1234-5678 <script>", None),
        ("reception desk", None),
    ],
)
def test_only_a_phone_number_or_a_mail_address_becomes_a_link(contact: str, href: str) -> None:
    assert contact_href(contact) == href


def test_the_map_link_is_always_a_map_search_with_the_address_quoted() -> None:
    for address in ["1 High Street", "javascript:alert(1)", '"><script>', "東京都 1-1 & co"]:
        link = map_link(address)
        assert link is not None and link.startswith(MAP_SEARCH)
        assert not re.search(r"[\s\"'<>&]", link.removeprefix(MAP_SEARCH)), link
    assert map_link(None) is None


# --- the calendar file --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_calendar_file_reads_back_with_the_facility_time_zone(
    catalog: JobCatalog, tmp_path: Path
) -> None:
    answers = answers_for(catalog, "en")
    _, data = await make_page(catalog, tmp_path / "p", answers)
    assert data is not None
    calendar = icalendar.Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == datetime.datetime(2027, 8, 10, 14, 30, tzinfo=tokyo)
    assert end == datetime.datetime(2027, 8, 10, 16, 0, tzinfo=tokyo)
    assert event["dtstart"].params["TZID"] == "Asia/Tokyo"
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    assert str(event["summary"]) == "Summer Festival"
    assert str(event["location"]) == "The main hall on the first floor"
    assert "Cost: Free" in str(event["description"])
    assert str(event["organizer"]) == "mailto:events@example.org"
    assert event["organizer"].params["CN"] == "The garden club"
    for line in unfolded_lines(data):
        assert KNOWN_LINES.match(line), line


@pytest.mark.asyncio
async def test_one_calendar_entry_per_artifact_updated_by_its_next_version(
    catalog: JobCatalog, tmp_path: Path
) -> None:
    answers = answers_for(catalog, "ja")
    files = [
        (await make_page(catalog, tmp_path / name, answers, "ja", series=series, version=v))[1]
        for name, series, v in [("a1", "s1", 1), ("a1again", "s1", 1), ("a2", "s1", 2), ("b", "s2", 1)]
    ]  # fmt: skip
    events = [icalendar.Calendar.from_ical(f).walk("VEVENT")[0] for f in files if f]
    uids = [str(event["uid"]) for event in events]
    assert uids[0] == uids[1] == uids[2] != uids[3]
    assert [int(event["sequence"]) for event in events[:3]] == [0, 0, 1]


@pytest.mark.asyncio
async def test_another_time_zone_setting_and_an_end_past_midnight(
    catalog: JobCatalog, tmp_path: Path
) -> None:
    answers = answers_for(catalog, "en", "low")  # 23:59 to 01:00
    _, data = await make_page(catalog, tmp_path / "p", answers, time_zone="Europe/London")
    assert data is not None
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    assert event["dtstart"].params["TZID"] == "Europe/London"
    assert event.decoded("dtend") - event.decoded("dtstart") == datetime.timedelta(minutes=61)


def test_the_time_zone_setting_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('event_time_zone = "Mars/Olympus"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="event_time_zone"):
        load_settings(config, {})
    config.write_text('event_time_zone = "America/New_York"\n', encoding="utf-8")
    assert load_settings(config, {}).event_time_zone == "America/New_York"
    assert load_settings(None, {}).event_time_zone == "Asia/Tokyo"


@pytest.mark.asyncio
@pytest.mark.parametrize("hostile", [*HOSTILE, "injection"])
async def test_hostile_answers_stay_inside_their_calendar_property(
    catalog: JobCatalog, tmp_path: Path, hostile: str
) -> None:
    text = INJECTION if hostile == "injection" else HOSTILE[hostile]
    answers = answers_for(catalog, "en")
    for question in ("event_name", "place", "details", *NEW_TEXT_FIELDS):
        answers[question] = text
    html, data = await make_page(catalog, tmp_path / "p", answers)
    assert data is not None
    lines = unfolded_lines(data)
    for line in lines:
        assert KNOWN_LINES.match(line), line
    assert lines.count("BEGIN:VEVENT") == 1 and not any(line.startswith("ATTACH") for line in lines)
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    assert "\x00" not in str(event["summary"]) and "\n" not in str(event["summary"])
    # The page: the words are shown as words, never as markup or links.
    if "<" in text:
        assert text not in html
    if hostile == "template":
        assert "{{7*7}}" in html
    assert 'href="javascript:' not in html


# --- the page's own link, for the printed poster --------------------------------------------


async def _noop(*_args: object) -> None:
    """``make_now`` reports to no session."""


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "assistant.db")
    await store.open()
    yield store
    await store.close()


@pytest.mark.asyncio
async def test_the_poster_qr_code_is_the_artifacts_own_page_link(
    catalog: JobCatalog, store: SQLiteStore, tmp_path: Path
) -> None:
    queue = GenerationQueue(
        store=store,
        jobs=catalog,
        generators=build_generators(TemplateRenderer(), None),
        artifacts_dir=tmp_path / "artifacts",
        on_delivered=_noop,
        on_failed=_noop,
        base_url="http://kiosk.local:8080/",
    )
    request = GenerationRequest("test", "event_page", "ja", answers_for(catalog, "ja"), "s9", 1)
    artifact = await queue.make_now(request)
    assert not isinstance(artifact, Exception), artifact
    link = f"http://kiosk.local:8080/p/{artifact.token}/"
    html = (Path(artifact.folder) / "index.html").read_text(encoding="utf-8")
    expected = segno.make(link, error="m").svg_inline(
        scale=4, border=2, dark="#000000", light="#ffffff"
    )
    assert expected in html
    assert html.count("<svg") == 1
    event = icalendar.Calendar.from_ical((Path(artifact.folder) / "event.ics").read_bytes())
    assert str(event.walk("VEVENT")[0]["url"]) == link
    assert artifact.files == ("index.html", "event.ics")


@pytest.mark.asyncio
async def test_without_a_link_the_poster_has_no_qr_code(
    catalog: JobCatalog, tmp_path: Path
) -> None:
    html, _ = await make_page(catalog, tmp_path / "p", answers_for(catalog, "en"))
    assert "<svg" not in html and 'class="poster"' in html


# --- skipped questions ----------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("language", ["en", "ja"])
async def test_skipped_questions_leave_nothing_behind(
    catalog: JobCatalog, tmp_path: Path, language: str
) -> None:
    answers = answers_for(catalog, language, "minimal")
    for layout in ("lively", "friendly", "formal"):
        html, data = await make_page(
            catalog, tmp_path / layout, {**answers, "layout": layout}, language
        )
        assert data is not None  # a day and a start time: still worth a calendar entry
        for absent in ("Cost", "Organiser", "Contact", "What happens", "See it on a map",
                       "参加費", "主催", "お問い合わせ", "どんなイベント", "地図で見る"):  # fmt: skip
            assert absent not in html, (layout, absent)
        assert not re.search(r"<(dd|p|li|h2)(?![^>]*\bhidden\b)[^>]*>\s*</\1>", html), layout
        assert f'class="layout-{layout}"' in html
