"""The speech parts a voice channel needs, chosen from what is installed.

Recognition per language: a Vosk model when one is installed for it, otherwise PocketSphinx
(English, its model ships in the wheel). Synthesis: the engines ``voices/profiles.yaml`` names.
Engines load lazily, so a text-only service never pays for them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from assistant.config import PROJECT_ROOT
from assistant.ports import SpeechToText
from assistant.speech.synthesis import SpeechSynthesis, default_synthesis
from assistant.speech.vad import WebRtcVad

_LOGGER = logging.getLogger(__name__)

MODELS_DIR = PROJECT_ROOT / "models"
VOICES_DIR = PROJECT_ROOT / "voices"


@dataclass
class VoiceKit:
    """Recognisers, synthesis and voice activity for one process."""

    recognizers: list[SpeechToText]
    synthesis: SpeechSynthesis
    vad: WebRtcVad

    def recognizer_for(self, language: str) -> SpeechToText | None:
        """The first installed recogniser that understands ``language``."""
        return next((r for r in self.recognizers if r.supports(language)), None)


def build_voice(models_dir: Path = MODELS_DIR, voices_dir: Path = VOICES_DIR) -> VoiceKit:
    """Everything installed, Vosk first, PocketSphinx as the English fallback."""
    from assistant.speech.models import installed_vosk_models
    from assistant.speech.pocketsphinx_stt import PocketSphinxRecognizer
    from assistant.speech.vosk_stt import VoskRecognizer

    recognizers: list[SpeechToText] = []
    models = installed_vosk_models(models_dir)
    if models:
        recognizers.append(VoskRecognizer(models))
    recognizers.append(PocketSphinxRecognizer())
    return VoiceKit(recognizers, default_synthesis(voices_dir), WebRtcVad())
