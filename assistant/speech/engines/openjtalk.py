"""Open JTalk: the Japanese voice, reading kanji correctly with its bundled dictionary.

``pyopenjtalk-plus`` ships the dictionary and the ``mei_normal`` HTS voice in its wheel (and
uses ``sudachidict_core`` for ambiguous readings), so nothing is fetched at run time.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from types import ModuleType

import numpy as np

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

BUNDLED_VOICE = "mei_normal"


class OpenJTalkSynthesizer:
    """Japanese only; imported lazily because loading the dictionary takes about 0.6 s."""

    name = "openjtalk"

    def __init__(self, voice: str = BUNDLED_VOICE) -> None:
        if voice != BUNDLED_VOICE:
            raise SynthesisError(
                f"Open JTalk voice {voice!r} is not available: only {BUNDLED_VOICE} ships "
                "with pyopenjtalk-plus",
                code="voice_missing",
            )
        self.voice = voice
        self._module: ModuleType | None = None
        # The global Open JTalk instance is shared; one synthesis at a time keeps it sane.
        self._lock = threading.Lock()

    def supports(self, language: str) -> bool:
        """Japanese, when ``pyopenjtalk-plus`` is installed."""
        return language == "ja" and importlib.util.find_spec("pyopenjtalk") is not None

    def warm(self) -> None:
        """Load the dictionary now (start-up), so the first Japanese reply is instant."""
        if self.supports("ja"):
            self.load()

    def load(self) -> ModuleType:
        """Import pyopenjtalk and its dictionary (blocking the first time)."""
        with self._lock:
            if self._module is None:
                started = time.perf_counter()
                try:
                    import pyopenjtalk
                except ImportError as err:
                    raise SynthesisError(
                        "pyopenjtalk-plus is not installed: pip install -e '.[speech]'",
                        code="engine_missing",
                    ) from err
                pyopenjtalk.g2p("あ")  # loads the dictionary now rather than mid-sentence
                self._module = pyopenjtalk
                _LOGGER.info("Loaded Open JTalk in %.2f s", time.perf_counter() - started)
            return self._module

    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        """Japanese ``text`` as project PCM; ``rate`` is Open JTalk's speed."""
        if language != "ja":
            raise SynthesisError(
                f"Open JTalk speaks only Japanese, not {language!r}", code="no_voice"
            )
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        module = self.load()
        with self._lock:
            samples, sample_rate = module.tts(text, speed=rate)
        # Open JTalk gives float64 on the int16 scale, not [-1, 1].
        samples = np.clip(np.asarray(samples), -32768, 32767).astype(np.int16)
        return to_pcm(samples, int(sample_rate))


def _build(request: EngineRequest) -> BuiltEngine:
    """Open JTalk with its one bundled voice (SynthesisError names any other voice)."""
    engine = OpenJTalkSynthesizer(request.voices.get("ja", BUNDLED_VOICE))
    missing = [] if engine.supports("ja") else ["Open JTalk for ja: pip install pyopenjtalk-plus"]
    return BuiltEngine(engine, frozenset(request.voices) & {"ja"}, missing)


register(
    EngineSpec(
        name=OpenJTalkSynthesizer.name,
        title="Open JTalk",
        kind=EngineKind.VOICE,
        languages=frozenset({"ja"}),
        requires=("pyopenjtalk",),
        build=_build,
        install_hint="pip install pyopenjtalk-plus",
    )
)
