"""``database_url`` (issue 17): empty keeps SQLite in data_dir; a PostgreSQL address puts the
whole service on that database. Here the real service is composed from its settings over a
real PostgreSQL (``testing/postgres.py``): a user makes a café page and publishes it, staff's
commands read and write the same database, a restart loses nothing, and no SQLite file is
made beside it: never half on one store and half on the other."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.cli.main import main
from assistant.compose import Services
from assistant.compose_store import store_for
from assistant.config import load_settings
from assistant.errors import ConfigError
from assistant.events import Reply, Turn
from assistant.extras import MissingExtraError
from assistant.review import APPROVED
from assistant.store.postgres.store import PostgresStore
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk

URL = "postgresql://assistant:s3cret-word@127.0.0.1:5432/assistant"
BASE_URL = "http://kiosk.example:8080"


def test_empty_is_sqlite_and_a_postgresql_address_is_read_and_kept_secret(
    tmp_path: Path,
) -> None:
    assert load_settings(environ={}).database_url == ""
    assert isinstance(store_for(load_settings(environ={}, data_dir=str(tmp_path))), SQLiteStore)
    settings = load_settings(environ={"ASSISTANT_DATABASE_URL": URL})
    assert settings.database_url == URL
    assert "s3cret-word" not in repr(settings)
    assert isinstance(store_for(settings), PostgresStore)
    short = "postgres://db.example/assistant"
    assert load_settings(environ={"ASSISTANT_DATABASE_URL": short}).database_url == short


def test_another_kind_of_address_is_refused_naming_the_key() -> None:
    with pytest.raises(
        ConfigError, match=r"^ASSISTANT_DATABASE_URL: must start with postgresql://"
    ):
        load_settings(environ={"ASSISTANT_DATABASE_URL": "mysql://db/assistant"})


def test_litestream_beside_postgresql_is_refused_in_one_sentence() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            environ={
                "ASSISTANT_DATABASE_URL": URL,
                "ASSISTANT_LITESTREAM_REPLICA_URL": "file:///var/backups/assistant",
            }
        )
    assert caught.value.message.startswith("litestream_replica_url: Litestream replicates")
    assert "WAL archiving" in caught.value.message


def test_an_unreachable_server_stops_serve_with_one_sentence_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    # A port nobody listens on: refused at once.
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "postgresql://a:s3cret-word@127.0.0.1:9/x")
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    assert main(["stats"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot connect to the database at postgresql://127.0.0.1:9/x")
    assert err.count("\n") == 1 and "s3cret-word" not in err
    assert not (tmp_path / "data" / "assistant.db").exists()


def test_check_says_whether_the_database_answers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    postgres_url: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", postgres_url)
    main(["check"])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "postgresql" in x)
    assert "PostgreSQL 1" in line and "does not answer" not in line
    assert "no database yet" not in out  # the folder holds no database with PostgreSQL
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "postgresql://a:s3cret-word@127.0.0.1:9/x")
    main(["check"])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "postgresql" in x)
    assert "postgresql://127.0.0.1:9/x does not answer" in line
    assert "s3cret-word" not in out


def _settings(tmp_path: Path, url: str, **more: Any) -> Any:
    environ = {"ASSISTANT_LLM_BACKEND": "none", "ASSISTANT_WARM_UP": "false"}
    return load_settings(
        environ=environ, data_dir=str(tmp_path / "data"), public_base_url=BASE_URL,
        database_url=url, **more,
    )  # fmt: skip


async def _built(settings: Any) -> Services:
    services = Services.build(settings)
    await services.store.open()
    return services


async def _say(services: Services, key: str, text: str) -> list[Reply]:
    return await services.manager.handle(
        Turn(session_key=key, text=text, language="en", channel="web")
    )


@pytest.mark.slow
async def test_the_whole_service_runs_on_postgresql_and_a_restart_loses_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = _settings(tmp_path, postgres_url, user_publish=True)
    services = await _built(settings)
    assert isinstance(services.store, PostgresStore)
    try:
        walk = cafe_walk()
        for text in walk[:3]:
            await _say(services, "web:pg", text)
        half = await services.store.load("web:pg")
        assert half is not None and half.answers
    finally:
        await services.manager.close()
        await services.store.close()

    # A restart: every answer given so far is read back from PostgreSQL.
    services = await _built(settings)
    try:
        again = await services.store.load("web:pg")
        assert again is not None and again.answers == half.answers
        for text in walk[3:]:
            await _say(services, "web:pg", text)
        assert await services.queue.run_once(), "the confirmed walk queued one build"
        delivered = await services.manager.last_replies("web:pg")
        assert delivered[-1].choices, "what next is asked after the delivery"
        session = await services.store.load("web:pg")
        assert session is not None and session.artifact_id
        artifact = await services.store.artifact(session.artifact_id)
        assert artifact is not None and (Path(artifact.folder) / "index.html").is_file()

        # The user publishes it: the review, the site and the audit are the database's.
        await _say(services, "web:pg", "put it on the web")
        await _say(services, "web:pg", "yes")
        await services.manager.shares_done()
        review = await services.artifact_desk().review(artifact.id)
        assert review is not None and (review.status, review.by) == (APPROVED, "user")
        assert (settings.site_path / "blue-bakery").exists() or list(settings.site_path.iterdir())
        # The clean-up's record is kept there too, and the health route reads it.
        report = await services.janitor().run(dry_run=False)
        assert await services.store.last_cleanup() == report
    finally:
        await services.manager.close()
        await services.store.close()
    assert not (tmp_path / "data" / "assistant.db").exists(), "nothing went to SQLite"


@pytest.mark.slow
def test_staff_commands_read_and_write_the_same_database(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", postgres_url)
    assert main(["staff", "add", "sam", "--role", "admin"]) == 0
    capsys.readouterr()
    assert main(["staff", "list"]) == 0
    assert "\nsam\tadmin\tactive\t" in capsys.readouterr().out
    assert main(["stats", "--json", "--days", "7"]) == 0
    assert json.loads(capsys.readouterr().out)["sessions"] == 0
    assert main(["audit", "--lang", "ja"]) == 0  # read from PostgreSQL: nothing audited yet
    assert capsys.readouterr().out == "該当する記録はありません。\n"
    assert main(["live"]) == 0
    assert main(["cleanup", "--dry-run"]) == 0
    assert "last run: never" in capsys.readouterr().out
    assert not (tmp_path / "data" / "assistant.db").exists(), "nothing went to SQLite"


def test_without_the_postgres_extra_a_database_url_says_which_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The base install has no psycopg: SQLite works, and asking for PostgreSQL names the extra
    # (tests/test_packaging.py imports the command line from a base wheel).
    monkeypatch.setitem(sys.modules, "assistant.store.postgres.store", None)
    assert isinstance(store_for(load_settings(environ={}, data_dir=str(tmp_path))), SQLiteStore)
    with pytest.raises(MissingExtraError) as caught:
        store_for(load_settings(environ={"ASSISTANT_DATABASE_URL": URL}))
    assert str(caught.value) == (
        "database_url needs the postgres extra: pip install 'facility-assistant[postgres]'"
    )
