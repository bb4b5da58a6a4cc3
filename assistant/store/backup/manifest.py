"""What a backup archive holds, written into it as ``manifest.json``, and the checks on it.

The manifest names every member with its kind, size and sha256, so a restore can prove that
what it unpacked is exactly what was packed: nothing missing, nothing extra, nothing changed.
It also says when, from where and by which versions the archive was made, and which members
are secrets (the staff key), so whoever holds the archive knows it must stay private.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from assistant.errors import AssistantError

FORMAT = "facility-assistant-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DATA_PREFIX = "data"  # the data folder
SITE_PREFIX = "site"  # the published site, when it lives outside the data folder
CONFIG_PREFIX = "config"  # the settings file, when one is used
DATABASE_NAME = "assistant.db"
POSTGRES_PREFIX = "postgres"  # the database's dump, when database_url names PostgreSQL
POSTGRES_DUMP = f"{POSTGRES_PREFIX}/assistant.dump"  # pg_dump's custom format
SQLITE, POSTGRESQL = "sqlite", "postgresql"  # the store an archive's database comes from
LITESTREAM_STATE = f".{DATABASE_NAME}-litestream"  # Litestream's own state beside the database
KINDS = ("file", "dir", "symlink")
_CHUNK = 1 << 20


class BackupError(AssistantError):
    """A backup or restore that cannot go on; ``code`` names the phrase ``backup.error.<code>``
    that says why to staff in their language, filled with ``params``. Nothing was changed."""

    code = "backup_failed"

    def __init__(self, code: str, **params: Any) -> None:
        details = ", ".join(f"{key}={value}" for key, value in params.items())
        super().__init__(f"backup {code}: {details}", code=code)
        self.params = params


@dataclass(frozen=True, slots=True)
class Member:
    """One entry of the archive: a file (size, sha256), a folder, or a link (its target)."""

    name: str
    kind: str
    size: int = 0
    sha256: str = ""
    target: str = ""

    def to_json(self) -> dict[str, Any]:
        """The member as the manifest lists it (no empty fields)."""
        return {key: value for key, value in asdict(self).items() if value or key == "size"}

    @classmethod
    def from_json(cls, raw: Any) -> Member:
        """A member as the manifest lists it; ``ValueError`` when it is not one."""
        if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
            raise ValueError(f"not a member: {raw!r}")
        return cls(
            name=str(raw["name"]),
            kind=str(raw["kind"]),
            size=int(raw.get("size", 0)),
            sha256=str(raw.get("sha256", "")),
            target=str(raw.get("target", "")),
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    """The archive's own description (``manifest.json``)."""

    created: str  # ISO 8601, UTC
    versions: dict[str, str]  # assistant, python, sqlite (postgresql, pg_dump)
    source: dict[str, str | None]  # data_dir, site_dir, config, host (database: no password)
    migrations: tuple[str, ...]  # schema migrations the database had applied
    counts: dict[str, int]  # sessions, turns, artifacts
    members: tuple[Member, ...]
    secrets: tuple[str, ...] = ()  # members that are secrets: keep the archive private
    store: str = SQLITE  # POSTGRESQL: the database is POSTGRES_DUMP, not data/assistant.db
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        """The manifest as written into the archive."""
        data = asdict(self)
        data["members"] = [member.to_json() for member in self.members]
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, archive: Path) -> Manifest:
        """Read a manifest; ``BackupError`` when it is not ours, newer, or unreadable."""
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise BackupError("damaged", file=archive, detail=MANIFEST_NAME) from err
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BackupError("not_a_backup", file=archive)
        version = raw.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise BackupError("newer_format", file=archive, version=version)
        try:
            return cls(
                created=str(raw["created"]),
                versions=dict(raw["versions"]),
                source=dict(raw["source"]),
                migrations=tuple(raw["migrations"]),
                counts=dict(raw["counts"]),
                members=tuple(Member.from_json(m) for m in raw["members"]),
                secrets=tuple(raw.get("secrets", ())),
                store=str(raw.get("store", SQLITE)),
                format_version=version,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise BackupError("damaged", file=archive, detail=MANIFEST_NAME) from err


class HashingReader:
    """Reads a file for ``tarfile`` while hashing exactly the bytes it hands over."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        """The next bytes, hashed on the way."""
        chunk = self._stream.read(size)
        self.digest.update(chunk)
        return chunk


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
