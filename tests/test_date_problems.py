"""A date no calendar has gets an answer that says what is wrong (issue 14, "Wording").

「２月３０日」 got the generic "please say a date, like December 25", which sounds as though the
date was not heard at all.
"""

from __future__ import annotations

import datetime

import pytest

from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.understanding.interpret import Answer, Problem, interpret

TODAY = datetime.date(2026, 11, 25)


def said(catalog: JobCatalog, phrases: Phrases, text: str, language: str) -> str:
    question = catalog.jobs["event_page"].question("event_date")
    assert question is not None
    result = interpret(question, text, TODAY, language)
    assert isinstance(result, Problem), result
    return phrases.say(language, f"problem.{result.code}", **result.params)


@pytest.mark.parametrize(
    ("text", "language", "message"),
    [
        ("２月３０日", "ja", "2月に30日はありません。ほかの日を言ってください。"),
        ("2月31日です", "ja", "2月に31日はありません。ほかの日を言ってください。"),
        ("四月三十一日", "ja", "4月に31日はありません。ほかの日を言ってください。"),
        ("11月31日", "ja", "11月に31日はありません。ほかの日を言ってください。"),
        ("February 30", "en", "February has no day 30. Please say another date."),
        ("the 31st of April", "en", "April has no day 31. Please say another date."),
        ("6/31", "en", "June has no day 31. Please say another date."),
        ("September 31st", "en", "September has no day 31. Please say another date."),
    ],
)
def test_a_day_the_month_does_not_have_is_named(
    catalog: JobCatalog, phrases: Phrases, text: str, language: str, message: str
) -> None:
    assert said(catalog, phrases, text, language) == message


@pytest.mark.parametrize(
    ("text", "language"), [("13月5日", "ja"), ("そのうち", "ja"), ("someday", "en"), ("0/12", "en")]
)
def test_what_is_not_a_date_still_gets_the_example(
    catalog: JobCatalog, phrases: Phrases, text: str, language: str
) -> None:
    assert said(catalog, phrases, text, language) == phrases.say(language, "problem.not_a_date")


def test_real_days_at_the_end_of_a_month_are_kept(catalog: JobCatalog) -> None:
    question = catalog.jobs["event_page"].question("event_date")
    assert question is not None
    for text, day in (("4月30日", "2027-04-30"), ("January 31", "2027-01-31")):
        assert interpret(question, text, TODAY, "ja") == Answer(day)
