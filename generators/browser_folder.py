"""The browser checker's temporary folder, and the clean-up of folders killed checkers left.

Chromium's settings and cache go to a temporary ``browser-checker-<pid>-*`` folder that the
checker removes on close. A checker killed with ``kill -9`` cannot, so each checker holds an
exclusive ``flock`` on an ``owner.lock`` file inside its folder for as long as it lives (the
kernel lets go of it when the process dies, however it dies), and at start removes the folders
whose pid is not running and whose lock nobody holds: never a running checker's, in this
process, another, or another container sharing ``/tmp``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
from pathlib import Path

_LOGGER = logging.getLogger(__name__)


FOLDER_PREFIX = "browser-checker-"
OWNER_LOCK = "owner.lock"


def own_folder() -> tuple[Path, int]:
    """Remove stale checkers' folders, then make this one's, locked for as long as we live."""
    remove_stale_folders(Path(tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
    lock = os.open(folder / OWNER_LOCK, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    return folder, lock


def remove_stale_folders(parent: Path) -> list[Path]:
    """Remove the checker folders in ``parent`` whose owner is gone; returns them.

    A folder of an older version (no pid in its name, no lock) cannot be told from a
    running checker's and stays.
    """
    removed = []
    for folder in parent.glob(f"{FOLDER_PREFIX}*"):
        try:
            if folder.is_symlink() or folder.stat().st_uid != os.geteuid():
                continue
            if not _owner_gone(folder):
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    if removed:
        _LOGGER.info("removed %d browser folders left by checkers that were killed", len(removed))
    return removed


def _owner_gone(folder: Path) -> bool:
    """Whether the checker that made ``folder`` is surely gone: the pid in its name is not
    running (a live checker's always is, even before it holds its lock) and nobody holds its
    lock (a checker whose pid this process cannot see, in another container, still does)."""
    pid = folder.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
    if not pid.isdigit() or _running(int(pid)):
        return False
    try:
        lock = os.open(folder / OWNER_LOCK, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True  # killed before it locked
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(lock)  # also lets go of the lock if we took it
    return True


def _running(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 only asks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
