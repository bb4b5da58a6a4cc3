"""The speech parts a voice channel needs, chosen from what is installed.

Recognition per language: the recognisers of the engine registry in their order of preference
(Whisper where its model is assembled, a Vosk model when one is installed, PocketSphinx, whose
English model ships in the wheel), as the settings allow; closed and free answers may go to
different engines (``routing``). Synthesis: the engines ``voices/profiles.yaml`` names.
Engines load lazily, so a text-only service never pays for them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.config import Settings
from assistant.ports import SpeechToText
from assistant.resources import DATA_ROOT
from assistant.speech.recognition import recognize
from assistant.speech.routing import recognizer_for
from assistant.speech.synthesis import SpeechSynthesis, default_synthesis
from assistant.speech.vad import WebRtcVad

_LOGGER = logging.getLogger(__name__)

MODELS_DIR = DATA_ROOT / "models"
VOICES_DIR = DATA_ROOT / "voices"
WARM_WAIT_S = 60.0  # how long start-up waits for a voice loading in the background
_WARM_UP_WORDS = {"en": "yes", "ja": "はい"}


@dataclass
class VoiceKit:
    """Recognisers, synthesis and voice activity for one process."""

    recognizers: list[SpeechToText]
    synthesis: SpeechSynthesis
    vad: WebRtcVad

    def recognizer_for(self, language: str) -> SpeechToText | None:
        """The recogniser for ``language``, routing closed and free answers (``routing``)."""
        return recognizer_for(self.recognizers, language)

    def warm(self, languages: Sequence[str] = ("ja", "en"), *, hear: bool = True) -> None:
        """Load the voices and the recognisers of ``languages`` now (blocking: run it in a
        thread), so no user's first sentence waits for a model to load.

        Voices that load in the background (Kokoro) are waited for, so the next start-up step
        does not compete with them for the cores. A recogniser with its own ``warm`` is asked
        to load; any other hears a moment of silence with a one-word grammar, which loads its
        model as the first utterance would. ``hear=False``: voices only (a server recognises
        web speech in worker processes, which load their own models).
        """
        self.synthesis.warm(wait=WARM_WAIT_S)
        if not hear:
            return
        warmed: set[tuple[int, str]] = set()
        for language in languages:
            recognizer = self.recognizer_for(language)
            if recognizer is None or (id(recognizer), language) in warmed:
                continue
            warmed.add((id(recognizer), language))
            started = time.perf_counter()
            warm = getattr(recognizer, "warm", None)
            if warm is not None:
                warm(language)
            else:
                recognize(recognizer, language, (_WARM_UP_WORDS.get(language, "yes"),), bytes(9600))
            _LOGGER.info(
                "Warmed %s for %s in %.2f s",
                recognizer.name,
                language,
                time.perf_counter() - started,
            )


def build_recognizers(settings: Settings) -> list[SpeechToText]:
    """The recognisers the settings allow, in the registry's order of preference.

    ``stt_engine_<language>`` names an engine, or says ``auto`` (the first that can) or
    ``none``; an engine named for a language it cannot serve here is said once in the log.
    """
    from assistant.speech.engines import registry

    choice = {"ja": settings.stt_engine_ja, "en": settings.stt_engine_en}
    request = registry.EngineRequest(settings.models_dir, settings.voices_dir, choice=choice)
    recognizers: list[SpeechToText] = []
    served: dict[str, set[str]] = {}
    notes: list[str] = []
    for spec in registry.engines(registry.EngineKind.RECOGNIZER):
        built = spec.build(request)
        notes.extend(built.missing)
        if built.engine is not None:
            recognizers.append(built.engine)
            served[spec.name] = set(built.languages)
    for language, engine in choice.items():
        if engine in (registry.AUTO, "none") or language in served.get(engine, set()):
            continue
        named = registry.get(engine)
        hint = named.install_hint if named is not None else "no such engine"
        _LOGGER.warning(
            "stt_engine_%s = %s, but it cannot serve %s here (models in %s): %s",
            language, engine, language, settings.models_dir, hint,
        )  # fmt: skip
    for note in notes:
        _LOGGER.debug("speech recognition: %s", note)
    return recognizers


def build_voice(settings: Settings | None = None) -> VoiceKit:
    """Everything installed, as ``settings`` (models_dir, voices_dir, stt_engine_ja,
    stt_engine_en) say: Whisper first where its model is assembled, then Vosk, then PocketSphinx."""
    settings = settings or Settings()
    synthesis = default_synthesis(settings.voices_dir, settings.models_dir)
    return VoiceKit(build_recognizers(settings), synthesis, WebRtcVad())
