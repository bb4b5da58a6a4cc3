"""Speech engines found by name: each engine module registers how to build itself.

Adding an engine is adding a file to ``assistant/speech/engines/`` that calls ``register`` at
import time; the recogniser and synthesis facades, and ``assistant check``, ask this registry
instead of naming engines themselves. Registering costs nothing: an engine's heavy library
(Vosk, PocketSphinx, Piper, pyopenjtalk) is imported only when the engine is built, and an
engine module that cannot even be imported (the speech extra is missing) is remembered with
the reason, not fatal, so ``assistant check`` can say what to install.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

AUTO = "auto"  # a setting that leaves the choice of engine to the order of preference


class EngineKind(StrEnum):
    """What an engine does: hear speech, or speak."""

    RECOGNIZER = "recognizer"
    VOICE = "voice"


@dataclass(frozen=True, slots=True)
class EngineRequest:
    """What a facade asks an engine for, and where models and voices live.

    ``choice`` maps a language to the recogniser the settings name for it (``auto``: the
    first that can; ``none``: no recognition); a language it does not name is ``auto``.
    ``voices`` maps a language to the voice ``voices/profiles.yaml`` names for this engine.
    """

    models_dir: Path
    voices_dir: Path
    choice: Mapping[str, str] = field(default_factory=dict)
    voices: Mapping[str, str] = field(default_factory=dict)

    def wants(self, engine: str, language: str) -> bool:
        """Whether the settings let ``engine`` serve ``language``."""
        return self.choice.get(language, AUTO) in (AUTO, engine)

    def named(self, engine: str) -> list[str]:
        """The languages the settings give to ``engine`` by name (not by ``auto``)."""
        return [language for language, name in self.choice.items() if name == engine]


@dataclass(slots=True)
class BuiltEngine:
    """An engine ready to use (or None when nothing it needs is installed), the languages it
    serves, and one line per thing staff could install to make it serve more."""

    engine: Any | None
    languages: frozenset[str] = frozenset()
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """One engine as the registry knows it, before anything of it is loaded.

    ``languages`` is None when the engine serves whatever its installed models or voices
    speak; ``rank`` orders recognisers when the settings say ``auto`` (lower is tried first).
    """

    name: str
    kind: EngineKind
    languages: frozenset[str] | None
    requires: tuple[str, ...]
    build: Callable[[EngineRequest], BuiltEngine]
    rank: int = 100
    install_hint: str = ""
    title: str = ""  # how people write its name ("Open JTalk"); the name when empty

    @property
    def display_name(self) -> str:
        """The engine's name as a sentence writes it."""
        return self.title or self.name

    def serves(self, language: str) -> bool:
        """Whether the engine could ever speak or hear ``language``."""
        return self.languages is None or language in self.languages

    def missing_modules(self) -> list[str]:
        """The Python modules it needs that are not installed (found without importing)."""
        return [module for module in self.requires if not _module_exists(module)]


_SPECS: dict[str, EngineSpec] = {}
_UNAVAILABLE: dict[str, str] = {}  # engine module -> why it could not be imported
_discovered = False


def register(spec: EngineSpec) -> EngineSpec:
    """Make an engine known by its name (an engine module calls this when imported)."""
    existing = _SPECS.get(spec.name)
    if existing is not None and existing.build is not spec.build:
        raise ValueError(f"two speech engines are named {spec.name!r}")
    _SPECS[spec.name] = spec
    return spec


def discover() -> None:
    """Import every engine module once, so each registers itself."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module(__package__ or "assistant.speech.engines")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name == "registry" or module.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{package.__name__}.{module.name}")
        except ImportError as err:
            _UNAVAILABLE[module.name] = str(err)
            _LOGGER.debug("speech engine %s cannot be imported: %s", module.name, err)


def engines(kind: EngineKind | None = None) -> list[EngineSpec]:
    """Every registered engine (of ``kind``), in order of preference."""
    discover()
    chosen = [spec for spec in _SPECS.values() if kind is None or spec.kind == kind]
    return sorted(chosen, key=lambda spec: (spec.rank, spec.name))


def get(name: str) -> EngineSpec | None:
    """The engine called ``name``, or None when no module registers it."""
    discover()
    return _SPECS.get(name)


def names(kind: EngineKind) -> tuple[str, ...]:
    """The names of the engines of ``kind``, as settings and profiles may spell them."""
    return tuple(spec.name for spec in engines(kind))


def unavailable() -> dict[str, str]:
    """Engine modules that could not be imported, with the reason (a missing package)."""
    discover()
    return dict(_UNAVAILABLE)


def installed(name: str) -> bool:
    """Whether the engine is registered and every module it needs is installed."""
    spec = get(name)
    return spec is not None and not spec.missing_modules()


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
