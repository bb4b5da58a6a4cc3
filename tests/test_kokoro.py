"""Kokoro, the Japanese voice (issue 13): real model, real Open JTalk, real Whisper listening.

What a user notices: Kokoro's Japanese is heard as the same words; the kiosk's first reply
is spoken at once by Open JTalk while Kokoro loads, and by Kokoro once it has; repeated
prompts come from the cache; a kiosk without the Kokoro model still speaks, and
``assistant check`` says how to get it.
"""

from __future__ import annotations

import shutil
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.check.speech import check_text_to_speech
from assistant.config import PROJECT_ROOT, Settings
from assistant.speech.audio import from_pcm
from assistant.speech.engines import kokoro
from assistant.speech.engines.kokoro import KokoroSynthesizer, kokoro_model_file
from assistant.speech.engines.openjtalk import OpenJTalkSynthesizer
from assistant.speech.models.installed import entry_location, is_installed
from assistant.speech.models.manifest import load_manifest
from assistant.speech.synthesis import SpeechSynthesis, default_synthesis

pytestmark = pytest.mark.slow  # loads Kokoro (about 3 s) and Whisper base

MODELS = PROJECT_ROOT / "models"
VOICES = PROJECT_ROOT / "voices"
SENTENCE = "カフェのページを作ります。"


def _model(name: str) -> Path:
    """A manifest model's path, or a failure naming the command that assembles it."""
    for entry in load_manifest(MODELS / "manifest.yaml"):
        if entry.name == name:
            if not is_installed(entry, MODELS):
                pytest.fail(
                    f"model {name} is missing: scripts/fetch-models assemble {name}",
                    pytrace=False,
                )
            return entry_location(entry, MODELS)
    pytest.fail(f"models/manifest.yaml has no {name}", pytrace=False)


@pytest.fixture(scope="module")
def kokoro_file() -> Path:
    return _model("kokoro-v1.0-int8")


@pytest.fixture(scope="module")
def loaded(kokoro_file: Path) -> KokoroSynthesizer:
    """The process's Kokoro, loaded once for the module."""
    engine = KokoroSynthesizer("jf_alpha", kokoro_file)
    assert engine.wait_ready(120), kokoro.__name__ + " did not load: see the log"
    return engine


@pytest.fixture(scope="module")
def whisper() -> object:
    from faster_whisper import WhisperModel

    folder = _model("whisper-base").parent
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)


def _plain(text: str) -> str:
    """Text without punctuation or spaces, width-normalised, for comparing what was heard."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def test_kokoro_speaks_japanese_that_whisper_hears_as_the_same_words(
    loaded: KokoroSynthesizer, whisper: object
) -> None:
    pcm = loaded.synthesize(SENTENCE, "ja")
    audio = from_pcm(pcm).astype("float32") / 32768.0
    assert 1.0 < len(audio) / 16000 < 6.0  # resampled to the project's 16 kHz
    segments, _ = whisper.transcribe(audio, language="ja", beam_size=1)  # type: ignore[attr-defined]
    heard = "".join(segment.text for segment in segments)
    assert _plain(heard) == _plain(SENTENCE), heard


class _HeldModel(kokoro._KokoroModel):
    """Kokoro whose loading waits for the test to let it go: "still loading", as a state."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def _load(self, file: Path) -> None:
        self.release.wait(60)
        super()._load(file)


@pytest.fixture
def held(kokoro_file: Path, loaded: KokoroSynthesizer) -> Iterator[KokoroSynthesizer]:
    model = _HeldModel()
    yield KokoroSynthesizer("jf_alpha", kokoro_file, model=model)
    model.release.set()


def test_the_first_reply_while_kokoro_loads_is_open_jtalk_then_kokoro_speaks(
    held: KokoroSynthesizer,
) -> None:
    openjtalk = OpenJTalkSynthesizer()
    synthesis = SpeechSynthesis({"ja": [held, openjtalk]})
    assert synthesis.engine_for("ja") == "kokoro"  # the configured voice, once it can
    first = synthesis.speak_sentence(SENTENCE, "ja")
    assert first == openjtalk.synthesize(SENTENCE, "ja")  # spoken now, not after the load
    assert not held.ready()
    held._model.release.set()  # type: ignore[attr-defined]
    assert held.wait_ready(120)
    later = synthesis.speak_sentence(SENTENCE, "ja")
    assert later != first and later == held.synthesize(SENTENCE, "ja")


class _Counting(KokoroSynthesizer):
    calls = 0

    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        self.calls += 1
        return super().synthesize(text, language, rate)


def test_the_cache_serves_a_repeated_prompt(loaded: KokoroSynthesizer, kokoro_file: Path) -> None:
    engine = _Counting("jf_alpha", kokoro_file)
    synthesis = SpeechSynthesis({"ja": [engine]})
    first = synthesis.synthesize("お名前を教えてください。", "ja")
    again = synthesis.synthesize("お名前を教えてください。", "ja")
    assert first == again and engine.calls == 1


def test_without_the_kokoro_model_check_says_how_to_get_it_and_open_jtalk_speaks(
    tmp_path: Path,
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(MODELS / "manifest.yaml", models / "manifest.yaml")  # no model files
    found = kokoro_model_file(models)
    assert found is not None and not found[2]
    findings = check_text_to_speech(Settings(models_dir=models, voices_dir=VOICES))
    lines = [f"{f.name} {f.detail} {f.fix or ''}" for f in findings if not f.ok]
    assert any(
        "Kokoro" in line and "scripts/fetch-models assemble kokoro-v1.0-int8" in line
        for line in lines
    ), lines
    synthesis = default_synthesis(VOICES, models)
    assert synthesis.engine_for("ja") == "openjtalk"
    assert len(synthesis.synthesize("ようこそ。何を作りますか？", "ja")) > 16000
