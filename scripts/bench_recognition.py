"""Recognition benchmark (issue 13): the whole spoken corpus, every answer by every voice.

Printed side by side, in one run: Japanese closed-answer accuracy and free-text character
accuracy (of the readings) of (a) plain Whisper base (faster-whisper's ``transcribe``, no
prompt, no matching; its text given to the dialog as it is) and (b) our engine (prompted by
the expected phrases, matched by sound, sure enough not to be read back); English word
accuracy of free answers for PocketSphinx, Whisper tiny.en and Whisper base, and closed
English for PocketSphinx (grammar) and Whisper (matching); end of speech to text p50/p95 for
closed and free answers. Goals: ja closed >= 95 % and >= 20 points above plain; ja free >= 90 %;
en free >= 90 %; <= 400 ms closed and <= 1 s free at p50.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.ports import SpeechToText  # noqa: E402
from assistant.speech.engines import whisper  # noqa: E402
from assistant.speech.engines.pocketsphinx import PocketSphinxRecognizer  # noqa: E402
from assistant.speech.recognition import recognize  # noqa: E402
from assistant.speech.transcript import tidy  # noqa: E402
from testing import spoken_corpus as corpus  # noqa: E402

SURE = 0.6


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _plain(folder: Path, language: str) -> Callable[[bytes], str]:
    loaded = whisper.load_model(folder)

    def transcribe(pcm: bytes) -> str:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        segments, _ = loaded.model.transcribe(
            samples, language=language, vad_filter=False, without_timestamps=True
        )
        return tidy("".join(s.text for s in segments))

    return transcribe


def _score(answer: corpus.Spoken, text: str, confidence: float, jobs: object) -> float:
    if answer.closed:
        wanted = corpus.meaning(answer, answer.typed or "", jobs)  # type: ignore[arg-type]
        right = corpus.meaning(answer, text, jobs) == wanted  # type: ignore[arg-type]
        return 1.0 if right and confidence >= SURE else 0.0
    if answer.language == "ja":
        return corpus.reading_accuracy(answer.said, text)
    return corpus.word_accuracy(answer.said, text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-plain", action="store_true", help="skip plain Whisper (slow)")
    args = parser.parse_args(argv)
    jobs = corpus.catalog()
    base = corpus.MODELS / "whisper-base"
    tiny = corpus.MODELS / "whisper-tiny.en"
    ours = whisper.WhisperRecognizer({"ja": base, "en": base})
    sphinx = PocketSphinxRecognizer()
    plain = {"ja": _plain(base, "ja"), "en": _plain(base, "en")}
    tiny_engine = whisper.WhisperRecognizer({"en": tiny})
    systems: dict[str, dict[str, list[float]]] = {}
    latency: dict[str, list[float]] = {"closed": [], "free": []}

    def add(name: str, kind: str, value: float) -> None:
        systems.setdefault(name, {}).setdefault(kind, []).append(value)

    held_out = [(a, "held-out ") for a in corpus.HELD_OUT_JAPANESE]
    sets = (
        ("ja", [(a, "") for a in corpus.JAPANESE] + held_out),
        ("en", [(a, "") for a in corpus.ENGLISH]),
    )
    for language, answers in sets:
        for answer, group in answers:
            expectation = corpus.expectation(answer, jobs)
            grammar = expectation.phrases if answer.closed else None
            kind = f"{language} {group}{'closed' if answer.closed else 'free'}"
            for voice in corpus.voices_for(language):
                pcm = corpus.utterance(answer, voice)
                engines: list[tuple[str, SpeechToText]] = [("whisper base (ours)", ours)]
                if language == "en":
                    engines += [("pocketsphinx", sphinx)]
                    if not answer.closed:
                        engines += [("whisper tiny.en", tiny_engine)]
                for name, engine in engines:
                    started = time.perf_counter()
                    result = recognize(engine, language, grammar, pcm)
                    elapsed = time.perf_counter() - started
                    add(name, kind, _score(answer, result.text, result.confidence, jobs))
                    if answer.closed and result.confidence >= SURE:  # wrong and not read back
                        wrong = _score(answer, result.text, 1.0, jobs) == 0.0
                        add(name, f"{kind} wrong-sure", float(wrong))
                    if language == "ja" and not answer.closed:  # the surface, as written
                        surface = corpus.character_accuracy(answer.said, result.text)
                        add(name, f"{kind} surface", surface)
                    if name.endswith("(ours)"):
                        latency["closed" if answer.closed else "free"].append(elapsed)
                if not args.no_plain:
                    text = plain[language](pcm)
                    add("whisper base plain", kind, _score(answer, text, 1.0, jobs))
    for name, kinds in systems.items():
        for kind, values in sorted(kinds.items()):
            label = "right" if "closed" in kind else "of chars" if "ja" in kind else "of words"
            if kind.endswith("wrong-sure"):
                label = f"wrong and sure ({int(sum(values))} of the sure answers)"
            print(f"{kind:10} {name:22} {100 * sum(values) / len(values):5.1f} % {label} "
                  f"({len(values)} answers)")  # fmt: skip
    for kind, values in latency.items():
        print(
            f"end of speech -> text, {kind} (ours): p50 {percentile(values, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(values, 0.95) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
