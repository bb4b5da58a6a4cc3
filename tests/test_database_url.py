"""``database_url`` (issue 17): empty keeps SQLite in data_dir; a PostgreSQL address is read and
kept secret, and until the PostgreSQL store serves every port, every command that opens the
store refuses it with one sentence before anything is opened: never half on one store."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.cli.main import main
from assistant.compose import Services
from assistant.compose_store import POSTGRES_NOT_BUILT
from assistant.config import load_settings
from assistant.errors import ConfigError

URL = "postgresql://assistant:s3cret-word@127.0.0.1:5432/assistant"


def test_empty_is_sqlite_and_a_postgresql_address_is_read_and_kept_secret() -> None:
    assert load_settings(environ={}).database_url == ""
    settings = load_settings(environ={"ASSISTANT_DATABASE_URL": URL})
    assert settings.database_url == URL
    assert "s3cret-word" not in repr(settings)
    short = "postgres://db.example/assistant"
    assert load_settings(environ={"ASSISTANT_DATABASE_URL": short}).database_url == short


def test_another_kind_of_address_is_refused_naming_the_key() -> None:
    with pytest.raises(
        ConfigError, match=r"^ASSISTANT_DATABASE_URL: must start with postgresql://"
    ):
        load_settings(environ={"ASSISTANT_DATABASE_URL": "mysql://db/assistant"})


@pytest.mark.parametrize("command", [["serve"], [], ["stats"], ["staff", "list"], ["cleanup"]])
def test_commands_that_open_the_store_refuse_postgresql_for_now_in_one_sentence(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", URL)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    assert main(command) == 2
    assert capsys.readouterr().err == f"error: {POSTGRES_NOT_BUILT}\n"
    assert not (tmp_path / "data").exists(), "nothing was opened, not even a SQLite file"
    assert "PostgreSQL store is not finished yet" in POSTGRES_NOT_BUILT
    assert "leave database_url empty" in POSTGRES_NOT_BUILT


def test_commands_that_never_open_the_store_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", URL)
    assert main(["jobs", "validate"]) == 0
    assert POSTGRES_NOT_BUILT not in capsys.readouterr().err


def test_the_composition_root_refuses_it_too(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"ASSISTANT_DATABASE_URL": URL, "ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    )
    with pytest.raises(ConfigError) as caught:
        Services.build(settings)
    assert caught.value.message == POSTGRES_NOT_BUILT
    assert not (tmp_path / "data").exists()
