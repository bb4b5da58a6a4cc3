"""A whole spoken kiosk session through the real sound path: ``assistant kiosk`` in a subprocess,
its microphone and speaker being ALSA ``file`` devices configured by an ``.asoundrc`` we write.

A plain file as the microphone cannot carry a dialog: ALSA's file capture over a null slave runs
about 1000 times faster than real time (120 s of audio in 0.12 s, measured), so a whole answer
would reach the kiosk in a few milliseconds, more than its 3 s microphone buffer holds, and the
start of it (the words) would be dropped. So the kiosk runs with ``--realtime-input`` (the
microphone is read no faster than real time) and the microphone is a FIFO (``MicPipe``); this
test is the room and the person in front of the kiosk:

* The room (silence plus background noise) keeps a little audio waiting in the pipe, so no read
  of the device ever comes back short (ALSA would fill the rest with stale audio).
* An answer (Piper speech, or espeak-ng's, framed by silence and noise) goes into the pipe in
  one piece, once the assistant has stopped talking: the speaker file (real sounddevice output,
  paced in real time by ``Speaker``) has stopped growing.
* What to answer is read from the session row in SQLite (state, question index, pending
  read-back), as a person would answer the question they just heard.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from assistant.speech import audio
from testing.alsa import PROJECT_ROOT, MicPipe, sound_env, stop_kiosk, write_asoundrc
from testing.speech_audio import mix, noise, speak_en, speak_espeak

pytestmark = pytest.mark.slow

ROOM = 0.004  # background noise level, as in tests/test_kiosk.py
QUIET_AFTER_REPLY = 1.0  # the speaker has been silent this long: the assistant has finished
NO_REPLY_AFTER = 12.0  # nothing was said back this long after an answer: say it again
QUESTIONS = ("quiz_title", "topic", "question_count", "show_answer")  # dialogs/jobs/quiz_game.yaml
ANSWERS = {
    "quiz_title": "animal quiz",
    "topic": "animals",
    "question_count": "five",
    "show_answer": "yes",
}

Row = dict[str, object]
Voice = Callable[[str], bytes]


class SessionRow:
    """The kiosk's session as the subprocess stored it."""

    def __init__(self, database: Path) -> None:
        self.database = database

    def read(self) -> Row | None:
        """The row now, or None while there is none (or the database is busy)."""
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


def what_to_say(row: Row | None) -> str | None:
    """The answer to the question the session is asking ('' to stay quiet, None when done)."""
    if row is None:
        return ""
    state = row["state"]
    if row["pending"]:  # "I heard X. Is that right?" (a job heard unsurely, or an answer)
        return "yes"
    if state in ("welcome", "choose_job"):
        return "number four"
    if state == "ask" and row["job_id"] != "quiz_game":  # misheard the number: back to the list
        return "cancel"
    if state == "ask":
        index = int(row["idx"] or 0)  # type: ignore[call-overload]
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
        """Take in what was written since the last poll."""
        size = self.path.stat().st_size if self.path.exists() else 0
        if size < self._offset:  # the device was reopened, which truncates the file
            self._offset = 0
        if size > self._offset:
            with self.path.open("rb") as file:
                file.seek(self._offset)
                self.played += file.read(size - self._offset)
            self._offset = size
            self.grew_at = time.monotonic()


def _room(seconds: float) -> bytes:
    seed = int(time.monotonic() * 1000) % 8  # a few different noises, all cached
    return mix(audio.silence(seconds), noise(seconds, ROOM, seed))


def _utterance(speech: bytes) -> bytes:
    """What the microphone hears: the room, the words, a breath (then the room goes on)."""
    words = speech + audio.silence(0.3)
    return _room(0.3) + mix(words, noise(audio.duration(words), ROOM, 12))


def _voiced_seconds(pcm: bytes, threshold: int = 500) -> float:
    """Seconds of 30 ms frames with a sample louder than ``threshold``."""
    samples = np.abs(np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int32))
    frames = samples[: len(samples) // audio.FRAME_SAMPLES * audio.FRAME_SAMPLES]
    frames = frames.reshape(-1, audio.FRAME_SAMPLES)
    return float(np.count_nonzero(frames.max(axis=1) > threshold)) * audio.FRAME_SECONDS


@dataclass
class Session:
    """What happened in one spoken session."""

    row: Row | None = None
    said: list[tuple[float, str, str | None, int]] = field(default_factory=list)
    played: bytes = b""
    output: str = ""
    returncode: int | None = None
    took: float = 0.0

    def heard(self) -> list[str]:
        """The kiosk's log line for each utterance it cut from the microphone and recognised."""
        return [line for line in self.output.splitlines() if "voice_turn: kiosk heard " in line]

    def story(self) -> str:
        """Everything a failure message needs: who said what, the row, the kiosk's log."""
        said = [entry[:3] for entry in self.said]
        return (
            f"took {self.took:.1f} s, exit {self.returncode}\nsaid (s, what, state): {said}\n"
            f"last row: {self.row}\nkiosk output (tail):\n{self.output[-4000:]}"
        )


def run_session(
    folder: Path,
    voice_for: Callable[[str], Voice],
    *,
    limit: float,
    enough: Callable[[Row], bool] | None = None,
) -> Session:
    """Talk to ``assistant kiosk`` until it exits by itself, or until the reply to the last
    answer has been heard and ``enough(row)`` says there is nothing more to say (then Ctrl-C).
    Fails when neither happens within ``limit`` seconds."""
    home, data = folder / "home", folder / "data"
    speaker_file = folder / "speaker.raw"
    mic = MicPipe(folder / "mic.fifo", lead=0.4)
    write_asoundrc(home, mic.path, speaker_file)
    for text in {*ANSWERS.values(), "number four", "finish", "cancel"}:
        voice_for(text)(text)  # synthesise (cached) before the clock starts
    env = sound_env(home, ASSISTANT_DATA_DIR=str(data), ASSISTANT_LOG_LEVEL="info")
    rows, speaker, session = SessionRow(data / "assistant.db"), Speaker(speaker_file), Session()
    command = [sys.executable, "-m", "assistant", "kiosk", "--lang", "en"]
    command += ["--realtime-input", "--exit-when-done"]
    log = (folder / "kiosk.log").open("w+")
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    started = time.monotonic()
    timed_out = False
    try:
        spoke_at, replied = 0.0, True
        while process.poll() is None:
            if time.monotonic() - started > limit:
                timed_out = True
                break
            mic.keep_room(_room)
            speaker.poll()
            row = session.row = rows.read() or session.row
            now = time.monotonic()
            if speaker.grew_at > spoke_at:
                replied = True
            quiet = now - speaker.grew_at >= QUIET_AFTER_REPLY
            if quiet and (replied or now - spoke_at > NO_REPLY_AFTER) and speaker.played:
                if replied and row is not None and enough is not None and enough(row):
                    break
                answer = what_to_say(row)
                if answer:
                    state = row and str(row["state"])
                    session.said.append(
                        (round(now - started, 1), answer, state, len(speaker.played))
                    )
                    mic.write(_utterance(voice_for(answer)(answer)))
                    spoke_at, replied = time.monotonic(), False
            time.sleep(0.02)
    finally:
        stop_kiosk(process, mic, output=folder / "kiosk.log", room=_room)  # Ctrl-C, as staff do
        session.returncode = process.wait()
        session.took = time.monotonic() - started
        speaker.poll()
        session.row = rows.read() or session.row
        session.played = bytes(speaker.played)
        log.seek(0)
        session.output = log.read()
        log.close()
    print(session.story())
    if timed_out:
        pytest.fail(f"the session did not finish in {limit:.0f} s\n{session.story()}")
    return session


MIC_PROBE = """
import asyncio, json, sys, time
from assistant.speech.devices.microphone import Microphone
async def main():
    frames = []
    async with Microphone(realtime=True, buffer_seconds=1.0) as mic:
        started = time.monotonic()
        async for frame in mic.frames():
            frames.append(frame)
            if len(frames) == int(sys.argv[1]):
                break
        took = time.monotonic() - started
    open(sys.argv[2], "wb").write(b"".join(frames))
    print(json.dumps({"took": took, "dropped": mic.dropped_frames}))
asyncio.run(main())
"""


def test_a_pipe_microphone_read_in_real_time_keeps_a_whole_answer(tmp_path: Path) -> None:
    """What lost the answers before ``realtime=True``: 3 s written at once reach the
    microphone in milliseconds, and a buffer of 1 s keeps only the last second. Paced, every
    sample arrives once, in order, at the speed of the clock."""
    answer = (np.arange(3 * audio.SAMPLE_RATE) % 20_000 + 1).astype("<i2").tobytes()
    mic = MicPipe(tmp_path / "mic.fifo", lead=0.3)
    write_asoundrc(tmp_path / "home", mic.path, tmp_path / "speaker.raw")
    mic.write(answer)  # all at once, before the microphone even opens
    out, frames = tmp_path / "heard.raw", round(3.3 / audio.FRAME_SECONDS)
    process = subprocess.Popen(
        [sys.executable, "-c", MIC_PROBE, str(frames), str(out)],
        cwd=PROJECT_ROOT, env=sound_env(tmp_path / "home"), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            mic.keep_room(audio.silence)  # after the answer, a silent room
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
        stdout, _ = process.communicate()
        mic.close()
    assert process.returncode == 0, stdout
    result = json.loads(stdout.strip().splitlines()[-1])
    heard = out.read_bytes()
    assert result["dropped"] == 0, result
    assert heard[: len(answer)] == answer, "the answer arrived whole and in order"
    assert not heard[len(answer) :].strip(b"\0"), "then the silent room, nothing stale"
    assert 3.1 <= result["took"] <= 4.5, f"read at the speed of the clock: {result}"


def test_a_spoken_kiosk_session_through_alsa_reaches_delivery(tmp_path: Path) -> None:
    session = run_session(tmp_path, lambda text: speak_en, limit=170.0)
    story = session.story()
    row = session.row
    assert row is not None, f"the kiosk never stored a session\n{story}"
    assert row["state"] == "ended", f"the session stopped early\n{story}"
    assert session.returncode == 0, f"--exit-when-done: it exits by itself\n{story}"
    answers = row["answers"]
    assert isinstance(answers, dict), story
    assert row["job_id"] == "quiz_game", story
    assert answers.get("topic") == "animals", story
    assert answers.get("question_count") == 5, story
    assert answers.get("show_answer") is True, story
    assert answers.get("quiz_title"), story
    assert row["artifact_id"], f"nothing was delivered\n{story}"
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "assistant.db")) as db:
        artifacts = db.execute(
            "SELECT COUNT(*) FROM artifacts WHERE id = ?", (row["artifact_id"],)
        ).fetchone()[0]
    assert artifacts == 1, f"no artifact row for {row['artifact_id']}\n{story}"
    heard = session.heard()
    assert len(heard) == len(session.said), f"an answer never reached the recogniser\n{story}"
    voiced = _voiced_seconds(session.played)
    assert voiced > 15, f"only {voiced:.1f} s of replies reached the speaker file\n{story}"
    finish_at = next(played for _, text, _, played in session.said if text == "finish")
    goodbye = _voiced_seconds(session.played[finish_at:])
    assert goodbye > 0.5, f"the goodbye did not reach the speaker ({goodbye:.1f} s)\n{story}"


def test_an_answer_spoken_by_espeak_through_alsa(tmp_path: Path) -> None:
    """espeak-ng's voice (a harder one for the recogniser) picks the job; the kiosk asks the
    first question; then staff press Ctrl-C."""

    def voice_for(text: str) -> Voice:
        return speak_espeak if text == "number four" else speak_en

    def job_chosen(row: Row) -> bool:
        return row["job_id"] == "quiz_game" and row["state"] == "ask"

    session = run_session(tmp_path, voice_for, limit=100.0, enough=job_chosen)
    story = session.story()
    row = session.row
    assert row is not None and job_chosen(row), f"the quiz was not chosen\n{story}"
    said = [text for _, text, _, _ in session.said]
    # espeak's "number four" is often heard unsurely: then the kiosk reads the job back and a
    # "yes" (Piper's) takes it; either way espeak's answer is what chose the quiz.
    assert said[-1] == "number four" or said[-2:] == ["number four", "yes"], story
    heard = session.heard()
    assert len(heard) == len(session.said), f"an answer never reached the recogniser\n{story}"
    question_at = session.said[-1][3]  # where the speaker file was when the answer was given
    asked = _voiced_seconds(session.played[question_at:])
    assert asked > 1.0, f"the first question did not reach the speaker ({asked:.1f} s)\n{story}"
    assert session.returncode in (0, 130), f"Ctrl-C stops it cleanly\n{story}"
    assert "Traceback" not in session.output, story


def test_kiosk_reprompt_seconds_come_from_the_settings(tmp_path: Path) -> None:
    """ASSISTANT_KIOSK_REPROMPT_S=5: the real kiosk offers the question again after 5 s of
    silence (the default would wait 20 s), and says so through the speaker."""
    home, data = tmp_path / "home", tmp_path / "data"
    speaker_file = tmp_path / "speaker.raw"
    mic = MicPipe(tmp_path / "mic.fifo", lead=0.4)
    write_asoundrc(home, mic.path, speaker_file)
    env = sound_env(
        home, ASSISTANT_DATA_DIR=str(data), ASSISTANT_KIOSK_REPROMPT_S="5",
        ASSISTANT_KIOSK_PAUSE_S="60", ASSISTANT_LLM_ENABLED="0",
    )  # fmt: skip
    command = [sys.executable, "-m", "assistant", "kiosk", "--lang", "en", "--realtime-input"]
    log = tmp_path / "kiosk.log"
    with log.open("w") as printed:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=printed, stderr=subprocess.STDOUT
        )
    speaker = Speaker(speaker_file)
    reprompted_at: float | None = None
    quiet_since: float | None = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and reprompted_at is None:
            mic.keep_room(_room)
            speaker.poll()
            now = time.monotonic()
            if speaker.played and quiet_since is None and now - speaker.grew_at >= 1.0:
                quiet_since = speaker.grew_at  # the greeting and menu have been spoken
            if quiet_since is not None and speaker.grew_at > quiet_since:
                reprompted_at = speaker.grew_at
            time.sleep(0.02)
    finally:
        stop_kiosk(process, mic, output=log)
    assert quiet_since is not None and reprompted_at is not None, "it never spoke again"
    assert 4.0 <= reprompted_at - quiet_since <= 8.0, reprompted_at - quiet_since
    with contextlib.closing(sqlite3.connect(data / "assistant.db")) as db:
        replies = [row[0] for row in db.execute("SELECT replies FROM turns")]
    assert any("Take your time." in reply for reply in replies), replies
