"""Which recogniser hears an answer: per language, and per closed or free question.

A recogniser may be best at free speech and leave closed answers to a grammar engine where that
measures as right and faster: when several recognisers serve a language, the first (by the
registry's order) hears free answers, and closed answers go to the next one when the first
says it ``defers_closed`` that language. Today Whisper defers none: on the English corpus
PocketSphinx's grammar was faster but far less sure (``engines/whisper.py``), so Whisper hears
everything. With one recogniser for a language, it hears everything, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.ports import RecognitionStream, SpeechToText


def _defers_closed(recognizer: SpeechToText, language: str) -> bool:
    defers = getattr(recognizer, "defers_closed", None)
    return bool(defers(language)) if callable(defers) else False


class LanguageRecognizer:
    """The recognisers of one language behind one ``SpeechToText`` (module doc)."""

    def __init__(self, recognizers: Sequence[SpeechToText]) -> None:
        self.recognizers = list(recognizers)
        self.name = "+".join(r.name for r in self.recognizers)

    def supports(self, language: str) -> bool:
        """Whether any of them understands ``language``."""
        return any(r.supports(language) for r in self.recognizers)

    def choose(self, language: str, closed: bool) -> SpeechToText:
        """The recogniser for a closed or a free answer in ``language``."""
        serving = [r for r in self.recognizers if r.supports(language)]
        if not serving:
            raise ValueError(f"no recogniser for {language!r}")
        if closed and len(serving) > 1 and _defers_closed(serving[0], language):
            return serving[1]
        return serving[0]

    def start(self, language: str, grammar: Sequence[str] | None = None) -> RecognitionStream:
        """A stream on the recogniser this answer goes to."""
        return self.choose(language, bool(grammar)).start(language, grammar)


def recognizer_for(recognizers: Sequence[SpeechToText], language: str) -> SpeechToText | None:
    """The recogniser for ``language``: the first that serves it, or the routing of all of
    them when the first leaves closed answers to others; None when none does."""
    serving = [r for r in recognizers if r.supports(language)]
    if not serving:
        return None
    if len(serving) == 1 or not _defers_closed(serving[0], language):
        return serving[0]  # it hears everything: nothing to route
    return LanguageRecognizer(serving)
