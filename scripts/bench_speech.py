"""Speech benchmarks, one ``name: value unit`` line per figure (medians over ``--runs``).

Recognition: real-time factor (processing time / audio length, the whole utterance through
``assistant.speech.recognition.recognize``) per engine and mode, on short spoken answers: Piper English for
PocketSphinx, espeak-ng Korean for Vosk (the Korean model is the only Vosk model here). End of
speech to final text: the utterance goes to ``stream.accept`` in 30 ms chunks as a live
microphone would (untimed), then only ``stream.finish()`` is timed.
Synthesis: request to the first sentence's PCM from ``iter_sentences`` per engine and language,
after a warm-up load, with the sentence cache cleared before every run.
Voice turn: spoken answers (Piper, in room noise) paced in real time into ``KioskChannel``
(webrtcvad, the segmenter with the default end-of-speech silence, grammar recognition,
``manager.handle``, sentence synthesis, a memory speaker), on a temporary SQLite store, with
the sentence cache cleared (cold) and kept (warm): from the last voiced frame of the answer to
the reply's first audio reaching the speaker, so the segmenter's silence is measured, not added.
The goal is silence + 150 ms at p50.
Memory: a real ``assistant kiosk --lang en`` process on ALSA's null and file devices (an
``.asoundrc`` in a temporary HOME, as the tests do), spoken to through a FIFO microphone in real
time; its peak (``VmHWM``) and current (``VmRSS``) memory after it has answered one spoken turn
(the menu, by voice) is ``kiosk_memory_en``, and after "help" (the longest reply) too is
``kiosk_memory_en_dialog``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
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
    from testing.speech_audio import mix, noise

    pad = b"\0\0" * int(PRE_ROLL * SAMPLE_RATE)
    tail = b"\0\0" * int(TRAILING * SAMPLE_RATE)
    clip = pad + speech + tail
    return mix(clip, noise(round(seconds_of(clip) + 0.05, 1), NOISE_LEVEL)[: len(clip)])


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


# -- recognition ----------------------------------------------------------------------------


def bench_recognition(voice: Any, runs: int) -> None:
    from assistant.speech.recognition import recognize
    from testing.speech_audio import speak_en, speak_espeak

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


class _TimedSink:
    """A memory speaker (no waiting) that notes when each reply's first audio reached it."""

    def __new__(cls) -> Any:
        from assistant.speech.devices.memory import MemorySink

        class TimedSink(MemorySink):
            def __init__(self) -> None:
                super().__init__(speed=float("inf"))
                self.first_audio: list[float] = []

            async def play_stream(self, chunks: Any, *, volume: float = 1.0) -> bool:
                async def noted() -> Any:
                    first = True
                    async for chunk in chunks:
                        if first:
                            self.first_audio.append(time.perf_counter())
                            first = False
                        yield chunk

                return await super().play_stream(noted(), volume=volume)

        return TimedSink()


class _PacedUser:
    """A microphone in real time: room sound, and after each reply one answer, the time its
    speech ended noted (the last voiced frame: what the segmenter's silence counts from)."""

    def __init__(self, clips: list[bytes], voiced_ends: list[int], kiosk: list[Any]) -> None:
        self.clips, self.voiced_ends, self.kiosk = clips, voiced_ends, kiosk
        self.speech_ended: list[float] = []
        self.before_turn: Callable[[], None] = lambda: None

    async def frames(self) -> Any:
        from assistant.speech import audio
        from testing.speech_audio import noise

        room = noise(audio.FRAME_SECONDS, NOISE_LEVEL)
        started = time.perf_counter()
        count = 0

        async def paced(frame: bytes) -> bytes:
            nonlocal count
            count += 1
            await asyncio.sleep(
                max(0.0, started + count * audio.FRAME_SECONDS - time.perf_counter())
            )
            return frame

        for clip, voiced_end in zip(self.clips, self.voiced_ends, strict=True):
            kiosk = self.kiosk[0]
            replies = len(kiosk.stats.spoken)
            while kiosk._speaking() or len(kiosk.stats.spoken) == replies and self.speech_ended:
                yield await paced(room)
            for _ in range(10):
                yield await paced(room)
            self.before_turn()
            for index, frame in enumerate(audio.frames(clip)):
                yield await paced(frame)
                if index == voiced_end:
                    self.speech_ended.append(time.perf_counter())
        for _ in range(100):  # the last reply
            yield await paced(room)

    async def close(self) -> None:
        """Nothing to release."""


async def _voice_turns(voice: Any, runs: int, folder: Path, cold: bool) -> tuple[list[float], int]:
    """Spoken answers through ``KioskChannel`` (webrtcvad, the segmenter with the default
    silence, recognition, the dialog, synthesis, a speaker): end of speech to the reply's first
    audio at the speaker, segmenter silence included."""
    from assistant.dialog.manager import DialogManager
    from assistant.events import Turn
    from assistant.jobs.loader import load_jobs
    from assistant.jobs.phrases import load_phrases
    from assistant.speech import audio
    from assistant.store.sqlite import SQLiteStore
    from channels.kiosk.channel import CHANNEL, RMS_FLOOR, KioskChannel, rms
    from testing.speech_audio import speak_en

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
    said = [loop[index % 2] for index in range(runs + 2)]  # two untimed warm-up turns
    clips = [in_room(speak_en(text)) for text in said]
    voiced_ends = [
        max(i for i, frame in enumerate(audio.frames(clip)) if rms(frame) > RMS_FLOOR)
        for clip in clips
    ]
    holder: list[Any] = []
    user = _PacedUser(clips, voiced_ends, holder)
    if cold:
        user.before_turn = voice.synthesis.clear_cache
    sink = _TimedSink()
    kiosk = KioskChannel(
        manager, source=user, sink=sink, recognizer_for=voice.recognizer_for,
        synthesis=voice.synthesis, vad=voice.vad, session_key=key, language="en",
        stop_when_ended=False,
    )  # fmt: skip
    holder.append(kiosk)
    try:
        await kiosk.run()
    finally:
        await store.close()
    replies = sink.first_audio[1:]  # the first is the resumed session's greeting
    timings = [reply - ended for ended, reply in zip(user.speech_ended, replies, strict=False)][2:]
    heard = sum(turn == text for turn, text in zip(kiosk.stats.turns[2:], said[2:], strict=False))
    return timings, heard


def bench_voice_turn(voice: Any, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for cold, label in ((True, ""), (False, "_cached")):
            timings, heard = asyncio.run(_voice_turns(voice, runs, Path(folder), cold))
            print(
                f"voice_turn_total{label}_p50_silence_{SILENCE_DEFAULT}: {ms(statistics.median(timings))}"
            )
            print(
                f"voice_turn_total{label}_p90_silence_{SILENCE_DEFAULT}: {ms(percentile(timings, 0.9))}"
            )
            print(
                f"voice_turn_processing{label}_p50: {ms(statistics.median(timings) - SILENCE_DEFAULT)}"
            )
            print(f"voice_turn{label}_heard_exactly: {heard} of {len(timings)}", flush=True)
    print(f"voice_turn_goal_p50_silence_{SILENCE_DEFAULT}: {ms(SILENCE_DEFAULT + 0.150)}")


# -- memory ---------------------------------------------------------------------------------


MEMORY_TURNS = ("number four", "help")  # a closed answer, then the longest spoken help text
MEMORY_QUIET = 1.5  # seconds of no new speaker output that mean the kiosk has finished a reply
MEMORY_LIMIT = 90.0  # seconds the whole measurement may take


def process_memory_mb(pid: int) -> dict[str, float]:
    """``VmRSS`` (now) and ``VmHWM`` (peak) of a process, in MB."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


class _SpeakerFile:
    """When the kiosk last wrote to the fake card's speaker file (reopening truncates it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.wrote_at = 0.0

    def poll(self) -> None:
        size = self.path.stat().st_size if self.path.exists() else 0
        if size != self.size:
            self.size, self.wrote_at = size, time.monotonic()


def _wait_for_reply(mic: Any, speaker: _SpeakerFile, since: float, room: Callable) -> None:
    """Keep the room sound flowing until the kiosk has spoken after ``since`` and gone quiet."""
    deadline = time.monotonic() + MEMORY_LIMIT
    while time.monotonic() < deadline:
        mic.keep_room(room)
        speaker.poll()
        now = time.monotonic()
        if speaker.wrote_at > since and now - speaker.wrote_at >= MEMORY_QUIET:
            return
        time.sleep(0.02)
    raise TimeoutError("the kiosk did not answer in time")


def bench_memory() -> None:
    """A real ``assistant kiosk --lang en`` on ALSA's file devices (tests/alsa.py): its
    ``VmHWM`` / ``VmRSS`` after one spoken turn (the menu answered by voice: grammar
    recognition and Piper), then after "help" (the longest reply)."""
    from testing.alsa import MicPipe, sound_env, stop_kiosk, write_asoundrc
    from testing.speech_audio import noise, speak_en

    def room(seconds: float) -> bytes:
        return noise(seconds, NOISE_LEVEL)

    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        home, speaker_path = folder / "home", folder / "speaker.raw"
        mic = MicPipe(folder / "mic.fifo", lead=0.4)
        write_asoundrc(home, mic.path, speaker_path)
        utterances = {text: in_room(speak_en(text)) for text in MEMORY_TURNS}
        env = sound_env(home, ASSISTANT_DATA_DIR=str(folder / "data"), ASSISTANT_LLM_ENABLED="0")
        command = [sys.executable, "-m", "assistant", "kiosk", "--lang", "en", "--realtime-input"]
        log = (folder / "kiosk.log").open("w+")
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
        speaker = _SpeakerFile(speaker_path)
        figures: list[dict[str, float]] = []
        try:
            _wait_for_reply(mic, speaker, 0.0, room)  # the greeting
            for text in MEMORY_TURNS:
                said_at = time.monotonic()
                mic.write(utterances[text])
                _wait_for_reply(mic, speaker, said_at, room)
                figures.append(process_memory_mb(process.pid))
        except (TimeoutError, OSError) as err:
            log.seek(0)
            print(f"kiosk_memory_en_failed: {err}", flush=True)
            print(log.read()[-2000:], file=sys.stderr)
            return
        finally:
            stop_kiosk(process, mic, output=folder / "kiosk.log")
            log.close()
    turn, dialog = figures
    print(f"kiosk_memory_en: {turn['VmHWM']:.0f} MB (rss {turn['VmRSS']:.0f} MB)", flush=True)
    print(
        f"kiosk_memory_en_dialog: {dialog['VmHWM']:.0f} MB (rss {dialog['VmRSS']:.0f} MB)",
        flush=True,
    )


# -- entry point ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="utterances / runs per figure")
    parser.add_argument("--memory-only", action="store_true", help="only the memory figures")
    args = parser.parse_args(argv)
    if args.memory_only:
        bench_memory()
        return
    from assistant.speech.voice_kit import build_voice

    # Grammars name phrases the model lacks ("doubutsu"): one warning per turn, not a figure.
    logging.getLogger("assistant.speech.grammar").setLevel(logging.ERROR)
    voice = build_voice()
    bench_recognition(voice, args.runs)
    bench_synthesis(voice, args.runs)
    bench_voice_turn(voice, args.runs)
    bench_memory()


if __name__ == "__main__":
    main()
