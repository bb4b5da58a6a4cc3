"""``assistant backup``: one archive of everything the service keeps, made while it runs.

The archive (tar.gz, mode 0600) holds ``data/``: the data folder, whose database (and any
other SQLite file in it) is copied through SQLite's online backup API; ``site/``: the
published site when ``site_dir`` lies outside the data folder; ``config/``: the settings file
when one is used; and last ``manifest.json`` with the sha256 of every file. Links stay links
(a published site is links to its versions). The database is copied first: a file made after
that moment may be in the archive with no row naming it (harmless), never the other way.
The archive is written under a temporary name and appears whole or not at all.
With a PostgreSQL ``database_url`` the database goes in first as ``postgres/assistant.dump``
(``pg_dump``, see ``backup/postgres.py``) instead of ``data/assistant.db``.
"""

from __future__ import annotations

import datetime
import io
import logging
import os
import platform
import socket
import sqlite3
import stat
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant import __version__
from assistant.config import Settings
from assistant.private_files import FILE_MODE
from assistant.staff.keys import KEY_FILE
from assistant.store.backup import database
from assistant.store.backup.manifest import (
    CONFIG_PREFIX,
    DATA_PREFIX,
    DATABASE_NAME,
    LITESTREAM_STATE,
    MANIFEST_NAME,
    POSTGRES_DUMP,
    POSTGRESQL,
    SITE_PREFIX,
    SQLITE,
    BackupError,
    HashingReader,
    Manifest,
    Member,
)

_LOGGER = logging.getLogger(__name__)
COMPRESS_LEVEL = 6  # gzip's default: level 9 takes twice as long for a few per cent


@dataclass(frozen=True, slots=True)
class BackupSources:
    """What goes into an archive: the data folder, the site when it lives elsewhere, and the
    settings file in use."""

    data_dir: Path
    site_dir: Path | None = None
    config: Path | None = None
    database_url: str = field(default="", repr=False)  # PostgreSQL's, when set (a secret)

    @classmethod
    def from_settings(cls, settings: Settings, config: Path | None) -> BackupSources:
        """The sources of a configured service (``config``: its settings file, if any)."""
        data_dir = settings.data_dir.absolute()
        site = settings.site_path.absolute()
        outside = site != data_dir and data_dir not in site.parents
        return cls(
            data_dir,
            site if outside else None,
            config.absolute() if config else None,
            settings.database_url,
        )


@dataclass(frozen=True, slots=True)
class Described:
    """What the manifest says of the database: migrations, counts, the store's versions."""

    migrations: tuple[str, ...]
    counts: dict[str, int]
    versions: dict[str, str] = field(default_factory=dict)
    address: str = ""  # PostgreSQL's address without its password


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What ``make_backup`` wrote."""

    path: Path
    manifest: Manifest
    size: int
    seconds: float


def default_name(now: datetime.datetime | None = None) -> Path:
    """``facility-assistant-backup-YYYYmmdd-HHMMSS.tar.gz`` in the current folder."""
    moment = now or datetime.datetime.now()
    return Path(f"facility-assistant-backup-{moment:%Y%m%d-%H%M%S}.tar.gz")


def make_backup(sources: BackupSources, target: Path) -> BackupReport:
    """Write the archive to ``target`` (which must not exist yet) and return what it holds."""
    started = time.perf_counter()
    if target.exists() or target.is_symlink():
        raise BackupError("exists", file=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as work_dir:
        work = Path(work_dir)
        partial = work / "archive.tar.gz"
        descriptor = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        with (
            os.fdopen(descriptor, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", compresslevel=COMPRESS_LEVEL) as tar,
        ):
            packer = _Packer(tar, work)
            if sources.database_url:
                described = _dump_postgres(sources.database_url, packer, work)
            else:
                described = _copy_sqlite(sources.data_dir, packer, work)
            packer.add_tree(sources.data_dir, DATA_PREFIX, skip={work, target.absolute()})
            if sources.site_dir is not None and sources.site_dir.is_dir():
                packer.add_tree(sources.site_dir, SITE_PREFIX, skip={work})
            if sources.config is not None and sources.config.is_file():
                packer.add_file(sources.config, f"{CONFIG_PREFIX}/{sources.config.name}")
            source: dict[str, str | None] = {
                "data_dir": str(sources.data_dir),
                "site_dir": str(sources.site_dir) if sources.site_dir else None,
                "config": str(sources.config) if sources.config else None,
                "host": socket.gethostname(),
            }
            if described.address:
                source["database"] = described.address  # never the password
            manifest = Manifest(
                created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                versions={
                    "assistant": __version__,
                    "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version,
                    **described.versions,
                },
                source=source,
                migrations=described.migrations,
                counts=described.counts,
                members=tuple(packer.members),
                secrets=tuple(m.name for m in packer.members if _is_secret(m.name)),
                store=POSTGRESQL if sources.database_url else SQLITE,
            )
            packer.add_bytes(MANIFEST_NAME, manifest.to_json())
        try:
            os.link(partial, target)  # appears whole, and never replaces a file made meanwhile
        except FileExistsError as err:
            raise BackupError("exists", file=target) from err
    return BackupReport(target, manifest, target.stat().st_size, time.perf_counter() - started)


def _copy_sqlite(data_dir: Path, packer: _Packer, work: Path) -> Described:
    """The SQLite database, first, through the backup API."""
    copy = work / "copy.db"
    database.copy_database(data_dir / DATABASE_NAME, copy)
    migrations, counts = database.describe(copy)
    packer.add_file(copy, f"{DATA_PREFIX}/{DATABASE_NAME}")
    copy.unlink()
    return Described(migrations, counts)


def _dump_postgres(url: str, packer: _Packer, work: Path) -> Described:
    """The PostgreSQL database, first, through ``pg_dump`` (``backup/postgres.py``; psycopg
    is imported only here, so a SQLite install needs no ``postgres`` extra)."""
    from assistant.store.backup import postgres  # noqa: PLC0415

    dump = work / "database.dump"
    made = postgres.dump(url, dump)
    packer.add_file(dump, POSTGRES_DUMP)
    dump.unlink()
    return Described(made.migrations, made.counts, made.versions, made.address)


def _is_secret(name: str) -> bool:
    return name == f"{DATA_PREFIX}/{KEY_FILE}" or name.startswith(f"{CONFIG_PREFIX}/")


class _Packer:
    """Adds members to the tar and keeps the manifest's record of each."""

    def __init__(self, tar: tarfile.TarFile, work: Path) -> None:
        self.tar = tar
        self.work = work
        self.members: list[Member] = []

    def add_file(self, path: Path, name: str) -> None:
        """A regular file, hashed as it is written."""
        info = self.tar.gettarinfo(path, name)
        info.mode = FILE_MODE
        _anonymous(info)
        with path.open("rb") as stream:
            reader = HashingReader(stream)
            self.tar.addfile(info, reader)  # reads exactly info.size bytes
        self.members.append(Member(name, "file", info.size, reader.digest.hexdigest()))

    def add_bytes(self, name: str, data: bytes) -> None:
        """A member made in memory (the manifest)."""
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), FILE_MODE, int(time.time())
        self.tar.addfile(info, io.BytesIO(data))

    def add_tree(self, root: Path, prefix: str, *, skip: set[Path]) -> None:
        """Every folder, link and file under ``root`` but the database, its sidecars and
        Litestream's state; SQLite files go through the backup API."""
        for path in _walk(root, skip):
            name = f"{prefix}/{path.relative_to(root).as_posix()}"
            try:
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    entry = self.tar.gettarinfo(path, name)
                    _anonymous(entry)
                    self.tar.addfile(entry)
                    self.members.append(Member(name, "symlink", target=entry.linkname))
                elif stat.S_ISDIR(info.st_mode):
                    entry = self.tar.gettarinfo(path, name)
                    _anonymous(entry)
                    self.tar.addfile(entry)
                    self.members.append(Member(name, "dir"))
                elif stat.S_ISREG(info.st_mode):
                    self._add_regular(path, name)
            except FileNotFoundError:  # removed meanwhile (a clean-up): not part of the copy
                _LOGGER.info("backup: %s went away while it was being read", path)

    def _add_regular(self, path: Path, name: str) -> None:
        if database.is_sqlite(path):
            copy = self.work / f"sqlite-{len(self.members)}"
            database.copy_database(path, copy)
            self.add_file(copy, name)
            copy.unlink()
        else:
            self.add_file(path, name)


def _anonymous(info: tarfile.TarInfo) -> None:
    """No user or group names in the archive: the restoring user owns what it unpacks."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""


def _walk(root: Path, skip: set[Path]) -> Iterator[Path]:
    """Paths under ``root`` in a stable order, folders before their contents, links not
    followed (a link to a folder is kept as a link), leaving out the main database, SQLite
    sidecars and Litestream's state."""
    for folder, folders, files in os.walk(root):
        here = Path(folder)
        folders[:] = sorted(
            name for name in folders if here / name not in skip and name != LITESTREAM_STATE
        )
        for name in sorted([*folders, *files]):
            path = here / name
            if path in skip or (here == root and name == DATABASE_NAME):
                continue  # the database is copied first, through the backup API
            if name.endswith(database.SIDECARS) and _sidecar_of_sqlite(path):
                continue
            yield path


def _sidecar_of_sqlite(path: Path) -> bool:
    for suffix in database.SIDECARS:
        if path.name.endswith(suffix):
            base = path.with_name(path.name.removesuffix(suffix))
            return base.name == DATABASE_NAME or database.is_sqlite(base)
    return False
