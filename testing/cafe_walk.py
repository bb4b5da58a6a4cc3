"""The café job's typed answers, built from its questions in one place.

Tests of channels, storage and generation walk the café page as a user would type it. The
walk used to be written out by hand in some seventeen test files, so every café question
added broke every copy. Here it is built from the job catalog instead: the required questions
get the values a test chooses, every optional question shown while the offer of more sections
is declined is skipped, and a new optional question lengthens every walk by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

from assistant.jobs.catalog import JobCatalog
from assistant.jobs.conditions import visible_questions
from assistant.jobs.loader import load_jobs
from testing.walk import good_answer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CAFE_JOB = "cafe_page"
SKIP = {"en": "skip", "ja": "スキップ"}
YES = {"en": "yes", "ja": "はい"}

# What each language's walk types for the required questions unless a test says otherwise.
_SHOP = {"en": "Blue Bakery", "ja": "ひだまりカフェ"}
_ITEMS = {"en": "bread, cake", "ja": "コーヒー"}
_HOURS = {"en": "9 to 5", "ja": "9時から17時"}
_MOOD = {"en": "warm", "ja": "あたたか"}


@cache
def project_jobs() -> JobCatalog:
    """The project's jobs, loaded once: walks are built at import time in many test files."""
    return load_jobs(PROJECT_ROOT / "dialogs" / "jobs")


def cafe_walk(
    *,
    shop: str | None = None,
    items: str | None = None,
    hours: str | None = None,
    mood: str | None = None,
    language: str = "en",
    greet: bool = True,
    menu: str | None = "1",
    sections: Mapping[str, str] | None = None,
    until: str | None = None,
    confirm: bool = True,
    jobs: JobCatalog | None = None,
) -> list[str]:
    """The café page typed in ``language``: the opening turn ``""`` when ``greet``, the menu
    number, the answers, a skip for each optional question, and ``yes`` to the read-back when
    ``confirm``. ``sections`` takes the offer of more sections, answering those questions by
    id and skipping the rest. ``until`` stops just before that question is answered
    (``"logo"`` leaves the user at the logo), and then there is no read-back to confirm."""
    job = (jobs or project_jobs()).jobs[CAFE_JOB]
    given = {
        "shop_name": shop if shop is not None else _SHOP[language],
        "menu_items": items if items is not None else _ITEMS[language],
        "opening_hours": hours if hours is not None else _HOURS[language],
        "mood": mood if mood is not None else _MOOD[language],
    }
    walk = [""] if greet else []
    if menu is not None:
        walk.append(menu)
    if sections is not None:
        given = {**given, "add_more": YES[language], **sections}
    for question in visible_questions(job, {"add_more": sections is not None}):
        if question.id == until:
            return walk
        if question.id in given:
            walk.append(given[question.id])
        elif question.required:  # a new required question: any good answer will do
            walk.append(good_answer(question, language)[0])
        else:
            walk.append(SKIP[language])
    assert until is None, f"the café walk never reaches {until!r}"
    return [*walk, YES[language]] if confirm else walk
