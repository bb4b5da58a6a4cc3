"""Speech engines are found through the registry: one file each, nothing heavy imported until
an engine is built, and a newly registered engine used by the facades and listed by check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.check.speech import check_engines
from assistant.config import Settings
from assistant.ports import Recognition
from assistant.speech.engines import registry
from assistant.speech.engines.registry import BuiltEngine, EngineKind, EngineRequest, EngineSpec
from assistant.speech.voice_kit import build_voice


def test_every_engine_file_registers_itself_in_order_of_preference() -> None:
    assert registry.names(EngineKind.RECOGNIZER) == ("whisper", "vosk", "pocketsphinx")
    assert set(registry.names(EngineKind.VOICE)) == {"piper", "kokoro", "openjtalk", "espeak-ng"}
    assert registry.unavailable() == {}
    openjtalk = registry.get("openjtalk")
    assert openjtalk is not None and openjtalk.requires == ("pyopenjtalk",)
    assert openjtalk.serves("ja") and not openjtalk.serves("en")


def test_listing_the_engines_imports_no_engine_library() -> None:
    """Registering is free: Vosk, PocketSphinx, Piper and Open JTalk load only when built."""
    code = (
        "import json, sys\n"
        "from assistant.speech.engines import registry\n"
        "registry.engines()\n"
        "print(json.dumps(sorted(m for m in ('vosk', 'pocketsphinx', 'piper', 'pyopenjtalk')"
        " if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout) == []


class EchoRecognizer:
    """A recogniser that hears whatever it is told to: the engine a new file would add."""

    name = "echo"

    def supports(self, language: str) -> bool:
        return language == "en"

    def start(self, language: str, grammar: list[str] | None = None) -> EchoStream:
        return EchoStream()


class EchoStream:
    def accept(self, pcm: bytes) -> str | None:
        return None

    def finish(self) -> Recognition:
        return Recognition("echo", 1.0, engine="echo")


def _build_echo(request: EngineRequest) -> BuiltEngine:
    if not request.wants("echo", "en"):
        return BuiltEngine(None)
    return BuiltEngine(EchoRecognizer(), frozenset({"en"}))


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> EngineSpec:
    registry.discover()
    spec = EngineSpec(
        name="echo", kind=EngineKind.RECOGNIZER, languages=frozenset({"en"}),
        requires=("json",), build=_build_echo, rank=15,
    )  # fmt: skip
    monkeypatch.setitem(registry._SPECS, "echo", spec)
    return spec


def test_a_registered_engine_serves_where_the_settings_name_it(
    echo: EngineSpec, tmp_path: Path
) -> None:
    models = tmp_path / "no-models"
    named = build_voice(Settings(models_dir=models, stt_engine_en="echo"))
    recognizer = named.recognizer_for("en")
    assert recognizer is not None and recognizer.name == "echo"
    assert "pocketsphinx" not in [r.name for r in named.recognizers]
    # By preference (rank 15) it comes before PocketSphinx (20) when English is left to auto.
    auto = build_voice(Settings(models_dir=models))
    recognizer = auto.recognizer_for("en")
    assert recognizer is not None and recognizer.name == "echo"
    chosen = build_voice(Settings(models_dir=models, stt_engine_en="pocketsphinx"))
    recognizer = chosen.recognizer_for("en")
    assert recognizer is not None and recognizer.name == "pocketsphinx"


def test_check_lists_every_registered_engine(echo: EngineSpec, tmp_path: Path) -> None:
    found = {f.name: f for f in check_engines(Settings(data_dir=tmp_path))}
    assert found["echo"].ok and found["echo"].detail == "speech recogniser for en"
    assert found["pocketsphinx"].ok
    assert found["openjtalk"].detail == "voice for ja"
    assert {"vosk", "piper", "espeak-ng"} <= set(found)
