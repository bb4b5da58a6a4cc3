"""``assistant restore``: an archive put back, all of it checked first, nothing overwritten.

The archive is unpacked into a staging folder beside the data folder, and only when every
member is there, matches its sha256, and nothing extra came with it (and the database passes
SQLite's ``quick_check`` and has no migration newer than this version knows) is the staging
folder renamed into place. A data folder that is not empty is refused unless ``force`` is
given, and then it is moved aside (``<folder>.replaced-<time>``), never deleted; one whose
database is open in another process (a running service, Litestream) is refused either way.
Every refusal is a ``BackupError`` raised before anything in the data folder has changed.
An archive of a PostgreSQL database goes back into ``database_url`` with ``pg_restore`` (in
one transaction, after every check, before the files move); see ``backup/postgres.py``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from assistant.private_files import FILE_MODE, make_private
from assistant.store.backup import database
from assistant.store.backup.manifest import (
    CONFIG_PREFIX,
    DATA_PREFIX,
    DATABASE_NAME,
    LITESTREAM_STATE,
    MANIFEST_NAME,
    POSTGRES_DUMP,
    POSTGRES_PREFIX,
    POSTGRESQL,
    SITE_PREFIX,
    BackupError,
    Manifest,
    Member,
    sha256_of,
)

# Fills the staged database file in place (``restore --at``: Litestream's copy of a moment).
DatabaseFiller = Callable[[Path], None]
ARTIFACTS = "artifacts"  # Settings.artifacts_dir, within the data folder


@dataclass(frozen=True, slots=True)
class RestoreTarget:
    """Where an archive goes: the data folder, the site folder when the service keeps it
    outside the data folder, and the settings file (None: where the archive says it was)."""

    data_dir: Path
    site_dir: Path | None = None
    config: Path | None = None
    database_url: str = field(default="", repr=False)  # PostgreSQL's, when set (a secret)


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore did."""

    manifest: Manifest | None  # None when only the database was restored
    data_dir: Path
    moved_aside: tuple[Path, ...] = ()
    config_written: Path | None = None
    seconds: float = 0.0


def restore_archive(
    archive: Path,
    target: RestoreTarget,
    *,
    force: bool = False,
    fill_database: DatabaseFiller | None = None,
) -> RestoreReport:
    """Check and unpack ``archive`` into ``target`` (see the module's docstring);
    ``fill_database`` replaces the archive's database with another copy before the swap."""
    started = time.perf_counter()
    if not archive.is_file():
        raise BackupError("no_archive", file=archive)
    data_dir = target.data_dir.absolute()
    _may_replace(data_dir, force)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restoring-", dir=data_dir.parent))
    try:
        manifest = _unpack(archive, staging)
        _verify(archive, staging, manifest)
        put_database = _check_database(archive, staging, manifest, target, force, fill_database)
        site = _place_site(staging, data_dir, target.site_dir, force)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        _may_replace(data_dir, force)  # once more: a service may have started meanwhile
        put_database()  # PostgreSQL: in one transaction, before any file moves
        moved = [aside for aside in (_replace(staging / DATA_PREFIX, data_dir, stamp),) if aside]
        if site is not None:
            moved += [aside for aside in (_replace(staging / SITE_PREFIX, site, stamp),) if aside]
            make_private(site)
        make_private(data_dir)
        if target.database_url:
            postgres_backup().relocate_artifacts(target.database_url, data_dir / ARTIFACTS)
        config = _restore_config(staging, manifest, target.config)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreReport(manifest, data_dir, tuple(moved), config, time.perf_counter() - started)


def _check_database(
    archive: Path,
    staging: Path,
    manifest: Manifest,
    target: RestoreTarget,
    force: bool,
    fill_database: DatabaseFiller | None,
) -> Callable[[], None]:
    """Every check of the archive's database against where it goes; returns what puts it
    there (nothing for SQLite: its file moves with the data folder)."""
    if manifest.store == POSTGRESQL:
        if not target.database_url:
            raise BackupError("needs_database_url", file=archive)
        if fill_database is not None:
            raise BackupError("pg_at_time")  # the server's WAL archive does that, not Litestream
        (staging / DATA_PREFIX).mkdir(mode=0o700, exist_ok=True)  # an empty data folder
        postgres = postgres_backup()
        dump = staging / POSTGRES_DUMP
        tools = postgres.check_restorable(
            dump, target.database_url, archive, manifest.migrations, force=force
        )
        return lambda: postgres.restore(dump, target.database_url, tools)
    if target.database_url:
        raise BackupError("not_postgres", file=archive)
    staged_db = staging / DATA_PREFIX / DATABASE_NAME
    if fill_database is not None:
        fill_database(staged_db)
    database.check_restored(staged_db, archive)
    artifacts = staging / DATA_PREFIX / ARTIFACTS
    database.relocate_artifacts(staged_db, artifacts, target.data_dir.absolute() / ARTIFACTS)
    return lambda: None


def postgres_backup() -> ModuleType:
    """``backup/postgres.py``, imported when an archive or the settings name PostgreSQL (it
    needs psycopg, the ``postgres`` extra)."""
    return importlib.import_module("assistant.store.backup.postgres")


def restore_database(data_dir: Path, fill: DatabaseFiller, *, force: bool) -> RestoreReport:
    """Only the database, in a data folder whose other files stay (``restore --at`` without
    an archive). The old database, its WAL and Litestream's state are moved aside."""
    started = time.perf_counter()
    data_dir = data_dir.absolute()
    path = data_dir / DATABASE_NAME
    if database.in_use(path):
        raise BackupError("in_use", folder=data_dir)
    if path.exists() and not force:
        raise BackupError("database_exists", path=path)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix=".restoring-", dir=data_dir) as work:
        staged = Path(work) / DATABASE_NAME
        fill(staged)
        database.check_restored(staged, path)
        database.relocate_artifacts(staged, data_dir / ARTIFACTS, data_dir / ARTIFACTS)
        if database.in_use(path):
            raise BackupError("in_use", folder=data_dir)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        moved = []
        for name in (DATABASE_NAME, *(DATABASE_NAME + s for s in database.SIDECARS)):
            old = data_dir / name
            if old.exists():  # a WAL goes with its database: the pair opens together
                aside = data_dir / name.replace(DATABASE_NAME, f"{DATABASE_NAME}.replaced-{stamp}")
                os.rename(old, aside)
                moved.append(aside)
        state = data_dir / LITESTREAM_STATE
        if state.exists():  # the replica's position of the old database
            moved.append(state.rename(data_dir / f"{LITESTREAM_STATE}.replaced-{stamp}"))
        staged.chmod(FILE_MODE)
        os.rename(staged, path)
    return RestoreReport(None, data_dir, tuple(moved), None, time.perf_counter() - started)


def _may_replace(folder: Path, force: bool) -> None:
    """Refuse a folder in use, or one that is not empty without ``force``."""
    if database.in_use(folder / DATABASE_NAME):
        raise BackupError("in_use", folder=folder)
    if _has_contents(folder) and not force:
        raise BackupError("not_empty", folder=folder)


def _has_contents(folder: Path) -> bool:
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        return True
    return folder.is_dir() and any(folder.iterdir())


def _unpack(archive: Path, staging: Path) -> Manifest:
    """Every member into ``staging``, links checked to stay inside it; then the manifest."""
    with contextlib.ExitStack() as stack:
        try:
            tar = stack.enter_context(tarfile.open(archive, "r:*"))
        except (tarfile.ReadError, EOFError, zlib.error, OSError) as err:
            raise BackupError("not_a_backup", file=archive) from err
        try:
            tar.extractall(staging, filter="data")
        except tarfile.FilterError as err:
            name = err.tarinfo.name if err.tarinfo else "?"
            raise BackupError("unsafe", file=archive, member=name) from err
        except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
            detail = str(err) or type(err).__name__
            raise BackupError("damaged", file=archive, detail=detail) from err
    manifest_path = staging / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BackupError("not_a_backup", file=archive)
    return Manifest.from_json(manifest_path.read_bytes(), archive)


def _on_disk(staging: Path) -> Iterator[tuple[str, Path]]:
    """Every path unpacked, by its member name, links not followed."""
    for folder, folders, files in os.walk(staging):
        for name in [*folders, *files]:
            path = Path(folder, name)
            yield path.relative_to(staging).as_posix(), path


def _verify(archive: Path, staging: Path, manifest: Manifest) -> None:
    """Exactly the manifest's members, each as it was packed."""
    expected = {member.name: member for member in manifest.members}
    implicit = {DATA_PREFIX, SITE_PREFIX, CONFIG_PREFIX, POSTGRES_PREFIX, MANIFEST_NAME}
    found = dict(_on_disk(staging))
    database_member = (
        POSTGRES_DUMP if manifest.store == POSTGRESQL else f"{DATA_PREFIX}/{DATABASE_NAME}"
    )
    if database_member not in expected:
        raise BackupError("damaged", file=archive, detail=f"no {database_member}")
    missing = sorted(set(expected) - set(found))
    if missing:
        raise BackupError("damaged", file=archive, detail=f"{missing[0]} is missing")
    extra = sorted(set(found) - set(expected) - implicit)
    if extra:
        raise BackupError("damaged", file=archive, detail=f"{extra[0]} is not in the manifest")
    for name, member in expected.items():
        if not _matches(found[name], member):
            raise BackupError("checksum", file=archive, member=name)


def _matches(path: Path, member: Member) -> bool:
    if member.kind == "symlink":
        return path.is_symlink() and os.readlink(path) == member.target
    if member.kind == "dir":
        return path.is_dir() and not path.is_symlink()
    return (
        path.is_file()
        and not path.is_symlink()
        and path.stat().st_size == member.size
        and sha256_of(path) == member.sha256
    )


def _place_site(staging: Path, data_dir: Path, site_dir: Path | None, force: bool) -> Path | None:
    """Where the archive's separate ``site/`` goes: the site folder when it lies outside the
    data folder (returned, swapped in later), else into the data folder being staged."""
    staged = staging / SITE_PREFIX
    if not staged.is_dir():
        return None
    site = (site_dir or data_dir / "site").absolute()
    if site == data_dir or data_dir in site.parents:
        inside = staging / DATA_PREFIX / site.relative_to(data_dir)
        if not inside.exists():
            inside.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, inside)
        return None
    if _has_contents(site) and not force:
        raise BackupError("not_empty", folder=site)
    return site


def _replace(staged: Path, folder: Path, stamp: str) -> Path | None:
    """Put ``staged`` at ``folder``; an old ``folder`` with contents is moved aside first."""
    aside = None
    if _has_contents(folder):
        aside = folder.with_name(f"{folder.name}.replaced-{stamp}")
        for n in range(2, 100):
            if not aside.exists():
                break
            aside = folder.with_name(f"{folder.name}.replaced-{stamp}-{n}")
        os.rename(folder, aside)
    elif folder.is_dir():
        folder.rmdir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(staged, folder)  # a rename; a copy (links kept) onto another file system
    return aside


def _restore_config(staging: Path, manifest: Manifest, wanted: Path | None) -> Path | None:
    """The archived settings file, where it was (or ``wanted``) when no file is there; beside
    it as ``<name>.restored`` when one with other contents is. None when nothing was written."""
    members = [m for m in manifest.members if m.name.startswith(CONFIG_PREFIX + "/")]
    source = manifest.source.get("config")
    if not members or (wanted is None and not source):
        return None
    staged = staging / members[0].name
    destination = wanted or Path(str(source))
    if destination.exists():
        if destination.read_bytes() == staged.read_bytes():
            return None
        destination = destination.with_name(destination.name + ".restored")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        destination.unlink()
    descriptor = os.open(destination, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(staged.read_bytes())
    return destination
