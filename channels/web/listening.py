"""One page's microphone on the server: PCM frames in, whole utterances out.

The page streams raw 16 kHz 16-bit mono PCM; frame boundaries of the websocket need not match
30 ms frames, so bytes are carried over. Voice activity and end of speech use the same
webrtcvad marker and pure segmenter as the kiosk, with the user's own end-of-speech silence.
"""

from __future__ import annotations

from assistant.ports import VoiceActivityDetector
from assistant.speech.audio import FRAME_BYTES
from assistant.speech.segmenter import Segmenter, SpeechEnded, clamp_silence_seconds

MAX_BINARY_FRAME = 64 * 1024  # about 2 s of audio; the page sends 30-120 ms at a time


class Listening:
    """Segments a page's audio; ``once`` stops after the first utterance."""

    def __init__(
        self, vad: VoiceActivityDetector, mode: str, silence: float, max_seconds: float = 15.0
    ) -> None:
        self.vad = vad
        self.mode = mode
        # The longest utterance bounds what one listening page holds: the segmenter keeps at
        # most this much speech (plus its pre-roll) and a partial frame.
        self.segmenter = Segmenter(max_seconds=max_seconds)
        self.segmenter.silence_seconds = clamp_silence_seconds(silence)
        self._rest = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Utterances completed by this chunk of audio (usually none)."""
        data = self._rest + data
        whole = len(data) - len(data) % FRAME_BYTES
        self._rest = data[whole:]
        utterances: list[bytes] = []
        for start in range(0, whole, FRAME_BYTES):
            frame = data[start : start + FRAME_BYTES]
            for event in self.segmenter.process(frame, self.vad.is_speech(frame)):
                if isinstance(event, SpeechEnded):
                    utterances.append(event.audio)
        return utterances

    def finish(self) -> list[bytes]:
        """The user pressed stop: whatever speech was under way counts as said."""
        self._rest = b""
        return [e.audio for e in self.segmenter.flush() if isinstance(e, SpeechEnded)]
