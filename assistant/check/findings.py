"""One line of ``assistant check``, and the helpers every probe module uses to write it."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from assistant.config import PROJECT_ROOT


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report: a part, whether it is usable, what it is, and how to fix it."""

    area: str
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def shown(path: Path) -> str:
    """A path relative to the project when inside it, so lines stay short."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except (OSError, ValueError):
        return str(path)


def has_module(name: str) -> bool:
    """Whether a module is installed, without paying for its import."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
