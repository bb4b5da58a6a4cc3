"""The data folder belongs to the service user alone: folders 0700, files 0600.

The database holds every user's answers and continuation codes, and the artifacts folder
every user's files. Generated programs run on the same machine (in the sandbox, as
``nobody`` when the service is root), and other accounts may exist, so nothing in the data
folder may be readable by anyone else, whatever the umask. Folders are made 0700 when they
are created; the database file is made 0600 before SQLite opens it (SQLite gives its WAL and
shared-memory files the database's mode); an artifact is made private before it is published.
A data folder left open by an older version is tightened once, at start, with a log line.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077  # any permission for the group or other users


def private_folder(folder: Path) -> None:
    """Make ``folder`` (0700) or, when it is open to other users, tighten all of it, saying so."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) & _OTHERS:
        changed = make_private(folder)
        _LOGGER.warning(
            "%s could be read by other users of this machine: made it private to the service "
            "(%d folders and files changed to 0700/0600)",
            folder,
            changed,
        )


def private_file(path: Path) -> None:
    """Create ``path`` empty as 0600 if it does not exist; take others' access away if it does."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, FILE_MODE))
    if stat.S_IMODE(path.stat().st_mode) & _OTHERS:
        path.chmod(FILE_MODE)


def make_private(folder: Path) -> int:
    """Folders 0700 and files 0600 under ``folder`` (itself included); links are not followed,
    so nothing outside the folder changes. Returns how many entries changed."""
    changed = _restrict(folder, FOLDER_MODE)
    for root, folders, files in os.walk(folder):
        for name in folders:
            changed += _restrict(Path(root, name), FOLDER_MODE)
        for name in files:
            changed += _restrict(Path(root, name), FILE_MODE)
    return changed


def _restrict(path: Path, wanted: int) -> int:
    """1 when ``path`` was changed to ``wanted``, 0 for a link or one already private."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_IMODE(info.st_mode) & _OTHERS:
        return 0
    path.chmod(stat.S_IMODE(info.st_mode) & ~_OTHERS | (wanted & 0o700))
    return 1
