"""Missing speech parts: one clear message each, and the text channels keep working."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT
from assistant.jobs.loader import load_jobs
from testing.alsa import run_assistant

pytestmark = pytest.mark.slow  # the command line in subprocesses


def _no_sound_card(home: Path) -> Path:
    """An ALSA configuration whose default device does not exist."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".asoundrc").write_text("pcm.!default { type hw; card 7 }\n")
    return home


def test_no_audio_device_one_message_and_the_console_still_works(tmp_path: Path) -> None:
    home = _no_sound_card(tmp_path / "home")
    data = str(tmp_path / "data")
    kiosk = run_assistant(
        home, "kiosk", "--lang", "en", check=False, timeout=60, ASSISTANT_DATA_DIR=data
    )
    assert kiosk.returncode == 2, kiosk.stdout + kiosk.stderr
    errors = [line for line in kiosk.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, kiosk.stderr
    assert "no " in errors[0] and ("microphone" in errors[0] or "sound device" in errors[0])
    assert "Traceback" not in kiosk.stderr
    console = run_assistant(
        home, "console", "--lang", "en", input="1\nfinish\n", ASSISTANT_DATA_DIR=data
    )
    assert "What is your shop called?" in console.stdout


def test_check_names_what_is_missing_and_how_to_get_it(tmp_path: Path) -> None:
    home = _no_sound_card(tmp_path / "home")
    empty = tmp_path / "models"
    empty.mkdir()
    result = run_assistant(
        home,
        "check",
        check=False,
        ASSISTANT_DATA_DIR=str(tmp_path / "data"),
        ASSISTANT_MODELS_DIR=str(empty),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    stt_ja = next(line for line in lines if line.split()[:3] == ["MISSING", "stt", "ja"])
    assert "scripts/fetch-models assemble whisper-base" in stt_ja, "no Whisper model: say how"
    assert any(line.split()[:3] == ["ok", "stt", "en"] and "pocketsphinx" in line for line in lines)
    assert any(line.split()[:3] == ["ok", "tts", "ja"] and "openjtalk" in line for line in lines)
    assert any(line.split()[:2] == ["MISSING", "audio"] for line in lines)
    assert any(
        f"{len(load_jobs(PROJECT_ROOT / 'dialogs' / 'jobs').jobs)} in" in line for line in lines
    )


def test_transcribe_without_a_model_for_the_language(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    from assistant.speech.audio import silence, write_wav

    write_wav(wav, silence(0.5))
    empty = tmp_path / "models"
    empty.mkdir()
    result = run_assistant(
        tmp_path, "transcribe", str(wav), "--lang", "ja", check=False,
        ASSISTANT_MODELS_DIR=str(empty),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no recogniser for ja: run scripts/fetch-models"


def test_say_then_transcribe_round_trip(tmp_path: Path) -> None:
    wav = tmp_path / "answer.wav"
    said = run_assistant(tmp_path, "say", "Number three.", "--lang", "en", "--out", str(wav))
    assert said.stdout.startswith(f"{wav}: ")
    heard = run_assistant(
        tmp_path,
        "transcribe",
        str(wav),
        "--lang",
        "en",
        "--grammar",
        "number one|number two|number three",
    )
    lines = dict(line.split(": ", 1) for line in heard.stdout.strip().splitlines())
    assert lines["text"] == "number three", lines  # Whisper, or PocketSphinx's second opinion
    assert lines["engine"] in ("whisper", "pocketsphinx"), lines
    assert float(lines["confidence"]) > 0.5
    japanese = run_assistant(
        tmp_path, "say", "カフェのページを作ります。", "--lang", "ja", "--out", str(wav)
    )
    assert float(japanese.stdout.split(": ")[1].split()[0]) > 1.0, "seconds of Japanese speech"
