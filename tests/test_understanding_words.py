"""People's own words (issue 14, part H): lists, corrections, yes/no to an optional question,
commands in words and questions about using the service, in both languages."""

from __future__ import annotations

import datetime

import pytest

from assistant.jobs.catalog import JobChoice, LocalizedText, Question
from assistant.understanding.corrections import corrected
from assistant.understanding.interpret import Answer, Problem, interpret, parse_list
from assistant.understanding.phrases import bare_yes_no, detect_command, is_usage_question

TODAY = datetime.date(2026, 11, 25)

# --- lists: と, や, 、, ・, "and", commas; never inside a word ----------------------------------

LISTS = [
    ("コーヒーと、ケーキと、サンドイッチ", ["コーヒー", "ケーキ", "サンドイッチ"]),
    ("コーヒーとケーキとサンドイッチ", ["コーヒー", "ケーキ", "サンドイッチ"]),
    ("カレーライスと、トマトと、ハンバーグ", ["カレーライス", "トマト", "ハンバーグ"]),
    ("トマトとやさいとおもちゃ", ["トマト", "やさい", "おもちゃ"]),
    ("ひとりとふたり", ["ひとり", "ふたり"]),
    ("おとうとといもうと", ["おとうと", "いもうと"]),
    ("りんごやみかんやバナナ", ["りんご", "みかん", "バナナ"]),
    ("おすしやおにぎり", ["おすし", "おにぎり"]),
    ("お茶とお菓子", ["お茶", "お菓子"]),
    ("いぬとねことうさぎ", ["いぬ", "ねこ", "うさぎ"]),
    ("ともだちとかぞく", ["ともだち", "かぞく"]),
    ("やおやとさかなや", ["やおや", "さかなや"]),
    ("ゆきだるまとトマトスープ", ["ゆきだるま", "トマトスープ"]),
    ("コーヒー・紅茶・ジュース", ["コーヒー", "紅茶", "ジュース"]),
    ("ケーキ屋さんと本屋さん", ["ケーキ屋さん", "本屋さん"]),
    ("友達と遊ぶこと、本を読むこと", ["友達と遊ぶこと", "本を読むこと"]),
    ("トマト", ["トマト"]),
    ("やさい", ["やさい"]),
    ("おもちゃ", ["おもちゃ"]),
    ("パンやさん", ["パンやさん"]),
    ("もっとケーキ", ["もっとケーキ"]),
    ("トマトと", ["トマト"]),
    ("coffee, cake and sandwiches", ["coffee", "cake", "sandwiches"]),
    ("tea and scones and jam", ["tea", "scones", "jam"]),
    ("Hiking, reading, and cooking", ["Hiking", "reading", "cooking"]),
]


@pytest.mark.parametrize(("said", "items"), LISTS)
def test_list_items_are_clean_and_words_stay_whole(said: str, items: list[str]) -> None:
    assert parse_list(said) == items


# --- corrections inside an answer ------------------------------------------------------------


def _question(kind: str, **fields: object) -> Question:
    prompt = LocalizedText(ja="質問", en="Question")
    return Question(id="q", type=kind, prompt=prompt, **fields)  # type: ignore[arg-type]


NUMBER = _question("number", min=1, max=20)
COLOR = _question("color")
TEXT = _question("text")
DATE = _question("date")
CHOICE = _question(
    "choice",
    choices=(
        JobChoice(id="warm", label=LocalizedText(ja="あたたかい", en="Warm")),
        JobChoice(id="cool", label=LocalizedText(ja="すずしい", en="Cool")),
    ),
)

CORRECTIONS = [
    (NUMBER, "three, no, four", 4),
    (NUMBER, "3、いや4", 4),
    (NUMBER, "3じゃなくて4", 4),
    (NUMBER, "やっぱり5", 5),
    (NUMBER, "five no six", 6),
    (NUMBER, "4... no wait, 5", 5),
    (NUMBER, "twelve, sorry, thirteen", 13),
    (NUMBER, "七、ちがう、八", 8),
    (NUMBER, "3人、いや、4人", 4),
    (NUMBER, "actually, seven", 7),
    (NUMBER, "make that nine", 9),
    (COLOR, "青…じゃなくて緑", "緑"),
    (COLOR, "blue, I mean green", "green"),
    (COLOR, "赤ではなく青", "青"),
    (COLOR, "red, sorry, blue", "blue"),
    (CHOICE, "warm, no, cool", "cool"),
    (CHOICE, "あたたかい、いや、すずしい", "cool"),
    (CHOICE, "すずしい…やっぱりあたたかい", "warm"),
    (TEXT, "Cats, I mean dogs", "dogs"),
    (TEXT, "ネコ、いや、イヌ", "イヌ"),
    (TEXT, "Come in, no shoes inside", "Come in, no shoes inside"),
    (
        TEXT,
        "ただのカフェじゃなくて、みんなの居場所です",
        "ただのカフェじゃなくて、みんなの居場所です",
    ),
    (TEXT, "やっぱり猫が好き", "やっぱり猫が好き"),
    (TEXT, "We sing songs and share snacks.", "We sing songs and share snacks."),
    (TEXT, "Blue Bakery, no, Green Bakery.", "Green Bakery."),
    (DATE, "December 3, no, December 4", "2026-12-04"),
    (DATE, "12月3日、いや12月5日", "2026-12-05"),
]


@pytest.mark.parametrize(("question", "said", "value"), CORRECTIONS)
def test_a_correction_keeps_the_corrected_value(
    question: Question, said: str, value: object
) -> None:
    result = interpret(question, said, TODAY, "en")
    assert isinstance(result, Answer), result
    if question is COLOR:  # the colour named last, whatever its hex
        value = interpret(COLOR, str(value), TODAY)
        assert isinstance(value, Answer)
        value = value.value
    assert result.value == value


def test_a_correction_word_alone_is_no_correction() -> None:
    for said in ("no", "いや", "やっぱり", "nobody", "Notting Hill", "いやしの森", "3"):
        assert corrected(said) is None, said
    yes_no = _question("yesno")
    assert interpret(yes_no, "no", TODAY) == Answer(False)
    assert interpret(NUMBER, "three, no, banana", TODAY) == Problem("not_a_number", {})


# --- yes or no as the whole answer (optional questions) --------------------------------------

BARE = [
    ("はい", True), ("うん", True), ("あります", True), ("はい、あります", True), ("yes", True),
    ("yes, I do", True), ("I have one", True), ("sure", True), ("いいえ", False),
    ("ないです", False), ("ありません", False), ("特にない", False), ("なし", False),
    ("いいです", False), ("大丈夫です", False), ("no thanks", False), ("nothing", False),
    ("no, nothing", False), ("Nothing, thanks", False), ("none", False),
    ("はい、ようこそ", None), ("Yes, welcome all", None), ("ゆっくりしていってね", None),
    ("No shoes inside", None), ("Come and relax", None),
]  # fmt: skip


@pytest.mark.parametrize(("said", "verdict"), BARE)
def test_yes_or_no_as_the_whole_answer(said: str, verdict: bool | None) -> None:
    assert bare_yes_no(said) is verdict


# --- commands in words -----------------------------------------------------------------------

DONE = [
    "おわり", "終わり", "おしまい", "もういい", "もうおわり", "終わりにします", "おわりです",
    "I'm done", "im done", "That's all", "that is all", "I'm finished", "forget it",
    "cancel", "キャンセル", "やめます",
]  # fmt: skip


@pytest.mark.parametrize("said", DONE)
def test_being_done_is_a_cancel(said: str) -> None:
    command = detect_command(said)
    assert command is not None and command.name == "cancel"


@pytest.mark.parametrize(
    "said", ["start over", "Start again", "最初から", "やりなおし", "はじめからお願いします"]
)
def test_start_over_phrases(said: str) -> None:
    command = detect_command(said)
    assert command is not None and command.name == "start_over"


@pytest.mark.parametrize(
    "said", ["メニュー", "menu", "メニューに戻って", "Back to the menu", "一覧を見せて"]
)
def test_menu_phrases_go_to_the_list(said: str) -> None:
    command = detect_command(said)
    assert command is not None and (command.name, command.argument) == ("cancel", "menu")


@pytest.mark.parametrize("said", ["done cooking", "おわりの会", "The End Cafe", "メニューの名前"])
def test_words_that_are_not_a_cancel(said: str) -> None:
    command = detect_command(said)
    assert command is None or command.name != "cancel"


# --- questions about using the service --------------------------------------------------------

USAGE = [
    ("How do I add a picture to my page?", True),
    ("How can I change the font?", True),
    ("Can I put a video on my page?", True),
    ("ページに写真を入れるにはどうすればいいですか", True),
    ("どうやって印刷しますか", True),
    ("What is the tallest mountain in Japan?", False),
    ("How to draw cats", False),
    ("日本一高い山はなんですか", False),
    ("Blue Bakery", False),
]


@pytest.mark.parametrize(("said", "usage"), USAGE)
def test_questions_about_using_the_service(said: str, usage: bool) -> None:
    assert is_usage_question(said) is usage


@pytest.mark.parametrize(
    ("said", "rest"),
    [("no, four", "four"), ("No. 4", "4"), ("いや、5", "5"), ("いいえ、赤です", "赤です"),
     ("ちがう、青", "青"), ("no", None), ("いや", None), ("いやし", None), ("nobody", None)],
)  # fmt: skip
def test_the_answer_that_comes_with_a_no(said: str, rest: str | None) -> None:
    from assistant.understanding.corrections import after_no

    assert after_no(said) == rest
