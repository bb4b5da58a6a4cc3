"""Speech benchmarks, one ``name: value unit`` line per figure (medians over ``--runs``).

Recognition: real-time factor (processing time / audio length, the whole utterance through
``assistant.speech.recognition.recognize``) per engine and mode, on short spoken answers: Piper English for
PocketSphinx, espeak-ng Korean for Vosk (the Korean model is the only Vosk model here). End of
speech to final text: the utterance goes to ``stream.accept`` in 30 ms chunks as a live
microphone would (untimed), then only ``stream.finish()`` is timed.
Synthesis: request to the first sentence's PCM from ``iter_sentences`` per engine and language,
after a warm-up load, with the sentence cache cleared before every run.
Voice turn: end of speech → recognise (grammar, as the kiosk does) → ``manager.handle`` → first
sentence of the reply synthesised by Piper, on a temporary SQLite store, with the sentence cache
cleared (cold) and kept (warm); the segmenter's silence comes before all of it, so the total
adds the default silence setting. The goal is silence + 150 ms at p50.
Memory: a separate process builds the services and the voice kit as ``assistant kiosk`` does
and talks in English; its peak RSS after a closed answer (grammar recognition, Piper) is
``kiosk_memory_en``, and after a free answer too (the recogniser's language model) and the
longest spoken help text is ``kiosk_memory_en_dialog``. The answers are recorded by this
process and read from files, so the child imports nothing a kiosk would not (no pytest).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from assistant.speech.audio import SAMPLE_RATE, SAMPLE_WIDTH  # noqa: E402
from assistant.speech.segmenter import SILENCE_DEFAULT  # noqa: E402
from assistant.speech.synthesis import SpeechSynthesis  # noqa: E402

CHUNK_BYTES = int(0.03 * SAMPLE_RATE) * SAMPLE_WIDTH  # 30 ms, one microphone frame
PRE_ROLL = 0.3  # seconds before the speech, as the segmenter keeps
TRAILING = 0.2  # seconds after it, as the segmenter leaves
NOISE_LEVEL = 0.003  # a quiet room

ANSWERS_EN = ("yes", "no", "one", "two", "three", "four", "five", "six", "seven", "eight",
              "nine", "ten", "help", "go back", "start over", "skip", "repeat", "number four",
              "cancel", "warm")  # fmt: skip
ANSWERS_KO = ("네", "아니요", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉",
              "열", "다시", "도움", "취소", "처음", "뒤로", "좋아요", "싫어요", "그만")  # fmt: skip

PROMPTS = {  # engine, language, prompt of 2-3 sentences
    ("piper", "en"): "Question 2 of 4. What should the quiz be about? Say a number or a name.",
    ("espeak-ng", "en"): "Question 2 of 4. What should the quiz be about? Say a number or a name.",
    ("openjtalk", "ja"): "質問2です。クイズのテーマは何ですか？番号か名前を言ってください。",
    ("espeak-ng", "ja"): "しつもん に です。クイズ の テーマ は なんですか？"
    "ばんごう か なまえ を いって ください。",
}
WARM_UP = {"en": "Hello there, this is a warm-up.", "ja": "こんにちは。じゅんびです。"}


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def seconds_of(pcm: bytes) -> float:
    return len(pcm) / (SAMPLE_RATE * SAMPLE_WIDTH)


def in_room(speech: bytes) -> bytes:
    """Speech with pre-roll and trailing quiet, over a little room noise."""
    from tests.speech_audio import mix, noise

    pad = b"\0\0" * int(PRE_ROLL * SAMPLE_RATE)
    tail = b"\0\0" * int(TRAILING * SAMPLE_RATE)
    clip = pad + speech + tail
    return mix(clip, noise(round(seconds_of(clip) + 0.05, 1), NOISE_LEVEL)[: len(clip)])


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


# -- recognition ----------------------------------------------------------------------------


def bench_recognition(voice: Any, runs: int) -> None:
    from assistant.speech.recognition import recognize
    from tests.speech_audio import speak_en, speak_espeak

    cases: list[tuple[str, str, Sequence[str], Callable[[str], bytes]]] = [
        ("pocketsphinx", "en", ANSWERS_EN, speak_en),
        ("vosk", "ko", ANSWERS_KO, lambda text: speak_espeak(text, "ko")),
    ]
    for engine, language, answers, speak in cases:
        recognizer = voice.recognizer_for(language)
        if recognizer is None or recognizer.name != engine:
            print(f"stt_{engine}_missing: 1 flag", flush=True)
            continue
        clips = [in_room(speak(answers[i % len(answers)])) for i in range(runs)]
        for mode, grammar in (("free", None), ("grammar", tuple(answers))):
            recognize(recognizer, language, grammar, clips[0])  # warm-up: model, search
            factors: list[float] = []
            finishes: list[float] = []
            correct = 0
            for index, clip in enumerate(clips):
                start = time.perf_counter()
                result = recognize(recognizer, language, grammar, clip)
                factors.append((time.perf_counter() - start) / seconds_of(clip))
                expected = answers[index % len(answers)]
                correct += result.text.strip() == expected
                stream = recognizer.start(language, list(grammar) if grammar else None)
                for offset in range(0, len(clip), CHUNK_BYTES):
                    stream.accept(clip[offset : offset + CHUNK_BYTES])
                start = time.perf_counter()
                stream.finish()
                finishes.append(time.perf_counter() - start)
            name = f"stt_{engine}_{mode}"
            print(f"{name}_rtf: {statistics.median(factors):.3f}")
            print(f"{name}_end_to_text_p50: {ms(statistics.median(finishes))}")
            print(f"{name}_exact: {correct} of {len(clips)}", flush=True)


# -- synthesis ------------------------------------------------------------------------------


def _single(synthesis: SpeechSynthesis, engine: str, language: str) -> SpeechSynthesis | None:
    """A facade with only ``engine`` for ``language`` (no fallback), or None when missing."""
    for candidate in synthesis.engines.get(language, ()):
        if candidate.name == engine and candidate.supports(language):
            return SpeechSynthesis({language: [candidate]})
    return None


def bench_synthesis(voice: Any, runs: int) -> None:
    for (engine, language), prompt in PROMPTS.items():
        name = f"tts_{engine.replace('-', '')}_{language}"
        single = _single(voice.synthesis, engine, language)
        if single is None:
            print(f"{name}_missing: 1 flag", flush=True)
            continue
        next(single.iter_sentences(WARM_UP[language], language))  # load the voice
        timings: list[float] = []
        for _ in range(runs):
            single.clear_cache()
            start = time.perf_counter()
            next(single.iter_sentences(prompt, language))
            timings.append(time.perf_counter() - start)
        print(f"{name}_first_audio_p50: {ms(statistics.median(timings))}", flush=True)


# -- the whole voice turn -------------------------------------------------------------------


async def _voice_turns(voice: Any, runs: int, folder: Path, cold: bool) -> tuple[list[float], int]:
    from assistant.dialog import DialogManager
    from assistant.events import Turn
    from assistant.i18n import load_phrases
    from assistant.jobs import load_jobs
    from assistant.speech.recognition import recognize
    from assistant.store import SQLiteStore
    from channels.kiosk import CHANNEL
    from tests.speech_audio import speak_en

    store = SQLiteStore(folder / f"voice-{cold}.db")
    await store.open()
    manager = DialogManager(
        jobs=load_jobs(PROJECT_ROOT / "dialogs" / "jobs"),
        phrases=load_phrases(PROJECT_ROOT / "dialogs" / "locales"),
        store=store,
        default_language="en",
    )
    key = "kiosk:bench"
    for text in ("", "4", "My quiz"):  # to the quiz's topic question: a closed answer
        await manager.handle(Turn(session_key=key, text=text, language="en", channel=CHANNEL))
    loop = ("number four", "go back")  # topic -> count question -> back to topic, and again
    clips = {text: in_room(speak_en(text)) for text in loop}
    timings: list[float] = []
    heard = 0
    try:
        for index in range(runs + 2):  # two untimed warm-up turns
            said = loop[index % 2]
            pcm = clips[said]
            if cold:
                voice.synthesis.clear_cache()
            start = time.perf_counter()  # the segmenter has just handed over the utterance
            expectation = await manager.expectation(key, "en")
            recognizer = voice.recognizer_for(expectation.language)
            result = await asyncio.to_thread(
                recognize, recognizer, expectation.language, expectation.phrases, pcm
            )
            turn = Turn(
                session_key=key,
                text=result.text if result.text.strip() else said,
                channel=CHANNEL,
                confidence=result.confidence,
                data={"engine": result.engine or recognizer.name},
            )
            replies = await manager.handle(turn)
            text = " ".join(r.speech for r in replies if r.speech)
            iterator = voice.synthesis.iter_sentences(text, replies[-1].language, 1.0)
            await asyncio.to_thread(next, iterator)
            elapsed = time.perf_counter() - start
            if index >= 2:
                timings.append(elapsed)
                heard += result.text.strip() == said
    finally:
        await store.close()
    return timings, heard


def bench_voice_turn(voice: Any, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for cold, label in ((True, ""), (False, "_cached")):
            timings, heard = asyncio.run(_voice_turns(voice, runs, Path(folder), cold))
            p50 = statistics.median(timings)
            print(f"voice_turn_processing{label}_p50: {ms(p50)}")
            print(f"voice_turn_processing{label}_p90: {ms(percentile(timings, 0.9))}")
            print(
                f"voice_turn_total{label}_p50_silence_{SILENCE_DEFAULT}: {ms(p50 + SILENCE_DEFAULT)}"
            )
            print(f"voice_turn{label}_heard_exactly: {heard} of {len(timings)}", flush=True)
    print(f"voice_turn_goal_p50_silence_{SILENCE_DEFAULT}: {ms(SILENCE_DEFAULT + 0.150)}")


# -- memory ---------------------------------------------------------------------------------


MEMORY_ANSWERS = {"closed": "Number four.", "free": "Animals of Japan"}


async def _memory_child(clips: Path) -> None:
    """Services and the English voice as ``assistant kiosk`` has them, in a short dialog."""
    from assistant.app import Services
    from assistant.config import load_settings
    from assistant.events import Turn
    from assistant.speech.recognition import recognize
    from assistant.voice import build_voice
    from channels.kiosk import CHANNEL

    peaks: dict[str, float] = {}
    heard: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        voice = build_voice()
        services = Services.build(load_settings(environ={}, data_dir=folder))
        await services.start()
        key = "kiosk:memory"

        async def speak(replies: list[Any]) -> None:
            """Every sentence of the replies, synthesised off the event loop as the kiosk does."""
            text = " ".join(r.speech for r in replies if r.speech)
            sentences = voice.synthesis.iter_sentences(text, "en")
            while await asyncio.to_thread(next, sentences, None) is not None:
                pass

        async def answer(name: str, fallback: str) -> None:
            """The recorded answer through the recogniser the question asks for, then spoken."""
            expectation = await services.manager.expectation(key, "en")
            recognizer = voice.recognizer_for("en")
            assert recognizer is not None
            pcm = (clips / f"{name}.raw").read_bytes()
            result = await asyncio.to_thread(recognize, recognizer, "en", expectation.phrases, pcm)
            heard.append(result.text)
            await speak(
                await services.manager.handle(Turn(key, result.text or fallback, channel=CHANNEL))
            )

        try:
            await speak(
                await services.manager.handle(Turn(key, "", language="en", channel=CHANNEL))
            )
            await answer("closed", "4")  # the job, by number: grammar mode
            peaks["closed"] = peak_kb() / 1024
            await answer("free", "Animals of Japan")  # the quiz's name: free mode
            await speak(await services.manager.handle(Turn(key, "help", channel=CHANNEL)))
            peaks["dialog"] = peak_kb() / 1024
        finally:
            await services.stop()
    print(json.dumps({"peak_mb": peaks, "heard": heard}))


def peak_kb() -> int:
    """Peak RSS of this process in kB.

    ``VmHWM`` first: ``ru_maxrss`` of a process started by a big parent reports the parent's
    peak when that is higher (Linux keeps it across fork and exec), which here is the
    benchmark's own ~1 GB with every engine loaded.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def bench_memory() -> None:
    from tests.speech_audio import speak_en

    with tempfile.TemporaryDirectory() as folder:
        clips = Path(folder)
        for name, text in MEMORY_ANSWERS.items():
            (clips / f"{name}.raw").write_bytes(in_room(speak_en(text)))
        completed = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(clips)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=PROJECT_ROOT,
        )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode or not lines:
        print(f"kiosk_memory_en_failed: {completed.returncode} exit", flush=True)
        print(completed.stderr[-2000:], file=sys.stderr)
        return
    report = json.loads(lines[-1])
    print(f"kiosk_memory_en: {report['peak_mb']['closed']:.0f} MB", flush=True)
    print(f"kiosk_memory_en_dialog: {report['peak_mb']['dialog']:.0f} MB", flush=True)


# -- entry point ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="utterances / runs per figure")
    parser.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--memory-only", action="store_true", help="only the memory figures")
    args = parser.parse_args(argv)
    if args.memory_child:
        asyncio.run(_memory_child(args.memory_child))
        return
    if args.memory_only:
        bench_memory()
        return
    from assistant.voice import build_voice

    # Grammars name phrases the model lacks ("doubutsu"): one warning per turn, not a figure.
    logging.getLogger("assistant.speech.grammar").setLevel(logging.ERROR)
    voice = build_voice()
    bench_recognition(voice, args.runs)
    bench_synthesis(voice, args.runs)
    bench_voice_turn(voice, args.runs)
    bench_memory()


if __name__ == "__main__":
    main()
