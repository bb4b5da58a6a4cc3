"""The data folder is the service's alone: generated code in the sandbox cannot read it.

The database holds every user's answers and codes, and the artifacts folder every user's
files. A program a model helped write runs in the sandbox on the same machine, so the folder
is private (0700 folders, 0600 files) and the sandbox has no view of it. The data folder is
put in a folder anyone may enter, as ``/srv/assistant/data`` would be, so the test means it.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.session import Artifact, GenerationRequest
from assistant.store.sqlite import SQLiteStore
from generators import sandbox
from generators.registry import build_generators
from generators.sandbox import run_sandboxed, sandbox_python
from generators.template import TemplateRenderer

READ = """
import sys
try:
    data = open(sys.argv[1], "rb").read(16)
except OSError as err:
    print(type(err).__name__)
else:
    print("read", data)
"""


@pytest.fixture
def open_place() -> Iterator[Path]:
    """A folder every user of the machine may enter and list, like /srv or a home folder."""
    place = Path(tempfile.mkdtemp(prefix="open-place-"))
    place.chmod(0o755)
    yield place
    shutil.rmtree(place, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def make_artifact(store: SQLiteStore, catalog: JobCatalog, artifacts: Path) -> Artifact:
    queue = GenerationQueue(
        store=store,
        jobs=catalog,
        generators=build_generators(TemplateRenderer(), None),
        artifacts_dir=artifacts,
        on_delivered=None,  # type: ignore[arg-type]  # make_now tells nobody
        on_failed=None,  # type: ignore[arg-type]
    )
    await queue.start()
    try:
        answers = {"shop_name": "Blue Bakery", "menu_items": ["bread"], "opening_hours": "9 to 5"}
        request = GenerationRequest("k", "cafe_page", "en", answers, "s1", 1)
        made = await queue.make_now(request)
    finally:
        await queue.stop()
    assert isinstance(made, Artifact), made
    return made


async def test_a_sandboxed_program_cannot_open_the_database_or_an_artifact(
    open_place: Path, catalog: JobCatalog
) -> None:
    data = open_place / "data"
    store = SQLiteStore(data / "assistant.db")
    await store.open()
    try:
        artifact = await make_artifact(store, catalog, data / "artifacts")
        page = Path(artifact.folder) / "index.html"
        for target in (store.path, page):
            result = await run_sandboxed([sandbox_python(), "-c", READ, str(target)])
            assert result.stdout.strip() in ("PermissionError", "FileNotFoundError"), result
    finally:
        await store.close()


async def test_a_program_running_as_the_service_user_finds_the_data_folder_hidden(
    open_place: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A service that is not root runs programs as itself, which 0700 does not keep out: what
    # the sandbox does then, tried here as root by not dropping to nobody (the owner may read).
    monkeypatch.setattr(sandbox, "_drops_privileges", lambda: False)
    monkeypatch.setattr(sandbox, "_hidden", ())
    data = open_place / "data"
    store = SQLiteStore(data / "assistant.db")
    await store.open()
    await store.close()
    visible = await run_sandboxed([sandbox_python(), "-c", READ, str(store.path)])
    assert visible.stdout.startswith("read b'SQLite format 3")  # so the test can fail
    sandbox.hide_from_programs(data)
    hidden = await run_sandboxed([sandbox_python(), "-c", READ, str(store.path)])
    assert hidden.stdout.strip() in ("PermissionError", "FileNotFoundError"), hidden
    assert hidden.network_isolated and hidden.tree_contained
    assert data.is_dir() and store.path.exists()  # hidden from the program, not from us


async def test_the_data_folder_database_wal_and_artifacts_are_the_services_alone(
    open_place: Path, catalog: JobCatalog
) -> None:
    data = open_place / "data"
    store = SQLiteStore(data / "assistant.db")
    await store.open()
    try:
        artifact = await make_artifact(store, catalog, data / "artifacts")
        assert mode(data) == 0o700
        for suffix in ("", "-wal", "-shm"):
            assert mode(data / f"assistant.db{suffix}") == 0o600, suffix
        assert mode(data / "artifacts") == 0o700
        folder = Path(artifact.folder)
        assert mode(folder) == 0o700
        assert {mode(path) for path in folder.iterdir()} == {0o600}
    finally:
        await store.close()


async def test_an_open_data_folder_from_before_is_made_private_at_start_with_a_log_line(
    open_place: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = open_place / "data"
    (data / "artifacts" / "s1v1").mkdir(parents=True, mode=0o755)
    for folder in (data, data / "artifacts", data / "artifacts" / "s1v1"):
        folder.chmod(0o755)
    (data / "artifacts" / "s1v1" / "index.html").write_text("<p>answers</p>")
    (data / "artifacts" / "s1v1" / "index.html").chmod(0o644)
    old = SQLiteStore(data / "assistant.db")
    old.open_sync()
    await old.close()
    (data / "assistant.db").chmod(0o644)
    with caplog.at_level(logging.WARNING):
        store = SQLiteStore(data / "assistant.db")
        await store.open()
        await store.close()
    assert mode(data) == 0o700
    assert mode(data / "assistant.db") == 0o600
    assert mode(data / "artifacts") == 0o700
    assert mode(data / "artifacts" / "s1v1") == 0o700
    assert mode(data / "artifacts" / "s1v1" / "index.html") == 0o600
    assert any(str(data) in r.getMessage() and "private" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a file another user owns")
async def test_files_of_other_owners_in_the_data_folder_are_left_as_they_are(
    open_place: Path,
) -> None:
    # Tightening never follows a link out of the folder.
    outside = open_place / "outside.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    data = open_place / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "link").symlink_to(outside)
    store = SQLiteStore(data / "assistant.db")
    await store.open()
    await store.close()
    assert mode(data) == 0o700
    assert mode(outside) == 0o644
