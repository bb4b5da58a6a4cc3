"""Job versions and the job editor behind the console's jobs screen (issue 16, part J): the
store keeps every text whole and numbered per job; the editor checks an edit with the real
loader beside the other jobs before the disk changes; a reload swaps the catalog in place
and keeps sessions already in a changed job on the version they started.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.catalog import JobCatalog, LocalizedText
from assistant.jobs.loader import load_jobs
from assistant.staff.job_editing import JobEditor, JobRefusedError, unified_diff
from tests.conftest import PROJECT_ROOT
from tests.store_backends import Backend, Store


def jobs_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "jobs"
    shutil.copytree(PROJECT_ROOT / "dialogs" / "jobs", folder)
    return folder


@pytest.fixture
async def store(backend: Backend) -> Store:
    """This file's tests on both stores (issue 17): the conftest's ``store`` is SQLite alone."""
    return await backend.open()


def editor(folder: Path, store: Store, catalog: JobCatalog) -> JobEditor:
    def reload(in_progress: Mapping[str, Collection[str]]) -> JobCatalog:
        catalog.replace(load_jobs(folder), in_progress)
        return catalog

    return JobEditor(folder, store.job_versions(), load_jobs, reload, clock=lambda: 1000.0)


async def test_versions_are_numbered_per_job_and_kept_whole(store: Store) -> None:
    versions = store.job_versions()
    await versions.add("quiz", "id: quiz\n", "ana", 1.0, "first")
    await versions.add("timer", "id: timer\n", "ana", 2.0, "")
    second = await versions.add("quiz", "id: quiz\n# more\n", "bob", 3.0, "second")
    assert second.version == 2
    kept = await versions.versions("quiz")
    assert [(v.version, v.who, v.at, v.note, v.text) for v in kept] == [
        (1, "ana", 1.0, "first", "id: quiz\n"),
        (2, "bob", 3.0, "second", "id: quiz\n# more\n"),
    ]


async def test_sessions_in_a_job_are_those_that_started_it(
    manager: DialogManager, store: Store
) -> None:
    for key in ("in-job", "at-menu"):
        await manager.handle(Turn(key, text="hello", language="en", channel="test"))
    await manager.handle(Turn("in-job", text="business card", language="en", channel="test"))
    assert await store.job_versions().sessions_in("business_card") == ["in-job"]
    assert await store.job_versions().sessions_in("quiz_game") == []


def test_a_reload_holds_the_old_job_only_for_sessions_in_it(catalog: JobCatalog) -> None:
    live = JobCatalog(dict(catalog.jobs))
    old = live.jobs["business_card"]
    question = replace(old.questions[0], prompt=LocalizedText("新しい", "New words"))
    changed = JobCatalog({**catalog.jobs, "business_card": replace(old, questions=(question,))})

    live.replace(changed, {"business_card": ["started"], "quiz_game": ["quizzer"]})

    assert live.for_session("started", "business_card") is old
    assert live.for_session("other", "business_card").questions[0].prompt.en == "New words"
    assert "quizzer" not in live.held  # its job did not change: nothing to hold
    live.release("started")  # the session starts a job afresh
    assert live.for_session("started", "business_card").questions[0].prompt.en == "New words"
    live.replace(catalog, {"business_card": ["later"]})
    live.replace(changed, {"business_card": []})  # "later" has left the job since
    assert live.held == {}


async def test_a_broken_edit_changes_nothing(tmp_path: Path, store: Store) -> None:
    folder = jobs_copy(tmp_path)
    catalog = load_jobs(folder)
    path = folder / "business_card.yaml"
    original = path.read_text(encoding="utf-8")
    jobs = editor(folder, store, catalog)

    with pytest.raises(JobRefusedError) as duplicate:
        await jobs.save(
            "business_card", path, original.replace("id: business_card", "id: timer"), "ana", ""
        )
    # Named as `jobs validate` names them: the edited file, and the file it now clashes with.
    assert [e.message for e in duplicate.value.errors] == [
        f"{folder / 'timer.yaml'}: id: duplicate job id 'timer' (also in {path})",
        f"{path}: id: must stay 'business_card'",
    ]
    with pytest.raises(JobRefusedError) as wrong:
        await jobs.save(
            "business_card", path, original.replace("mode: dialog", "mode: sing"), "ana", ""
        )
    assert [(e.field, "sing" in e.reason) for e in wrong.value.errors] == [("mode", True)]

    assert path.read_text(encoding="utf-8") == original
    assert await store.job_versions().versions("business_card") == []
    assert not list(folder.glob(".*"))  # no temporary file left behind


async def test_a_save_keeps_the_first_text_and_a_rollback_restores_it(
    tmp_path: Path, store: Store
) -> None:
    folder = jobs_copy(tmp_path)
    catalog = load_jobs(folder)
    path = folder / "business_card.yaml"
    original = path.read_text(encoding="utf-8")
    jobs = editor(folder, store, catalog)
    edited = original.replace("What name goes on the card?", "Your name, please?")

    saved = await jobs.save("business_card", path, edited, "ana", "shorter")
    assert saved.version == 2
    assert catalog.jobs["business_card"].questions[0].prompt.en == "Your name, please?"
    restored = await jobs.roll_back("business_card", path, 1, "ana")

    assert (restored.version, restored.note) == (3, "rollback to v1")
    assert path.read_text(encoding="utf-8") == original
    assert catalog.jobs["business_card"].questions[0].prompt.en == "What name goes on the card?"
    history = await jobs.history("business_card")
    assert [(v.version, v.who) for v in history] == [(1, "-"), (2, "ana"), (3, "ana")]
    with pytest.raises(KeyError):
        await jobs.roll_back("business_card", path, 9, "ana")


def test_the_diff_names_the_versions_and_the_changed_lines() -> None:
    diff = unified_diff("a\nb\n", "a\nc", "v1", "v2")
    assert diff.splitlines() == ["--- v1", "+++ v2", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]
