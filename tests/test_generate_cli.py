"""`assistant generate`: staff try a template without a dialog."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # assistant generate in subprocesses

ROOT = Path(__file__).resolve().parent.parent


def _generate(
    tmp_path: Path, job: str, answers: object, *extra: str
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
           "ASSISTANT_PUBLIC_BASE_URL": "http://kiosk.local:8080"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "assistant", "generate", job, "--answers", str(path), *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_generate_makes_a_checked_artifact_and_prints_links(tmp_path: Path) -> None:
    answers = {"event_name": "夏まつり", "event_date": "12月24日", "start_time": "午後6時",
               "place": "中央公園", "theme_color": "ピンク"}  # fmt: skip
    result = _generate(
        tmp_path, "event_page", answers, "--lang", "ja", "--out", str(tmp_path / "out")
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    folder = Path(lines["folder"])
    assert folder.parent == tmp_path / "out"
    assert lines["preview"].startswith("http://kiosk.local:8080/p/")
    assert lines["download"].startswith("http://kiosk.local:8080/a/")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["answers"]["start_time"] == "18:00"
    assert manifest["answers"]["event_date"].endswith("-12-24")
    assert manifest["language"] == "ja" and "html" in manifest["checks_passed"]
    assert "夏まつり" in (folder / "index.html").read_text(encoding="utf-8")
    with zipfile.ZipFile(folder / f"{folder.name}.zip") as archive:
        names = sorted(archive.namelist())
        # Named after the event, in romaji (the kanji read by Open JTalk when it is installed).
        prefix = names[0].split("/")[0]
        assert prefix.endswith("matsuri") and names == [
            f"{prefix}/README.txt",
            f"{prefix}/event.ics",  # "add to calendar" (issue 15)
            f"{prefix}/index.html",
        ]
        assert "アップロード" in archive.read(f"{prefix}/README.txt").decode()
    # The page's own link, printed on its poster and named by its calendar entry.
    assert f"URL:{lines['preview']}" in (folder / "event.ics").read_text(encoding="utf-8")


def test_generate_program_with_typed_values(tmp_path: Path) -> None:
    answers = {
        "quiz_title": "Animal quiz",
        "topic": "animals",
        "question_count": 4,
        "show_answer": False,
    }
    result = _generate(tmp_path, "quiz_game", answers, "--lang", "en")
    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.splitlines()[0].split(": ", 1)[1])
    assert {p.name for p in folder.iterdir()} >= {
        "main.py",
        "README.md",
        "manifest.json",
        "preview.html",
    }
    assert "python3 main.py" in (folder / "README.md").read_text(encoding="utf-8")
    assert "python" in json.loads((folder / "manifest.json").read_text())["checks_passed"]


def test_generate_explains_bad_answers_and_unknown_jobs(tmp_path: Path) -> None:
    result = _generate(tmp_path, "quiz_game", {"quiz_title": "Q", "topic": "dinosaurs"})
    assert result.returncode == 2
    assert "topic: 'dinosaurs' is not accepted (not_a_choice)" in result.stderr
    result = _generate(tmp_path, "quiz_game", {"title": "Q"})
    assert result.returncode == 2 and "title: not a question of quiz_game" in result.stderr
    result = _generate(tmp_path, "quiz_game", {"topic": "food"})
    assert (
        result.returncode == 2
        and "quiz_title: missing, and the question is required" in result.stderr
    )
    result = _generate(tmp_path, "rocket", {})
    assert result.returncode == 2 and "no job 'rocket'; known jobs: " in result.stderr
    assert "cafe_page" in result.stderr and "weekly_timetable" in result.stderr
