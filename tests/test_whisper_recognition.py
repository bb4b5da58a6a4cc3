"""Japanese and English answers, spoken by real voices in a noisy room, through the real voice
turn: faster-whisper and the by-sound matching of closed answers, in both languages.

The corpus (``testing/spoken_corpus.py``) answers every kind of question of the jobs; here each
answer is spoken once (the voices take turns: Kokoro and Open JTalk for Japanese, Piper and
espeak-ng for English, at two speeds); ``scripts/bench.py --only-recognition`` runs all of
them with every voice. A missing model fails with the command that assembles it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.ports import SpeechToText
from assistant.speech.routing import recognizer_for
from assistant.speech.voice_kit import build_recognizers
from assistant.speech.voice_turn import VoiceTurn, hear
from testing import spoken_corpus as corpus
from testing.alsa import run_assistant

pytestmark = pytest.mark.slow

SURE = 0.6  # the dialog's LOW_CONFIDENCE: below it an answer is read back, not kept
# What this engine reaches on the corpus, each answer spoken once (see the bench for the full
# matrix). The goals are higher: 95 % closed, 90 % free; see test_the_goals.
# Measured here (each answer once): 21 of 30 closed right and sure, 4 wrong and sure; 77 % of
# the free answers' characters; 92 % of the English free words.
# CTranslate2 picks its int8 kernels by CPU, and they decide borderline words: the same 30
# answers are 85 % right on an Intel machine (AVX-512 kernels), 77 % on an AMD EPYC (where
# it picks AVX2; forced to AVX-512 there, closed answers pass and free ones fall to 73 %).
JA_CLOSED_FLOOR = 0.75  # below both machines; 78 % before issue 13 part R
JA_WRONG_KEPT_CEILING = 0.07  # a wrong answer kept without a read-back: the worst outcome (2 in 30 measured: 円→ユーロ, 十→16)
JA_FREE_FLOOR = 0.75
EN_FREE_FLOOR = 0.90
EN_CLOSED_FLOOR = 0.75  # 8 of 10 here; 35 of 40 in the bench


@dataclass(frozen=True)
class Heard:
    answer: corpus.Spoken
    voice: corpus.Voice
    turn: VoiceTurn

    @property
    def sure(self) -> bool:
        return self.turn.recognition.confidence >= SURE


@pytest.fixture(scope="module")
def recognizers() -> list[SpeechToText]:
    models = corpus.MODELS
    for name in ("whisper-base",):
        if not (models / name / "model.bin").is_file():
            pytest.fail(f"{name} is missing: run scripts/fetch-models assemble {name}")
    built = build_recognizers(Settings(models_dir=models))
    assert [r.name for r in built][:1] == ["whisper"]
    return built


def _hear(recognizers: list[SpeechToText], answer: corpus.Spoken, voice: corpus.Voice) -> Heard:
    recognizer = recognizer_for(recognizers, answer.language)
    assert recognizer is not None
    expectation = corpus.expectation(answer, JOBS)
    pcm = corpus.utterance(answer, voice)
    turn = asyncio.run(hear(recognizer, expectation, pcm, session_key="t", channel="test"))
    return Heard(answer, voice, turn)


JOBS = corpus.catalog()


@pytest.fixture(scope="module")
def japanese(recognizers: list[SpeechToText]) -> list[Heard]:
    voices = corpus.JAPANESE_VOICES
    return [
        _hear(recognizers, answer, voices[i % len(voices)])
        for i, answer in enumerate(corpus.JAPANESE)
    ]


@pytest.fixture(scope="module")
def english(recognizers: list[SpeechToText]) -> list[Heard]:
    voices = corpus.ENGLISH_VOICES
    return [
        _hear(recognizers, answer, voices[i % len(voices)])
        for i, answer in enumerate(corpus.ENGLISH)
    ]


def _right(heard: Heard) -> bool:
    answer = heard.answer
    return corpus.meaning(answer, heard.turn.text, JOBS) == corpus.meaning(
        answer, answer.typed or "", JOBS
    )


def _report(rows: list[Heard]) -> str:
    return "\n".join(
        f"{h.voice.label:22} {h.answer.said!r} -> {h.turn.text!r} "
        f"({h.turn.recognition.confidence:.2f}, {h.turn.engine})"
        for h in rows
    )


def test_the_corpus_covers_every_kind_of_question() -> None:
    assert len(corpus.JAPANESE) >= 40
    types = {
        JOBS.jobs[a.job].question(a.question).type  # type: ignore[union-attr]
        for a in corpus.JAPANESE
        if a.question != corpus.MENU
    }
    assert types >= {"choice", "yesno", "number", "text", "list", "date", "time", "color"}


def test_japanese_closed_answers(japanese: list[Heard]) -> None:
    closed = [h for h in japanese if h.answer.closed]
    right = [h for h in closed if _right(h) and h.sure]
    wrong_kept = [h for h in closed if not _right(h) and h.sure]
    report = _report([h for h in closed if h not in right])
    assert len(right) / len(closed) >= JA_CLOSED_FLOOR, report
    assert len(wrong_kept) / len(closed) <= JA_WRONG_KEPT_CEILING, report
    assert {h.turn.engine for h in closed} <= {"whisper", "pocketsphinx"}


def test_japanese_free_answers(japanese: list[Heard]) -> None:
    free = [h for h in japanese if not h.answer.closed]
    accuracy = sum(corpus.reading_accuracy(h.answer.said, h.turn.text) for h in free) / len(free)
    assert accuracy >= JA_FREE_FLOOR, f"{accuracy:.3f}\n{_report(free)}"


def test_the_hard_cases_are_decided_right(recognizers: list[SpeechToText]) -> None:
    """「にばんです」 (Whisper: ニバーンデス), 「うん」 (そして)."""
    _hard_cases_right(recognizers, {"にばんです": "2番", "うん": "はい"})


@pytest.mark.xfail(
    reason="machine-dependent: Intel's AVX-512 kernels hear 四番; on an AMD EPYC, CTranslate2's "
    "AVX2 kernels hear 一, sure (issue 13: a filler before a number)",
    strict=False,
)
def test_a_filler_before_the_number_is_decided_right(recognizers: list[SpeechToText]) -> None:
    """「えっと、四番」 (Whisper: エットヨンバン)."""
    _hard_cases_right(recognizers, {"えっと、四番": "4番"})


def _hard_cases_right(recognizers: list[SpeechToText], hard: dict[str, str]) -> None:
    answers = [a for a in corpus.JAPANESE if a.said in hard]
    assert len(answers) == len(hard)
    for answer in answers:
        for voice in corpus.JAPANESE_VOICES[:2]:
            heard = _hear(recognizers, answer, voice)
            assert _right(heard) and heard.sure, _report([heard])


def test_a_number_in_free_words_reaches_the_dialog(recognizers: list[SpeechToText]) -> None:
    """「3つ」 is no phrase of the number question: it goes on as heard, and the dialog's own
    number understanding finds 3 (read back when unsure, never lost)."""
    answer = next(a for a in corpus.JAPANESE if a.said == "3つ")
    heard = _hear(recognizers, answer, corpus.JAPANESE_VOICES[1])
    assert corpus.meaning(answer, heard.turn.text, JOBS) == ("value", 3), _report([heard])


def test_english(english: list[Heard]) -> None:
    free = [h for h in english if not h.answer.closed]
    closed = [h for h in english if h.answer.closed]
    words = sum(corpus.word_accuracy(h.answer.said, h.turn.text) for h in free) / len(free)
    assert words >= EN_FREE_FLOOR, f"{words:.3f}\n{_report(free)}"
    assert all(h.turn.engine == "whisper" for h in free)
    right = [h for h in closed if _right(h) and h.sure]
    assert len(right) / len(closed) >= EN_CLOSED_FLOOR, _report(closed)
    assert {h.turn.engine for h in closed} <= {"whisper", "pocketsphinx"}


@pytest.mark.xfail(strict=True, reason="Japanese closed answers: 95 % is not reached yet")
def test_the_goals(japanese: list[Heard]) -> None:
    closed = [h for h in japanese if h.answer.closed]
    right = [h for h in closed if _right(h) and h.sure]
    assert len(right) / len(closed) >= 0.95


def test_transcribe_japanese_from_the_command_line(tmp_path: Path) -> None:
    from assistant.speech.audio import write_wav

    answer = next(a for a in corpus.JAPANESE if a.said == "ひだまりカフェ")
    wav = tmp_path / "answer.wav"
    write_wav(wav, corpus.utterance(answer, corpus.JAPANESE_VOICES[0]))
    result = run_assistant(tmp_path, "transcribe", str(wav), "--lang", "ja", timeout=120)
    lines = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert lines["engine"] == "whisper"
    assert corpus.reading_accuracy("ひだまりカフェ", lines["text"]) >= 0.8, lines
