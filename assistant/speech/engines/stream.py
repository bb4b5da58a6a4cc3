"""What every engine's recognition stream does the same way, so each engine writes only how it
hears: audio is refused once the stream has finished ("stream already finished": the voice
turn would otherwise feed a stream whose decoder has gone back to its pool), ``finish`` decides
once and gives the same result when asked again (``SecondOpinionStream`` and the voice turn may
both ask), the audio is kept for engines that decode it whole at the end (Whisper; PocketSphinx
for its final pass), and a partial text is passed on only when it changed.

Not an engine: it registers nothing, so the registry's discovery imports it harmlessly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from assistant.ports import Recognition


class UtteranceStream(ABC):
    """One utterance: ``accept`` feeds it until ``finish`` decides, once (module doc)."""

    keeps_audio: ClassVar[bool] = True  # False for engines that only stream (Vosk)

    def __init__(self) -> None:
        self._audio = bytearray()
        self._partial = ""
        self._finished = False
        self._result: Recognition | None = None

    @property
    def audio(self) -> bytes:
        """Everything fed so far (empty when the engine does not keep it)."""
        return bytes(self._audio)

    def accept(self, pcm: bytes) -> str | None:
        """Feed audio; the partial text when it changed, None otherwise."""
        if self._finished:
            raise RuntimeError("stream already finished")
        if self.keeps_audio:
            self._audio += pcm
        partial = self._hear(pcm)
        if partial is None or partial == self._partial:
            return None
        self._partial = partial
        return partial

    def finish(self) -> Recognition:
        """The final result, decided on the first call and the same on every later one."""
        if self._result is None:
            self._finished = True
            self._result = self._decide()
        return self._result

    def _hear(self, pcm: bytes) -> str | None:
        """Give ``pcm`` to the engine as it comes; its partial text, or None when it has none
        (the default: the audio is only kept, for ``_decide``)."""
        return None

    @abstractmethod
    def _decide(self) -> Recognition:
        """The result of the whole utterance (called once, by ``finish``)."""
