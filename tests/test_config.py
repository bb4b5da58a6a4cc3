"""Settings: defaults with no file, TOML, environment, and a clear message for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.errors import ConfigError


def test_defaults_work_with_nothing_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.host == "127.0.0.1" and settings.port == 8080
    assert settings.data_dir == Path("data")
    assert settings.language == "ja"
    assert settings.base_url == "http://127.0.0.1:8080"
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
