"""Sessions finish with the job version they started, across a restart too (issue 16, part J).

The catalog keeps the version a session started only in memory; each session also keeps the
digest of its job's text in its row, so a service composed again from the same data folder
finds that version among the saved ones and serves it, while new sessions get the edit. A
started version that can no longer serve is logged once, and its sessions go on with the job
as it is.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Collection, Mapping
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from assistant.compose import Services
from assistant.compose_jobs import checked_jobs, hold_started_versions
from assistant.config import Settings
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.staff.job_editing import JobEditor
from assistant.store.sqlite import SQLiteStore
from generators.render import TEMPLATES_DIR
from generators.template import TemplateRenderer
from testing.staff_console import running_console, sign_in
from testing.walk import english_manager
from tests.test_staff_jobs import copy_dialogs, save, say

pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")
# The business card's third question, which the edit rewords.
OLD_THIRD = "Which organisation, shop or facility are you with?"
NEW_THIRD = "Where do you work?"
FOURTH = "What phone number goes on the card?"


async def two_answers(services: Services, key: str) -> str:
    """A session starts the business card and answers its first two questions."""
    await say(services, key, "hello")
    await say(services, key, "business card")
    await say(services, key, "Hana Yamada")
    return await say(services, key, "Baker")


async def test_a_session_finishes_the_version_it_started_after_a_restart(
    tmp_path: Path, aiohttp_client: object
) -> None:
    data, dialogs = tmp_path / "data", copy_dialogs(tmp_path)
    path = dialogs / "jobs" / "business_card.yaml"
    async with running_console(data, dialogs_dir=dialogs) as (app, services):
        client = await aiohttp_client(app)  # type: ignore[operator]
        assert isinstance(client, TestClient)
        assert OLD_THIRD in await two_answers(services, "web:old")
        await say(services, "web:bingo", "hello")  # a session in a job nobody edits
        await say(services, "web:bingo", "bingo cards")
        await sign_in(client, "ana")
        original = path.read_text(encoding="utf-8")
        await save(client, original.replace(OLD_THIRD, NEW_THIRD), note="shorter")
        assert OLD_THIRD in await say(services, "web:old", "repeat")  # in memory, as before
        settings = services.settings

    # Composed again from the same data folder, as after a restart (or a SIGKILL: each turn
    # is committed on its own, so the rows are the same).
    services = Services.build(settings)
    await services.start()
    try:
        assert set(services.jobs.held) == {"web:old"}  # the bingo job did not change
        bingo = await services.store.load("web:bingo")
        assert bingo is not None and bingo.job_digest == services.jobs.jobs["bingo_card"].digest
        assert OLD_THIRD in await say(services, "web:old", "repeat")
        assert FOURTH in await say(services, "web:old", "Sunny Workshop")
        old = await services.store.load("web:old")
        assert old is not None and old.answers["organisation"] == "Sunny Workshop"
        assert NEW_THIRD in await two_answers(services, "web:new")

        # The old session leaves the job; started again, it is the job as it is now.
        assert "sure" in (await say(services, "web:old", "cancel")).lower()
        await say(services, "web:old", "yes")
        assert NEW_THIRD in await two_answers(services, "web:old")
        assert "web:old" not in services.jobs.held
        again = await services.store.load("web:old")
        assert again is not None
        assert again.job_digest == services.jobs.jobs["business_card"].digest
    finally:
        await services.stop()


def jobs_and_templates(tmp_path: Path) -> tuple[Path, TemplateRenderer]:
    """The shipped jobs and templates in folders of the test's own, to change freely."""
    jobs = tmp_path / "jobs"
    shutil.copytree(Settings().jobs_dir, jobs)
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates, ignore=shutil.ignore_patterns("__pycache__"))
    return jobs, TemplateRenderer(templates)


def editor(
    jobs: Path, store: SQLiteStore, catalog: JobCatalog, renderer: TemplateRenderer
) -> JobEditor:
    """The console's editor over ``jobs``, checking templates in the test's folder."""

    def reload(in_progress: Mapping[str, Collection[str]]) -> JobCatalog:
        catalog.replace(checked_jobs(jobs, renderer), in_progress)
        return catalog

    return JobEditor(jobs, store.job_versions(), lambda d: checked_jobs(d, renderer), reload)


async def turns(manager: DialogManager, key: str, *texts: str) -> str:
    """Turns typed in session ``key``; what the assistant said to the last, as one text."""
    said = ""
    for text in texts:
        replies = await manager.handle(Turn(key, text=text, language="en", channel="test"))
        said = "\n".join(reply.text for reply in replies)
    return said


STARTED = ("hello", "business card", "Hana Yamada", "Baker")  # two answers given


async def test_a_started_version_whose_template_is_gone_is_logged_once(
    tmp_path: Path, store: SQLiteStore, phrases: Phrases, caplog: pytest.LogCaptureFixture
) -> None:
    jobs, renderer = jobs_and_templates(tmp_path)
    catalog = checked_jobs(jobs, renderer)
    manager = english_manager(catalog, phrases, store)
    for key in ("one", "two"):
        assert OLD_THIRD in await turns(manager, key, *STARTED)
    # v2 moves to a template of its own, and the old one is removed.
    page = renderer.templates_dir / "page"
    shutil.copyfile(page / "business_card.html.j2", page / "business_card_v2.html.j2")
    path = jobs / "business_card.yaml"
    edited = path.read_text(encoding="utf-8").replace(OLD_THIRD, NEW_THIRD)
    edited = edited.replace("page/business_card.html.j2", "page/business_card_v2.html.j2")
    await editor(jobs, store, catalog, renderer).save("business_card", path, edited, "ana", "")
    (page / "business_card.html.j2").unlink()

    restarted = checked_jobs(jobs, renderer)
    with caplog.at_level(logging.WARNING, logger="assistant.compose_jobs"):
        held = await hold_started_versions(restarted, store.job_versions(), renderer)

    assert held == 0 and restarted.held == {}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "2 session(s) in job business_card" in warnings[0]
    assert "page/business_card.html.j2 is gone" in warnings[0]
    # They go on with the job as it is, which the service can build.
    assert NEW_THIRD in await turns(english_manager(restarted, phrases, store), "one", "repeat")


async def test_a_started_text_never_saved_as_a_version_leaves_the_session_on_the_job(
    tmp_path: Path, store: SQLiteStore, phrases: Phrases, caplog: pytest.LogCaptureFixture
) -> None:
    jobs, renderer = jobs_and_templates(tmp_path)
    manager = english_manager(checked_jobs(jobs, renderer), phrases, store)
    assert OLD_THIRD in await turns(manager, "hand", *STARTED)
    path = jobs / "business_card.yaml"  # edited by hand, not in the console: no versions
    path.write_text(path.read_text(encoding="utf-8").replace(OLD_THIRD, NEW_THIRD), "utf-8")

    restarted = checked_jobs(jobs, renderer)
    with caplog.at_level(logging.WARNING, logger="assistant.compose_jobs"):
        assert await hold_started_versions(restarted, store.job_versions(), renderer) == 0

    assert ["not among the saved versions" in r.getMessage() for r in caplog.records] == [True]
    assert NEW_THIRD in await turns(english_manager(restarted, phrases, store), "hand", "repeat")


async def test_a_job_edited_and_restored_holds_nothing(
    tmp_path: Path, store: SQLiteStore, phrases: Phrases
) -> None:
    jobs, renderer = jobs_and_templates(tmp_path)
    catalog = checked_jobs(jobs, renderer)
    manager = english_manager(catalog, phrases, store)
    assert OLD_THIRD in await turns(manager, "back", *STARTED)
    path = jobs / "business_card.yaml"
    original = path.read_text(encoding="utf-8")
    edit = editor(jobs, store, catalog, renderer)
    await edit.save("business_card", path, original.replace(OLD_THIRD, NEW_THIRD), "ana", "")
    await edit.roll_back("business_card", path, 1, "ana")  # v3: the text it started with

    restarted = checked_jobs(jobs, renderer)
    assert await hold_started_versions(restarted, store.job_versions(), renderer) == 0
    assert restarted.held == {}
    assert OLD_THIRD in await turns(english_manager(restarted, phrases, store), "back", "repeat")


async def test_starting_over_keeps_the_version_across_a_restart(
    tmp_path: Path, store: SQLiteStore, phrases: Phrases
) -> None:
    jobs, renderer = jobs_and_templates(tmp_path)
    catalog = checked_jobs(jobs, renderer)
    manager = english_manager(catalog, phrases, store)
    assert OLD_THIRD in await turns(manager, "over", *STARTED)
    path = jobs / "business_card.yaml"
    edited = path.read_text(encoding="utf-8").replace(OLD_THIRD, NEW_THIRD)
    await editor(jobs, store, catalog, renderer).save("business_card", path, edited, "ana", "")
    await turns(manager, "over", "start over")  # the same job from its first question

    restarted = checked_jobs(jobs, renderer)
    assert await hold_started_versions(restarted, store.job_versions(), renderer) == 1
    again = english_manager(restarted, phrases, store)
    assert OLD_THIRD in await turns(again, "over", "Hana Yamada", "Baker")
