"""One whole utterance through one recogniser: what every voice channel does after the
segmenter has cut an answer out of the microphone (kiosk), a page's stream (web) or a voice
note (Telegram). Blocking: run it in a thread."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.ports import Recognition, SpeechToText


def recognize(
    recognizer: SpeechToText, language: str, grammar: Sequence[str] | None, pcm: bytes
) -> Recognition:
    """The final result for ``pcm``, listening only for ``grammar`` when it is given."""
    stream = recognizer.start(language, list(grammar) if grammar else None)
    stream.accept(pcm)
    return stream.finish()
