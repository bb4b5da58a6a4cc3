"""The console as a real subprocess: scripted by a pipe, killed with SIGKILL, started again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue

import pytest

from testing.cafe_walk import cafe_walk

pytestmark = pytest.mark.slow  # the console in subprocesses, killed and restarted

ROOT = Path(__file__).resolve().parent.parent


class Console:
    """An ``assistant console`` process whose output is read line by line as it comes."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant", "console", *args],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8",
        )  # fmt: skip
        self.lines: Queue[str] = Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, fragment: str, timeout: float = 30.0) -> str:
        """Wait for a line containing ``fragment``; fail with everything seen so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if fragment in line:
                return line
        stderr = self.process.stderr.read() if self.process.poll() is not None else ""
        raise AssertionError(f"{fragment!r} never came; saw:\n" + "\n".join(self.seen) + stderr)

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=60)


def _stored_answers(data_dir: Path) -> dict:
    conn = sqlite3.connect(data_dir / "assistant.db")
    row = conn.execute("SELECT answers FROM sessions WHERE key = 'console:local'").fetchone()
    conn.close()
    return json.loads(row[0])


def test_whole_flow_through_a_pipe(tmp_path: Path) -> None:
    script = "\n".join(
        # Issue 15: the event page also asks the end time, an address, the cost, the organiser,
        # a contact and the page style (all optional).
        ["2", "Summer Party", "December 24", "6 pm", "8 pm", "the park", "skip", "skip", "free",
         "skip", "skip", "friendly", "skip", "yes", "finish"]
    )  # fmt: skip
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "console", "--lang", "en"],
        input=script + "\n", capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "What would you like to make?" in out
    assert "Here are your answers." in out
    assert "is ready!" in out and "/p/" in out and "/a/" in out
    assert out.rstrip().endswith("Thank you! Goodbye.")
    manifests = list((tmp_path / "artifacts").glob("*/manifest.json"))
    assert len(manifests) == 1
    answers = json.loads(manifests[0].read_text(encoding="utf-8"))["answers"]
    assert answers["event_name"] == "Summer Party"
    assert (answers["event_date"], answers["start_time"]) == ("2026-12-24", "18:00")
    assert (answers["end_time"], answers["cost"], answers["layout"]) == (
        "20:00",
        "free",
        "friendly",
    )
    assert answers["address"] is None and answers["organiser"] is None


@pytest.mark.parametrize("kill_after", [1, 3, 5])
@pytest.mark.timeout(600)
def test_sigkill_and_restart_resumes_at_the_same_question(tmp_path: Path, kill_after: int) -> None:
    answers = ["ブルーベーカリー", "コーヒー、ケーキ", "9時から17時", "2", "青"]
    console = Console(tmp_path, "--lang", "ja")
    console.expect("何を作りますか")
    console.send("カフェ")
    console.expect("お店の名前")
    for text in answers[:kill_after]:
        console.send(text)
        console.expect(f"「{text}」" if text not in ("2", "青") else "ですね")
    console.kill()
    kept = _stored_answers(tmp_path)
    assert len(kept) == kill_after, kept

    again = Console(tmp_path)
    again.expect("おかえりなさい")
    line = again.expect("問目")
    assert f"{kill_after + 1}問目" in line, "the same question is asked again"
    for text in answers[kill_after:]:
        again.send(text)
    # the skips after the colour: the message, the offer of more sections, the logo, the photo
    for text in cafe_walk(language="ja", greet=False, menu=None, confirm=False)[len(answers) :]:
        again.send(text)
    again.expect("答えを確認します")
    again.send("はい")
    again.expect("できました")
    again.send("終わる")
    again.expect("さようなら")
    assert again.close() == 0
    final = _stored_answers(tmp_path)
    assert final["shop_name"] == "ブルーベーカリー" and final["menu_items"] == [
        "コーヒー",
        "ケーキ",
    ]


def test_sigkill_right_after_confirming_still_delivers(tmp_path: Path) -> None:
    console = Console(tmp_path, "--lang", "en")
    console.expect("What would you like to make?")
    for text in cafe_walk(greet=False, confirm=False):
        console.send(text)
    console.expect("Here are your answers.")
    # Killed at once: whether or not the worker finished, the restart shows the result.
    console.send("yes")
    console.expect("I am making your")
    console.kill()
    again = Console(tmp_path)
    again.expect("is ready!", timeout=60)
    assert again.close() == 0
    assert len(list((tmp_path / "artifacts").glob("*/manifest.json"))) == 1


def test_sigkill_at_confirm_reads_the_answers_back_after_restart(tmp_path: Path) -> None:
    console = Console(tmp_path, "--lang", "en")
    console.expect("What would you like to make?")
    for text in cafe_walk(greet=False, confirm=False):
        console.send(text)
    console.expect("Is everything right?")
    console.kill()
    again = Console(tmp_path)
    again.expect("Welcome back!")
    again.expect("Here are your answers.")
    again.expect("1. What is your shop called? Blue Bakery")
    again.expect("Is everything right?")
    again.send("finish")
    assert again.close() == 0


def test_resume_by_code_continues_another_session(tmp_path: Path) -> None:
    console = Console(tmp_path, "--lang", "en", "--session", "kiosk")
    console.expect("What would you like to make?")
    console.send("1")
    console.send("Blue Bakery")
    console.expect("What do you sell?")
    console.kill()
    conn = sqlite3.connect(tmp_path / "assistant.db")
    code = conn.execute("SELECT code FROM sessions WHERE key = 'console:kiosk'").fetchone()[0]
    conn.close()
    phone = Console(tmp_path, "--resume", code.lower())
    phone.expect("Welcome back!")
    phone.expect("Question 2 of 9. What do you sell?")
    phone.send("bread")
    phone.expect("When is your shop open?")
    assert phone.close() == 0
    unknown = subprocess.run(
        [sys.executable, "-m", "assistant", "console", "--resume", "ZZZZZZ"],
        cwd=ROOT, env={**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert unknown.returncode == 1
    assert "No session has the code 'ZZZZZZ'" in unknown.stderr
