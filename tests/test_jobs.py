"""Job files: the shipped ones are valid, and each kind of mistake gets its own message."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from assistant.jobs.catalog import QUESTION_TYPES
from assistant.jobs.conditions import visible_questions
from assistant.jobs.loader import load_jobs

ROOT = Path(__file__).resolve().parent.parent
JOBS_DIR = ROOT / "dialogs" / "jobs"

GOOD = {
    "id": "mini_page",
    "title": {"ja": "ミニページ", "en": "Mini page"},
    "description": {"ja": "小さなページ", "en": "A small page"},
    "generator": "page",
    "language": "html",
    "template": "page/cafe.html.j2",
    "questions": [
        {"id": "name", "type": "text", "prompt": {"ja": "名前は？", "en": "Name?"}},
        {
            "id": "mood",
            "type": "choice",
            "prompt": {"ja": "雰囲気は？", "en": "Mood?"},
            "choices": [
                {"id": "warm", "label": {"ja": "あたたか", "en": "warm"}},
                {"id": "cool", "label": {"ja": "クール", "en": "cool"}},
            ],
        },
    ],
}


def test_shipped_jobs_are_valid_and_varied() -> None:
    catalog = load_jobs(JOBS_DIR)
    assert [e.message for e in catalog.errors] == []
    assert len(catalog.jobs) >= 6
    generators = [job.generator for job in catalog.jobs.values()]
    assert generators.count("page") >= 3 and generators.count("program") >= 3
    used_types = set()
    for job in catalog.jobs.values():
        # What everyone must answer stays short; issue 15's sections add questions one may
        # skip (the event page: end time, address, cost, organiser, contact, style) or that
        # are offered behind a yes (``when:``), not forced.
        assert len([q for q in job.questions if q.required]) <= 7, job.id
        assert 3 <= len(visible_questions(job, {})) <= 14, job.id
        used_types.update(q.type for q in job.questions)
        assert (ROOT / "generators" / "templates" / job.template).is_file(), job.template
    assert used_types == set(QUESTION_TYPES)


def _write(directory: Path, name: str, content: object) -> None:
    text = content if isinstance(content, str) else yaml.safe_dump(content, allow_unicode=True)
    (directory / name).write_text(text, encoding="utf-8")


def _broken(**changes: object) -> dict:
    job = yaml.safe_load(yaml.safe_dump(GOOD))
    for path, value in changes.items():
        target = job
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return job


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("id: x\n  title: [unclosed", "line 2: not valid YAML"),
        (_broken(questions__0__type="slider"), "questions[name].type: 'slider' is not one of"),
        (
            _broken(questions__1__id="name"),
            "questions: duplicate question id 'name'",
        ),
        (
            _broken(questions__1__choices__1__id="warm"),
            "questions[mood].choices: duplicate choice id 'warm'",
        ),
        (_broken(title={"ja": "ミニページ"}), "title.en: missing translation"),
        (_broken(questions__0__prompt={"ja": "", "en": "Name?"}), "prompt.ja: missing translation"),
        (_broken(generator="video"), "generator: 'video' is not one of: page, program"),
        (_broken(language="python"), "language: 'python' is not one of: html"),
        (_broken(questions__0__promt="typo"), "questions[0].promt: unknown field"),
        (_broken(questions=[]), "questions: a job needs at least one question"),
        (_broken(questions__0__pattern="(unclosed"), "pattern: not a valid regular expression"),
        (_broken(questions__1__default="hot"), "default: 'hot' is not one of the choice ids"),
        (_broken(id="Bad Id"), "id: must be lower-case letters"),
        (_broken(template=None), "template: missing"),
        (_broken(order=0), "order: must be a whole number of at least 1"),
        ("- just\n- a list\n", "(top): must be a mapping, not list"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_each_mistake_names_file_field_and_reason(
    tmp_path: Path, content: object, expected: str
) -> None:
    _write(tmp_path, "good.yaml", GOOD)
    _write(tmp_path, "zz_broken.yaml", content)
    catalog = load_jobs(tmp_path)
    assert list(catalog.jobs) == ["mini_page"], "the good job still loads"
    assert len(catalog.errors) == 1
    message = catalog.errors[0].message
    assert message.startswith(str(tmp_path / "zz_broken.yaml") + ": ")
    assert expected in message


def test_the_menu_follows_order_then_file_names(tmp_path: Path) -> None:
    """A job staff add without an ``order`` goes after the numbered ones, whatever its file
    name, so the numbers people know do not move."""
    for name, job_id, order in [
        ("b.yaml", "second", 2),
        ("a.yaml", "added", None),
        ("c.yaml", "first", 1),
        ("0.yaml", "also_added", None),
    ]:
        _write(tmp_path, name, {**GOOD, "id": job_id, **({"order": order} if order else {})})
    catalog = load_jobs(tmp_path)
    assert catalog.errors == []
    assert [job.id for job in catalog.ordered()] == ["first", "second", "also_added", "added"]


def test_shipped_jobs_are_numbered_one_to_thirteen_in_the_menu() -> None:
    ordered = load_jobs(JOBS_DIR).ordered()
    assert [job.order for job in ordered] == list(range(1, len(ordered) + 1))
    assert [job.id for job in ordered[:6]] == [
        "cafe_page", "event_page", "intro_page", "quiz_game", "shopping_total", "todo_list"
    ]  # fmt: skip


def test_duplicate_job_ids_across_files(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", GOOD)
    _write(tmp_path, "b.yaml", GOOD)
    catalog = load_jobs(tmp_path)
    assert list(catalog.jobs) == ["mini_page"]
    assert "b.yaml: id: duplicate job id 'mini_page'" in catalog.errors[0].message


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.slow
def test_cli_validate_exits_1_on_any_error(tmp_path: Path) -> None:
    for job in JOBS_DIR.glob("*.yaml"):
        shutil.copy(job, tmp_path)
    assert _cli("jobs", "validate", str(tmp_path)).returncode == 0
    _write(tmp_path, "broken.yaml", _broken(questions__0__type="slider"))
    result = _cli("jobs", "validate", str(tmp_path))
    assert result.returncode == 1
    assert "broken.yaml: questions[name].type" in result.stderr


@pytest.mark.slow
def test_cli_validate_reports_a_missing_template(tmp_path: Path) -> None:
    _write(tmp_path, "page.yaml", _broken(template="page/nowhere.html.j2"))
    result = _cli("jobs", "validate", str(tmp_path))
    assert result.returncode == 1
    assert "page.yaml: template: page/nowhere.html.j2 not found" in result.stderr


@pytest.mark.slow
def test_cli_lists_jobs_in_both_languages() -> None:
    result = _cli("jobs", "list")
    assert result.returncode == 0
    catalog = load_jobs(JOBS_DIR)
    for job in catalog.jobs.values():
        assert f"{job.title.ja} / {job.title.en}" in result.stdout
