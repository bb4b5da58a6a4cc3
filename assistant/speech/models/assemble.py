"""Putting a downloaded model in place: a zip unpacked safely (nothing outside its folder), its
model folder found, a record of where it came from written, and one rename into ``models/``."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import time
import zipfile
from pathlib import Path, PurePosixPath

from assistant.speech.models.errors import ArchiveError
from assistant.speech.models.manifest import ModelEntry

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
