"""The key that encrypts staff console session cookies: from a setting, or made once.

A key made at each start would sign every staff member out at every restart, and two
processes behind one data folder would not read each other's cookies; so without
``staff_secret_key`` one random key is written once to the data folder, readable by the
service alone (0600), and read from there afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from assistant.private_files import FILE_MODE, private_folder

KEY_FILE = "staff_secret.key"


def session_key(setting: str, data_dir: Path) -> bytes:
    """32 bytes for the cookie cipher: derived from ``setting`` when given, else the kept key."""
    if setting:
        return hashlib.sha256(setting.encode()).digest()
    private_folder(data_dir)
    path = data_dir / KEY_FILE
    if not path.exists():
        # Written aside, then linked into place: a second process starting at the same
        # moment either links first or reads a whole key, never half of one.
        draft = data_dir / f".{KEY_FILE}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)) + b"\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return base64.urlsafe_b64decode(path.read_bytes().strip())
