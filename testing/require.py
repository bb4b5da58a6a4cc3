"""Parts the tests need: present, or a failure that says how to install them (never a skip)."""

from __future__ import annotations

import importlib
import shutil
from types import ModuleType

import pytest


def module(name: str, install: str) -> ModuleType:
    """Import ``name`` or fail the test with the install command."""
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.fail(f"{name} is missing: {install} (scripts/test installs it)", pytrace=False)


def program(name: str, install: str) -> str:
    """The path of a program, or a failure with the install command."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: {install} (scripts/test installs it)", pytrace=False)
    return path
