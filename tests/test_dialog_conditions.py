"""Questions asked only after a yes (``when:``): skipped, not read back, and forgotten when a
change hides them again (issue 15: a page's optional sections)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from assistant.dialog.manager import DialogManager
from assistant.events import SessionState
from assistant.generation.queue import GenerationQueue
from assistant.jobs.loader import load_jobs
from assistant.jobs.phrases import Phrases
from assistant.store.sqlite import SQLiteStore
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing.walk import Walker
from tests.conftest import FIXED_NOW
from tests.test_dialog import lines

DATA = Path(__file__).parent / "data"

SNACK_JOB = yaml.safe_load((DATA / "jobs" / "tea_page.yaml").read_text(encoding="utf-8"))
SNACK_JOB["id"] = "snack_page"
SNACK_JOB["title"] = {"ja": "おやつのページ", "en": "Snack page"}
SNACK_JOB["questions"][2:2] = [
    {
        "id": "snacks",
        "type": "yesno",
        "required": False,
        "default": False,
        "prompt": {"ja": "おやつものせますか？", "en": "Add snacks?"},
    },
    {
        "id": "snack_list",
        "type": "list",
        "when": {"question": "snacks", "is": True},
        "prompt": {"ja": "どんなおやつ？", "en": "Which snacks?"},
    },
    {
        "id": "snack_note",
        "type": "text",
        "required": False,
        "when": {"question": "strength", "is": "strong"},
        "prompt": {"ja": "濃いお茶のひとことは？", "en": "A word for strong tea?"},
    },
]


@pytest.fixture
async def walk(phrases: Phrases, store: SQLiteStore, tmp_path: Path) -> AsyncIterator[Walker]:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "snack_page.yaml").write_text(yaml.safe_dump(SNACK_JOB), encoding="utf-8")
    catalog = load_jobs(jobs)
    assert not catalog.errors
    manager = DialogManager(jobs=catalog, phrases=phrases, store=store, clock=lambda: FIXED_NOW)
    generators = build_generators(TemplateRenderer(DATA / "templates"), None)
    queue = GenerationQueue(
        store=store, jobs=catalog, generators=generators,
        artifacts_dir=tmp_path / "artifacts", on_delivered=manager.deliver,
        on_failed=manager.generation_failed,
    )  # fmt: skip
    yield Walker(manager, queue, "user", "en")


async def _answers(walk: Walker) -> dict[str, object]:
    session = await walk.manager.session(walk.key)
    assert session is not None
    return dict(session.answers)


async def test_a_no_skips_the_section_and_the_read_back_leaves_it_out(walk: Walker) -> None:
    await walk.say(None)
    assert lines(await walk.say("snack"))[0] == (
        "info/ask: Snack page. Let's begin. I will ask 5 questions."
    )
    await walk.say("Sencha")
    replies = lines(await walk.say("light"))
    assert replies[-1].startswith("question/ask: Question 3 of 5. Add snacks?")
    # No: "Which snacks?" is never asked; "light" tea: the strong-tea word is not asked either.
    assert lines(await walk.say("no"))[-1] == "question/ask: Question 4 of 5. How many cups?"
    await walk.say("two")
    replies = lines(await walk.say("no"))
    assert replies[-1].startswith(
        "confirm/confirm: Here are your answers.\n1. Name of the tea? Sencha\n2. How strong? light"
        "\n3. Add snacks? no\n4. How many cups? 2\n5. Sugar? no\nIs everything right?"
    )
    assert "Which snacks" not in replies[-1] and "6=" not in replies[-1]
    await walk.say("yes")
    answers = await _answers(walk)  # what generation receives
    assert answers["snack_list"] is None, "a hidden question carries its default"
    assert answers["snack_note"] is None
    assert "Delivered" in " ".join(lines(await walk.generate())) or await walk.artifact()


async def test_a_yes_asks_the_section_and_back_passes_over_hidden_questions(
    walk: Walker,
) -> None:
    for text in (None, "snack", "Sencha", "strong", "yes"):
        replies = lines(await walk.say(text))
    assert replies[-1].startswith("question/ask: Question 4 of 7. Which snacks?")
    await walk.say("rice crackers, mochi")
    assert lines(await walk.say("skip"))[-1].startswith("question/ask: Question 6 of 7. How many")
    assert lines(await walk.say("back"))[-1].startswith("question/ask: Question 5 of 7. A word")
    await walk.say("skip")
    await walk.say("three")
    replies = lines(await walk.say("no"))
    assert "4. Which snacks? rice crackers, mochi" in replies[-1]
    assert "7. Sugar? no" in replies[-1]


async def test_changing_a_yes_to_no_forgets_the_section_and_no_to_yes_asks_it(
    walk: Walker,
) -> None:
    for text in (None, "snack", "Sencha", "strong", "yes", "mochi", "Bold!", "one", "no"):
        await walk.say(text)
    assert (await _answers(walk))["snack_list"] == ["mochi"]
    await walk.say("3")  # change answer 3: add snacks?
    replies = lines(await walk.say("no"))
    assert replies[-1].startswith("confirm/confirm:")
    assert "Which snacks" not in replies[-1]
    assert "snack_list" not in await _answers(walk), "the hidden answer is dropped"
    # Light tea hides the strong-tea word as well; its answer goes.
    await walk.say("2")
    await walk.say("light")
    assert "snack_note" not in await _answers(walk)
    # And back to yes: the section's question is asked before the read-back.
    await walk.say("3")
    replies = lines(await walk.say("yes"))
    assert replies[-1].startswith("question/edit: Question 4 of 6. Which snacks?")
    replies = lines(await walk.say("cake"))
    assert replies[-1].startswith("confirm/confirm:")
    assert "4. Which snacks? cake" in replies[-1]
    session = await walk.manager.session(walk.key)
    assert session is not None and session.state == SessionState.CONFIRM


def _load_with(tmp_path: Path, when: object, at: int = 3) -> str:
    job = yaml.safe_load(yaml.safe_dump(SNACK_JOB))
    job["questions"][at]["when"] = when
    (tmp_path / "snack_page.yaml").write_text(yaml.safe_dump(job), encoding="utf-8")
    catalog = load_jobs(tmp_path)
    assert len(catalog.errors) == 1 and not catalog.jobs
    return catalog.errors[0].message


@pytest.mark.parametrize(
    ("when", "at", "expected"),
    [
        (
            {"question": "snakcs", "is": True},
            3,
            "questions[snack_list].when.question: 'snakcs' is not a question of this job",
        ),
        (
            {"question": "sugar", "is": True},
            3,
            "'sugar' is asked later (or is this question); a condition can only depend on an "
            "earlier question",
        ),
        (
            {"question": "snacks", "is": "maybe"},
            3,
            "when.is: 'snacks' is a yes/no question: use yes or no",
        ),
        (
            {"question": "strength", "is": "medium"},
            4,
            "when.is: 'medium' is not a choice of 'strength': light, strong",
        ),
        (
            {"question": "tea_name", "is": "Sencha"},
            3,
            "'tea_name' is a text question; conditions use yes/no or choice",
        ),
        ({"question": "snacks"}, 3, "when: must be a mapping with question and is"),
    ],
)
def test_a_wrong_condition_is_refused_with_file_field_and_reason(
    tmp_path: Path, when: object, at: int, expected: str
) -> None:
    message = _load_with(tmp_path, when, at)
    assert message.startswith(str(tmp_path / "snack_page.yaml") + ": ")
    assert expected in message


def test_yes_and_no_in_yaml_mean_the_yes_no_answers(tmp_path: Path) -> None:
    text = yaml.safe_dump(SNACK_JOB).replace("is: true", "is: 'yes'")
    (tmp_path / "snack_page.yaml").write_text(text, encoding="utf-8")
    job = load_jobs(tmp_path).jobs["snack_page"]
    condition = job.questions[3].when
    assert condition is not None and condition.value is True
