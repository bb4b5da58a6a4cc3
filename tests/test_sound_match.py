"""Closed answers matched by sound, and the routing of closed and free answers (no model)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.ports import Recognition, RecognitionStream
from assistant.speech.routing import LanguageRecognizer, recognizer_for
from assistant.speech.sound_match import match, sound_key
from assistant.speech.transcript import tidy
from assistant.understanding.expectation import japanese_number

CHOICES = ["あたたか", "クール", "ナチュラル", "ポップ", "一番", "にばん", "二番", "三番", "四番"]


def test_what_whisper_wrote_is_the_phrase_it_sounds_like() -> None:
    for heard, phrase in [
        ("ニバーンデス", "二番"),  # a long vowel and a polite ending
        ("エットヨンバン", "四番"),  # a filler, in katakana
        ("えっと、四番", "四番"),
        ("1、4番", "四番"),  # the filler written as a word, its own clause
        ("ナチュラルでお願いします", "ナチュラル"),
        ("クールです", "クール"),
    ]:
        found = match(heard, CHOICES, "ja")
        assert found is not None and sound_key(found.phrase, "ja") == sound_key(phrase, "ja")
        assert found.confidence >= 0.6, (heard, found)


def test_spellings_of_one_sound_share_a_key() -> None:
    assert sound_key("にばん", "ja") == sound_key("2番", "ja") == sound_key("ニバーン", "ja")
    assert sound_key("もう一度", "ja") == sound_key("もういちど", "ja")
    assert sound_key("four", "en") == sound_key("for", "en")
    assert sound_key("2", "en") == sound_key("two", "en")


def test_an_answer_like_no_phrase_goes_on_as_heard() -> None:
    numbers = [p for n in range(3, 11) for p in japanese_number(n)]
    assert match("3つ", numbers, "ja") is None  # the dialog's numbers understand 「3つ」
    assert match("ホームページを作りたい", CHOICES, "ja") is None


def test_two_phrases_that_sound_alike_make_it_unsure() -> None:
    found = match("ヨンバンサンバン", ["三番", "四番"], "ja")
    assert found is not None and found.confidence < 0.6


def _question(answers: Sequence[str]) -> list[str]:
    """A question's phrases as the dialog gives them: its answers, then every command."""
    from assistant.understanding.expectation import commands

    return [*answers, *commands("ja")]


def test_a_command_at_a_question_must_be_clearly_heard() -> None:
    topics = _question(["どうぶつ", "たべもの", "かがく"])
    # 「戻る」 as Whisper wrote it: one sound off is still the command, and sure.
    found = match("戻れ", topics, "ja")
    assert found is not None and found.phrase in ("戻る", "もどる") and found.confidence >= 0.6
    # A sound more and one changed might be 「待って」 or a mumbled 「戻る」: read back.
    found = match("またで", topics, "ja")
    assert found is not None and found.confidence < 0.6
    # The same loose match is sure where only commands are expected (nothing else to say).
    found = match("またで", ["待って", "前へ"], "ja")
    assert found is not None and found.phrase == "待って" and found.confidence >= 0.6


def test_yes_and_no_that_sound_alike_are_never_taken_the_wrong_way_round() -> None:
    from assistant.understanding.expectation import yes_no

    phrases = _question(yes_no("ja"))
    for heard, yes in [("いいえ", False), ("いや", False), ("はい", True), ("うん", True)]:
        found = match(heard, phrases, "ja")
        assert found is not None and found.confidence >= 0.6, heard
        assert (found.phrase in yes_no("ja")[: yes_no("ja").index("いいえ")]) is yes, found
    # 「いりね」 sounds as much like 「いい」 (yes) as like 「いいえ」 (no): unsure, not yes.
    found = match("いりね", phrases, "ja")
    assert found is None or found.confidence < 0.6
    # Other ways to say yes are no rivals of a yes: 「うんうん」 is sure.
    found = match("うんうん", phrases, "ja")
    assert found is not None and found.confidence >= 0.6


def test_whisper_is_prompted_with_both_yes_and_no() -> None:
    from assistant.speech.engines.whisper import prompt_text
    from assistant.understanding.expectation import yes_no

    prompt = prompt_text(_question(yes_no("ja")), "ja")
    assert prompt is not None
    words = prompt.split("、")
    assert "はい" in words and "いいえ" in words and "いや" in words


class _Engine:
    """A recogniser that says which engine heard (no audio needed)."""

    def __init__(self, name: str, defers: bool = False) -> None:
        self.name = name
        self._defers = defers

    def supports(self, language: str) -> bool:
        return language == "en"

    def defers_closed(self, language: str) -> bool:
        return self._defers

    def start(self, language: str, grammar: Sequence[str] | None = None) -> RecognitionStream:
        engine = self.name

        class _Stream:
            def accept(self, pcm: bytes) -> str | None:
                return None

            def finish(self) -> Recognition:
                return Recognition("x", 1.0, (), engine)

        return _Stream()


def test_closed_english_goes_to_the_grammar_engine_free_english_to_whisper() -> None:
    whisper, sphinx = _Engine("whisper", defers=True), _Engine("pocketsphinx")
    routed = recognizer_for([whisper, sphinx], "en")
    assert isinstance(routed, LanguageRecognizer)
    assert routed.start("en", ["yes", "no"]).finish().engine == "pocketsphinx"
    assert routed.start("en", None).finish().engine == "whisper"
    alone = recognizer_for([whisper], "en")
    assert alone is whisper, "with no grammar engine, Whisper hears closed answers too"
    assert recognizer_for([whisper, sphinx], "ja") is None


@pytest.mark.parametrize(
    ("written", "answer"),
    [
        ("D-d-d", ""),  # what Whisper wrote for "stop" over the kiosk's voice
        ("N-n-no", "no"),
        ("I-I-I want a page", "I want a page"),
        ("Well, d-d-d, stop.", "Well, stop"),
        ("To-do list", "To-do list"),
        ("E-mail", "E-mail"),
    ],
)
def test_a_stutter_is_not_a_word(written: str, answer: str) -> None:
    assert tidy(written) == answer


def test_a_stutter_does_not_start_a_job_at_the_menu() -> None:
    # Before: "D-d-d" (keys T T T) sounded like "To-do list" (T T LST), sure enough to start it.
    phrases = ["Café web page", "To-do list", "Quiz game", "two", "stop"]
    assert match(tidy("D-d-d"), phrases, "en") is None


def test_an_answer_that_means_a_phrase_is_that_phrase_and_sure() -> None:
    from assistant.speech.engines.whisper import MEANING_CONFIDENCE, _by_meaning

    # 「3つ」 sounds like none of 3/三/さん, but it says 3: read back every time before.
    heard = _by_meaning("3つ", 0.14, ["3", "三", "さん", "4", "四", "よん"], "ja")
    assert heard is not None and heard.text == "3" and heard.confidence == MEANING_CONFIDENCE
    seven = _by_meaning("seven", 0.9, ["6", "7", "8"], "en")
    assert seven is not None and seven.text == "7"
    assert _by_meaning("ポンセン", 0.33, ["ポップ", "クール"], "ja") is None, "no meaning"
    assert _by_meaning("3つ", 0.2, ["4", "5"], "ja") is None, "a number not offered"


def test_a_number_question_expects_its_own_counter_and_whisper_writing_it_is_sure() -> None:
    from assistant.jobs.loader import load_jobs
    from assistant.speech.engines.whisper import prompt_text
    from assistant.understanding.expectation import question_phrases
    from assistant.understanding.numbers import parse_number
    from testing.alsa import PROJECT_ROOT

    jobs = load_jobs(PROJECT_ROOT / "dialogs" / "jobs")
    count = jobs.jobs["quiz_game"].question("question_count")
    tax = jobs.jobs["shopping_total"].question("tax_rate")
    assert count is not None and tax is not None
    counted = question_phrases(count, "ja") or []
    assert "五問" in counted and parse_number("五問") == 5 == parse_number("5問")
    assert "八パーセント" in (question_phrases(tax, "ja") or [])
    # What Whisper made of 「ごもん」 and 「ろくもん」: the counted number by sound.
    for heard, phrase in [("ともん", "五問"), ("よくもん", "六問")]:
        found = match(heard, _question(counted), "ja")
        assert found is not None and found.phrase == phrase, (heard, found)
    # 「8パーセント」 written outright is 8, though 「一パーセント」 sounds almost the same.
    found = match("8パーセント", _question(question_phrases(tax, "ja") or []), "ja")
    assert found is not None and found.phrase == "八パーセント" and found.confidence >= 0.6
    # Whisper is prompted with the numbers in kana (「じゅう」 not 「じゃあ」 for 十).
    assert (
        prompt_text(_question(counted), "ja") == "さん、よん、ご、ろく、なな、はち、きゅう、じゅう"
    )


def test_two_ways_to_say_one_thing_are_no_list() -> None:
    from assistant.speech.sound_match import distinct_clauses

    assert distinct_clauses("はい、お願いします", "ja") == 1  # both say yes
    assert distinct_clauses("うん、うん、うん", "ja") == 1
    assert distinct_clauses("5、6、7、8", "ja") == 4  # Whisper going on with a prompted list


def test_of_the_plain_and_prompted_readings_the_surer_one_decides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whisper's two readings of one closed answer, without a model: the prompted one may be
    empty or only loosely like a phrase while the plain one says the answer outright."""
    from assistant.speech.engines import whisper

    numbers = _question([p for n in range(0, 31) for p in japanese_number(n)])
    readings: list[tuple[str, float]] = []
    monkeypatch.setattr(whisper, "decode", lambda *args, **kwargs: list(readings))
    stream = whisper.WhisperStream(None, "ja", numbers)  # type: ignore[arg-type]

    readings[:] = [("3つ", 0.5), ("", 0.69)]  # the prompted reading came back empty
    heard = stream._closed(b"", numbers)
    assert heard.text == "3" and heard.confidence >= 0.6
    readings[:] = [("8パーセント", 0.7), ("はじパーセント", 0.6)]  # like 一パーセント too
    heard = stream._closed(b"", [*numbers, "八パーセント", "一パーセント"])
    assert heard.text == "八パーセント" and heard.confidence >= 0.6
