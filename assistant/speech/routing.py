"""Which recogniser hears an answer: per language, and per closed or free question.

A recogniser may be best at free speech and leave closed answers to a grammar engine where that
measures as right and faster: when several recognisers serve a language, the first (by the
registry's order) hears free answers, and closed answers go to the next one when the first
says it ``defers_closed`` that language. Today Whisper defers none: on the English corpus
PocketSphinx's grammar was faster but far less sure (``engines/whisper.py``). It asks for a
``wants_second_opinion`` on closed English answers instead: PocketSphinx hears them alongside
(0.15 s) and is taken when Whisper is unsure and it is surer. With one recogniser for a
language, it hears everything, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.ports import Recognition, RecognitionStream, SpeechToText

SURE = 0.6  # the dialog reads back below this (dialog.flow.LOW_CONFIDENCE)


def _defers_closed(recognizer: SpeechToText, language: str) -> bool:
    defers = getattr(recognizer, "defers_closed", None)
    return bool(defers(language)) if callable(defers) else False


def _wants_second_opinion(recognizer: SpeechToText, language: str) -> bool:
    wants = getattr(recognizer, "wants_second_opinion", None)
    return bool(wants(language)) if callable(wants) else False


class SecondOpinionStream:
    """A closed answer heard by two recognisers at once: the first one's result when it is
    sure, else whichever of the two is surer (Whisper heard "five" as "Bye" in room noise;
    PocketSphinx's grammar still found "five")."""

    def __init__(self, first: RecognitionStream, second: RecognitionStream) -> None:
        self._first = first
        self._second = second

    def accept(self, pcm: bytes) -> str | None:
        """Feed both; the first one's partial text."""
        self._second.accept(pcm)
        return self._first.accept(pcm)

    def finish(self) -> Recognition:
        """The first result when sure, else the surer of the two."""
        first = self._first.finish()
        if first.confidence >= SURE:
            self._second.finish()  # gives its decoder back
            return first
        second = self._second.finish()
        return second if second.confidence > first.confidence else first


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
        """A stream on the recogniser this answer goes to (with a second opinion on a closed
        answer when the first recogniser asks for one)."""
        chosen = self.choose(language, bool(grammar))
        stream = chosen.start(language, grammar)
        if grammar and _wants_second_opinion(chosen, language):
            other = next(
                (r for r in self.recognizers if r is not chosen and r.supports(language)), None
            )
            if other is not None:
                return SecondOpinionStream(stream, other.start(language, grammar))
        return stream


def recognizer_for(recognizers: Sequence[SpeechToText], language: str) -> SpeechToText | None:
    """The recogniser for ``language``: the first that serves it, or the routing of all of
    them when the first leaves closed answers to others; None when none does."""
    serving = [r for r in recognizers if r.supports(language)]
    if not serving:
        return None
    first = serving[0]
    if len(serving) == 1 or not (
        _defers_closed(first, language) or _wants_second_opinion(first, language)
    ):
        return serving[0]  # it hears everything: nothing to route
    return LanguageRecognizer(serving)
