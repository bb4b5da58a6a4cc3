"""Import guards for the optional extras: a missing one is named in one line, with its fix.

A base install (``pip install facility-assistant``) serves text chat; speech, Telegram and
the language model come with extras. Where an adapter needs one, it asks here, so the
operator reads which extra to install instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from assistant.errors import ConfigError

PACKAGE = "facility-assistant"


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install '{PACKAGE}[{extra}]'"


def missing_extra_message(feature: str, extra: str) -> str:
    """One line naming what is missing and how to get it."""
    return f"{feature} needs the {extra} extra: {install_hint(extra)}"


class MissingExtraError(ConfigError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    code = "extra_missing"


def require_extra(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(missing_extra_message(feature, extra)) from err
