"""The speech parts a voice channel needs, chosen from what is installed.

Recognition per language: a Vosk model when one is installed for it, otherwise PocketSphinx
(English, its model ships in the wheel). Synthesis: the engines ``voices/profiles.yaml`` names.
Engines load lazily, so a text-only service never pays for them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from assistant.config import Settings
from assistant.ports import SpeechToText
from assistant.resources import DATA_ROOT
from assistant.speech.synthesis import SpeechSynthesis, default_synthesis
from assistant.speech.vad import WebRtcVad

_LOGGER = logging.getLogger(__name__)

MODELS_DIR = DATA_ROOT / "models"
VOICES_DIR = DATA_ROOT / "voices"


@dataclass
class VoiceKit:
    """Recognisers, synthesis and voice activity for one process."""

    recognizers: list[SpeechToText]
    synthesis: SpeechSynthesis
    vad: WebRtcVad

    def recognizer_for(self, language: str) -> SpeechToText | None:
        """The first installed recogniser that understands ``language``."""
        return next((r for r in self.recognizers if r.supports(language)), None)


def build_voice(settings: Settings | None = None) -> VoiceKit:
    """Everything installed, Vosk first, PocketSphinx as the English fallback, as ``settings``
    (models_dir, voices_dir, stt_engine_ja, stt_engine_en) say."""
    from assistant.speech.engines.pocketsphinx import PocketSphinxRecognizer
    from assistant.speech.engines.vosk import VoskRecognizer
    from assistant.speech.models.manifest import installed_vosk_models

    settings = settings or Settings()
    choice = {"ja": settings.stt_engine_ja, "en": settings.stt_engine_en}
    models = {
        language: folder
        for language, folder in installed_vosk_models(settings.models_dir).items()
        if choice.get(language, "auto") in ("auto", "vosk")
    }
    recognizers: list[SpeechToText] = []
    if models:
        recognizers.append(VoskRecognizer(models))
    if choice["en"] in ("auto", "pocketsphinx"):
        recognizers.append(PocketSphinxRecognizer())
    for language, engine in choice.items():
        if engine == "vosk" and language not in models:
            _LOGGER.warning(
                "stt_engine_%s = vosk, but no Vosk model for %s is in %s: run scripts/fetch-models",
                language, language, settings.models_dir,
            )  # fmt: skip
    return VoiceKit(recognizers, default_synthesis(settings.voices_dir), WebRtcVad())
