"""Putting a model in place. A download: a zip unpacked safely (nothing outside its folder), its
model folder found, a record of where it came from written, and one rename into ``models/``.
Registry parts: joined in order into one file, hashed as they stream, renamed in only when the
sha256 is right (``assemble``)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Literal

from assistant.resources import DATA_ROOT
from assistant.speech.models.errors import ArchiveError, ChecksumError, MissingPartError
from assistant.speech.models.manifest import ModelEntry, PackageFile

FETCHED_RECORD = ".fetched.json"  # written into every folder the fetcher installs


def _unsafe_member(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member may not be unpacked (escapes the folder, is a link), or None."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and re.match(r"^[A-Za-z]:", parts[0])):
        return "an absolute path"
    if ".." in parts:
        return "a path outside its folder"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return None


def safe_extract(archive: Path, destination: Path) -> None:
    """Unpack a zip into ``destination``, refusing it whole if any member could escape it."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            for info in members:
                problem = _unsafe_member(info)
                if problem is not None:
                    raise ArchiveError(f"the archive holds {problem} ({info.filename!r}); refused")
            root = destination.resolve()
            for info in members:
                target = (root / info.filename.replace("\\", "/")).resolve()
                if target != root and root not in target.parents:
                    raise ArchiveError(f"the archive member {info.filename!r} escapes; refused")
            bundle.extractall(destination)
    except zipfile.BadZipFile as err:
        raise ArchiveError(f"the download is not a zip archive ({err})") from err


def unpacked_root(staging: Path) -> Path:
    """The model's own folder: the archive's single top folder, or the staging folder."""
    children = [child for child in staging.iterdir() if child.name != "__MACOSX"]
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return staging


def record_fetch(folder: Path, entry: ModelEntry, url: str, size: int, sha256: str) -> None:
    """Note what was installed, so staff can copy size and sha256 into the manifest."""
    record = {
        "name": entry.name,
        "source": url,
        "size": size,
        "sha256": sha256,
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "verified_against_manifest": entry.sha256 is not None,
    }
    (folder / FETCHED_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def replace_dir(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` with one rename; an incomplete old copy is removed."""
    if target.exists():
        trash = target.with_name(f".old-{target.name}-{os.getpid()}")
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(source, target)


# -- joining registry parts ------------------------------------------------------------------

ASSEMBLED_RECORD = ".assembled.json"  # beside an assembled file: what was checked, and when
_CHUNK = 1024 * 1024  # streamed in 1 MB pieces: a 1 GB model never sits in memory


@dataclass(frozen=True, slots=True)
class AssembleResult:
    """What ``assemble`` did: joined and checked the file now, or found it checked already."""

    name: str
    status: Literal["assembled", "present"]
    path: Path
    size: int
    sha256: str
    seconds: float


def locate_part(part: PackageFile, search: Sequence[Path] | None = None) -> Path:
    """The file of an installed package, found through its metadata (not by importing it).

    ``search`` is where to look instead of ``sys.path`` (tests give a folder of fake
    distributions). MissingPartError names the package and the pip command when it is absent.
    """
    found = _distribution(part.package, search)
    if found is None:
        raise MissingPartError(f"the package {part.package} is not installed")
    path = Path(str(found.locate_file(part.path)))
    if not path.is_file():
        raise MissingPartError(f"{part} is missing from the installed package {part.package}")
    return path


def _distribution(name: str, search: Sequence[Path] | None) -> metadata.Distribution | None:
    paths = [str(p) for p in search] if search is not None else None
    wanted = name.lower().replace("_", "-")
    for found in metadata.distributions(path=paths) if paths else metadata.distributions():
        if str(found.metadata["Name"] or "").lower().replace("_", "-") == wanted:
            return found
    return None


def _check_versions(entry: ModelEntry, search: Sequence[Path] | None) -> None:
    """MissingPartError unless every pinned package is installed at exactly its version."""
    for name, version in entry.packages:
        found = _distribution(name, search)
        if found is None:
            raise MissingPartError(f"the package {name} is not installed")
        if found.version != version:
            raise MissingPartError(
                f"{name} {found.version} is installed, the manifest pins {version}"
            )


def _record_matches(target: Path, entry: ModelEntry) -> bool:
    """Whether the file was checked against this manifest entry and is untouched since."""
    try:
        record = json.loads((target.parent / ASSEMBLED_RECORD).read_text(encoding="utf-8"))
        info = target.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("sha256") == entry.sha256
        and record.get("size") == entry.size == info.st_size
        and record.get("mtime_ns") == info.st_mtime_ns
    )


def assembled_present(entry: ModelEntry, target: Path) -> bool:
    """Quick (no hashing): the file is there, its size right, and recorded as checked."""
    return target.is_file() and _record_matches(target, entry)


def _write_record(target: Path, entry: ModelEntry) -> None:
    record = {
        "name": entry.name,
        "file": target.name,
        "packages": entry.requirements,
        "size": entry.size,
        "sha256": entry.sha256,
        "mtime_ns": target.stat().st_mtime_ns,
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    staged = target.parent / f"{ASSEMBLED_RECORD}.{os.getpid()}"
    staged.write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    os.replace(staged, target.parent / ASSEMBLED_RECORD)  # two set-ups at once never mix it


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def assemble(
    entry: ModelEntry, models_dir: Path, *, search: Sequence[Path] | None = None
) -> AssembleResult:
    """Join the entry's parts in order into ``models/<folder>/<file>``, checked, all or nothing.

    The join is streamed into a temporary file beside the target while it is hashed; only a
    right size and sha256 let it be renamed into place, so a wrong checksum or a missing part
    leaves nothing half-written. A file already checked (its record matches) is skipped; one
    found without a record is hashed once and kept when right.
    """
    assert entry.assembled and entry.folder and entry.file and entry.sha256 and entry.size
    started = time.monotonic()
    folder = models_dir / entry.folder
    target = folder / entry.file
    if assembled_present(entry, target) or (
        target.is_file()
        and target.stat().st_size == entry.size
        and _sha256_of(target) == entry.sha256
    ):
        _copy_files(entry, folder, search)
        if not (folder / ASSEMBLED_RECORD).is_file() or not _record_matches(target, entry):
            _write_record(target, entry)
        return AssembleResult(
            entry.name, "present", target, entry.size, entry.sha256, time.monotonic() - started
        )
    _check_versions(entry, search)
    sources = [locate_part(part, search) for part in entry.parts]
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{entry.file}.", suffix=".part", dir=folder)
    staged = Path(temporary)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(handle, "wb") as out:
            for source in sources:
                with source.open("rb") as part:
                    while chunk := part.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != entry.size or digest.hexdigest() != entry.sha256:
            raise ChecksumError(
                f"{_shown(target)}: sha256 {digest.hexdigest()} ({size} bytes) is not the "
                f"manifest's {entry.sha256} ({entry.size} bytes); nothing was written: "
                f"reinstall its parts: pip install --force-reinstall {' '.join(entry.requirements)}"
            )
        _copy_files(entry, folder, search)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staged, 0o666 & ~umask)  # mkstemp's 0600 would hide the model from the service
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
        if created and not any(folder.iterdir()):
            folder.rmdir()  # a failed first assembly leaves no trace in models/
    _write_record(target, entry)
    return AssembleResult(
        entry.name, "assembled", target, size, entry.sha256, time.monotonic() - started
    )


def _copy_files(entry: ModelEntry, folder: Path, search: Sequence[Path] | None) -> None:
    """The small files that go beside the model (configs, vocabularies), each renamed in whole."""
    for item in entry.files:
        source = locate_part(item, search)
        destination = folder / PurePosixPath(item.path).name
        if destination.is_file() and destination.stat().st_size == source.stat().st_size:
            continue
        staged = destination.with_name(f".{destination.name}.part")
        shutil.copyfile(source, staged)
        os.replace(staged, destination)


def _shown(path: Path) -> str:
    """``models/...`` when the file is in the project: the line staff read stays short."""
    try:
        return str(path.resolve().relative_to(DATA_ROOT))
    except (OSError, ValueError):
        return str(path)
