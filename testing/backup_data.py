"""A data folder worth backing up, and a comparable picture of one (issue 17's tests).

Sessions are written through the real service composition (``Services``: the dialog
manager, the generation queue, the desk that publishes), as users and staff would; the
picture holds what must survive a backup and restore: every session with its answers and
turns, every artifact row and file, the published site with its links, every other file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.compose import Services
from assistant.config import Settings
from assistant.session import Artifact
from testing.made_artifact import made_artifact

SETTINGS_TOML = 'language = "en"\nllm_enabled = false\nwarm_up = false\n'


def quiet_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The service with no model and no warm-up, in English, on ``data_dir``."""
    settings = replace(
        Settings(), data_dir=data_dir, language="en", llm_enabled=False, warm_up=False
    )
    return replace(settings, **overrides)


@asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Services]:
    """The service as ``assistant serve`` composes it, started, stopped afterwards."""
    services = Services.build(settings)
    await services.start()
    try:
        yield services
    finally:
        await services.stop()


async def write_sessions(services: Services, prefix: str, count: int) -> list[Artifact]:
    """``count`` café pages walked and built, in sessions ``web:<prefix><n>``."""
    made = []
    for n in range(count):
        key, shop = f"web:{prefix}{n}", f"{prefix.title()} Café {n}"
        made.append(
            await made_artifact(services.manager, services.queue, services.store, key, shop)
        )
    return made


async def publish(services: Services, artifact: Artifact) -> str:
    """Approve and publish ``artifact`` as staff would; its site's slug."""
    desk = services.artifact_desk()
    await desk.approve(artifact.id, "ana")
    return (await desk.publish(artifact.id, "ana")).slug


def database_picture(path: Path) -> dict[str, Any]:
    """The rows that matter, in a form two databases can be compared by (artifact folders by
    their name: a restore into another folder points them there)."""
    with closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        sessions = {
            row["key"]: (row["state"], row["job_id"], json.loads(row["answers"] or "{}"),
                         row["artifact_id"], row["code"])
            for row in db.execute("SELECT * FROM sessions")
        }  # fmt: skip
        turns = sorted(
            (row["session_key"], row["id"], row["text"], row["replies"])
            for row in db.execute("SELECT * FROM turns")
        )
        artifacts = {
            row["id"]: (row["session_key"], Path(row["folder"]).name, row["files"], row["token"])
            for row in db.execute("SELECT * FROM artifacts")
        }
        sites = [tuple(row) for row in db.execute("SELECT * FROM sites ORDER BY slug")]
        audit = [tuple(row) for row in db.execute("SELECT * FROM audit_log ORDER BY id")]
    return {"sessions": sessions, "turns": turns, "artifacts": artifacts, "sites": sites,
            "audit": audit}  # fmt: skip


def files_picture(folder: Path) -> dict[str, tuple[str, str]]:
    """Every entry under ``folder`` but the database, SQLite sidecars and Litestream's state:
    files by sha256, links by target, folders; other SQLite files only by name (their copy
    holds what was in their WAL: compare their rows)."""
    picture: dict[str, tuple[str, str]] = {}
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.endswith("-litestream")]
        for name in [*folders, *files]:
            path = Path(root, name)
            relative = path.relative_to(folder).as_posix()
            if relative.startswith("assistant.db") or name.endswith(("-wal", "-shm")):
                continue
            if path.is_symlink():
                picture[relative] = ("link", os.readlink(path))
            elif path.is_dir():
                picture[relative] = ("dir", "")
            elif path.read_bytes()[:16] == b"SQLite format 3\x00":
                picture[relative] = ("sqlite", "")
            else:
                picture[relative] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return picture


def tree_state(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Each path under ``folder`` with its size, mtime and kind: to show nothing changed."""
    state = {}
    for root, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            path = Path(root, name)
            info = path.lstat()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            state[path.relative_to(folder).as_posix()] = (info.st_size, info.st_mtime_ns, kind)
    return state
