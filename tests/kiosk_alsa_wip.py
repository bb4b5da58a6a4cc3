# WORK IN PROGRESS, deliberately not collected by pytest (the name does not start with test_).
# A whole spoken kiosk session through the real sounddevice/ALSA path (issue 4). It reaches the
# third question but loses about half of the spoken answers; see the issue 4 note. Rename to
# test_kiosk_alsa.py once it passes reliably.
"""A whole spoken kiosk session through the real sound path: ``assistant kiosk`` in a subprocess,
its microphone and speaker being ALSA ``file`` devices configured by an ``.asoundrc`` we write.

A plain file as the microphone cannot carry a dialog: ALSA's file capture over a null slave runs
about 1000 times faster than real time (120 s of audio in 0.12 s, measured), so the kiosk's 3 s
microphone buffer drops almost all of it before the first reply has been spoken. The microphone
file is therefore a FIFO, and this test is the person in front of the kiosk:

* The room (silence plus background noise) is written in real time, in small blocks. A read
  that finds the pipe short makes ALSA repeat a few milliseconds of older audio; in room noise
  that does not matter.
* An answer (Piper speech, framed by silence and noise) is written in one go, so the pipe never
  runs short inside speech. It is written only once the assistant has stopped talking: the
  speaker file (real sounddevice output, paced in real time by ``Speaker``) has stopped growing.
* What to answer is read from the session row in SQLite (state, question index, pending
  read-back), as a person would answer the question they just heard.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from assistant.speech import audio
from tests.alsa import PROJECT_ROOT, sound_env, write_asoundrc
from tests.speech_audio import mix, noise, speak_en

ROOM = 0.004  # background noise level, as in tests/test_kiosk.py
BLOCK = 0.064  # seconds of room written at a time
QUIET_AFTER_REPLY = 1.5  # the speaker has been silent this long: the assistant has finished
NO_REPLY_AFTER = 12.0  # nothing was said back this long after an answer: say it again
SESSION_LIMIT = 170.0  # seconds for the whole session
QUESTIONS = ("quiz_title", "topic", "question_count", "show_answer")  # dialogs/jobs/quiz_game.yaml
ANSWERS = {
    "quiz_title": "animal quiz",
    "topic": "animals",
    "question_count": "five",
    "show_answer": "yes",
}


class SessionRow:
    """The kiosk's session as the subprocess stored it."""

    def __init__(self, database: Path) -> None:
        self.database = database

    def read(self) -> dict[str, object] | None:
        if not self.database.exists():
            return None
        try:
            with contextlib.closing(sqlite3.connect(self.database, timeout=1.0)) as db:
                row = db.execute(
                    "SELECT state, idx, pending, answers, job_id, artifact_id FROM sessions "
                    "WHERE key = 'kiosk:local'"
                ).fetchone()
        except sqlite3.OperationalError:  # not created yet, or busy
            return None
        if row is None:
            return None
        state, idx, pending, answers, job_id, artifact_id = row
        return {
            "state": state,
            "idx": idx,
            "pending": pending,
            "answers": json.loads(answers or "{}"),
            "job_id": job_id,
            "artifact_id": artifact_id,
        }


def what_to_say(row: dict[str, object] | None) -> str | None:
    """The answer to the question the session is asking ('' to stay quiet, None when done)."""
    if row is None:
        return ""
    state = row["state"]
    if state in ("welcome", "choose_job"):
        return "number four"
    if row["pending"]:  # "I heard X. Is that right?"
        return "yes"
    if state == "ask":
        index = int(row["idx"] or 0)
        return ANSWERS[QUESTIONS[index]] if index < len(QUESTIONS) else "yes"
    if state == "confirm":
        return "yes"
    if state == "delivered":
        return "finish"
    if state == "ended":
        return None
    return ""  # generating: wait quietly


class Speaker:
    """Everything the kiosk wrote to the speaker file, followed while it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.played = bytearray()
        self._offset = 0
        self.grew_at = 0.0

    def poll(self) -> None:
        size = self.path.stat().st_size if self.path.exists() else 0
        if size < self._offset:  # the device was reopened, which truncates the file
            self._offset = 0
        if size > self._offset:
            with self.path.open("rb") as file:
                file.seek(self._offset)
                self.played += file.read(size - self._offset)
            self._offset = size
            self.grew_at = time.monotonic()


def _room(seconds: float, seed: int) -> bytes:
    return mix(audio.silence(seconds), noise(seconds, ROOM, seed))


def _utterance(text: str) -> bytes:
    return _room(0.6, 11) + mix(speak_en(text) + audio.silence(1.2), noise(9.0, ROOM, 12))


def _open_fifo(path: Path) -> int:
    os.mkfifo(path)
    fd = os.open(path, os.O_RDWR)  # read-write: opening does not wait for the kiosk
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ: room for a whole answer (32 s)
    return fd


def _write_all(fd: int, data: bytes, stop: threading.Event) -> None:
    view = memoryview(data)
    while view and not stop.is_set():
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            time.sleep(0.01)


def _non_silent_seconds(pcm: bytes, threshold: int = 500) -> float:
    samples = np.abs(np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int32))
    if not len(samples):
        return 0.0
    frames = samples[: len(samples) // 480 * 480].reshape(-1, 480)
    return float(np.count_nonzero(frames.max(axis=1) > threshold)) * audio.FRAME_SECONDS


def test_a_spoken_kiosk_session_through_alsa_reaches_delivery(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    mic, speaker_file = tmp_path / "mic.fifo", tmp_path / "speaker.raw"
    fd = _open_fifo(mic)
    write_asoundrc(home, mic, speaker_file)
    os.set_blocking(fd, False)
    for text in {*ANSWERS.values(), "number four", "finish"}:
        speak_en(text)  # synthesise before the clock starts
    env = sound_env(home, ASSISTANT_DATA_DIR=str(data))
    row_reader, speaker = SessionRow(data / "assistant.db"), Speaker(speaker_file)
    said: list[tuple[float, str, str | None]] = []
    stop = threading.Event()
    log = (tmp_path / "kiosk.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "kiosk", "--lang", "en"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    started = time.monotonic()
    row = None
    try:
        spoke_at, replied = 0.0, True
        next_block = time.monotonic()
        seed = 100
        while time.monotonic() - started < SESSION_LIMIT and process.poll() is None:
            now = time.monotonic()
            if now >= next_block:  # the room, in real time
                seed += 1
                _write_all(fd, _room(BLOCK, seed % 8), stop)
                next_block += BLOCK
            speaker.poll()
            row = row_reader.read()
            if row is not None and row["state"] == "ended":
                break
            if speaker.grew_at > spoke_at:
                replied = True
            quiet = now - speaker.grew_at >= QUIET_AFTER_REPLY
            if quiet and (replied or now - spoke_at > NO_REPLY_AFTER) and speaker.played:
                answer = what_to_say(row)
                if answer:
                    said.append((round(now - started, 1), answer, row and str(row["state"])))
                    _write_all(fd, _utterance(answer), stop)
                    spoke_at, replied = time.monotonic(), False
                    next_block = time.monotonic() + audio.duration(_utterance(answer)) - 1.0
            time.sleep(0.02)
        took = time.monotonic() - started
    finally:
        stop.set()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        os.close(fd)
        speaker.poll()
        log.seek(0)
        output = log.read()
        log.close()
    story = f"said: {said}\nlast row: {row}\nkiosk output (tail):\n{output[-3000:]}"
    print(f"session took {took:.1f} s; {story}")
    assert row is not None, f"the kiosk never stored a session\n{story}"
    assert row["state"] in ("ended", "delivered"), f"the session stopped early\n{story}"
    answers = row["answers"]
    assert row["job_id"] == "quiz_game", story
    assert answers.get("topic") == "animals", story
    assert answers.get("question_count") == 5, story
    assert answers.get("show_answer") is True, story
    assert answers.get("quiz_title"), story
    assert row["artifact_id"], f"nothing was delivered\n{story}"
    with contextlib.closing(sqlite3.connect(data / "assistant.db")) as db:
        artifacts = db.execute(
            "SELECT COUNT(*) FROM artifacts WHERE id = ?", (row["artifact_id"],)
        ).fetchone()[0]
    assert artifacts == 1, f"no artifact row for {row['artifact_id']}\n{story}"
    voiced = _non_silent_seconds(bytes(speaker.played))
    assert voiced > 15, f"only {voiced:.1f} s of replies reached the speaker file\n{story}"
