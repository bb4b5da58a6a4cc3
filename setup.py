"""Build hook: copy the data folders that live beside the packages into the wheel.

Everything else is declared in ``pyproject.toml``. ``dialogs/``, ``voices/profiles.yaml``
and ``models/manifest.yaml`` stay at the top of the source tree, where staff edit them; a
wheel can only carry files inside packages, so they are copied into ``assistant/_data/``,
where ``assistant.resources`` looks first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# What ships: folders whole, and single files from folders that also hold downloads.
SHIPPED_FOLDERS = ("dialogs",)
SHIPPED_FILES = ("voices/profiles.yaml", "models/manifest.yaml")


class BuildWithData(build_py):
    """``build_py`` that also copies the shipped data into ``assistant/_data``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the source tree directly
        target = Path(self.build_lib) / "assistant" / "_data"
        for name in SHIPPED_FOLDERS:
            shutil.copytree(
                ROOT / name,
                target / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        for name in SHIPPED_FILES:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)


setup(cmdclass={"build_py": BuildWithData})
