"""Understanding answers (DESIGN.md §2): the tables below are the specification.

Each row is (what is parsed, the utterance as typed or recognised, the expected meaning).
``None`` means "not understood": the dialog then explains and asks again.
"""

from __future__ import annotations

import datetime
import json

import pytest

from assistant.jobs.catalog import JobChoice, LocalizedText, Question
from assistant.understanding.interpret import (
    COMMANDS,
    PROBLEM_CODES,
    Answer,
    Command,
    Problem,
    color_name,
    detect_command,
    interpret,
    match_choice,
    normalize,
    parse_color,
    parse_date,
    parse_list,
    parse_number,
    parse_ordinal,
    parse_time,
    parse_yes_no,
)

TODAY = datetime.date(2026, 6, 10)  # a Wednesday


def _q(type_: str, **kwargs: object) -> Question:
    return Question(id="q", type=type_, prompt=LocalizedText("質問", "Question"), **kwargs)


def _choice(id_: str, ja: str, en: str, *readings: str) -> JobChoice:
    return JobChoice(id_, LocalizedText(ja, en), tuple(readings))


STYLE = _q(
    "choice",
    choices=(
        _choice("natural", "ナチュラル", "Natural", "なちゅらる", "自然"),
        _choice("warm", "暖かい", "Warm", "あたたか", "あったか"),
        _choice("cool", "クール", "Cool", "くーる"),
        _choice("light_blue", "水色", "Light blue"),
        _choice("blue", "青", "Blue", "あお"),
    ),
)


def _command(text: str) -> tuple[str, str | None] | None:
    command = detect_command(text)
    return None if command is None else (command.name, command.argument)


def _date(text: str) -> str | None:
    date = parse_date(text, TODAY)
    return None if date is None else date.isoformat()


def _time(text: str) -> str | None:
    parsed = parse_time(text)
    return None if parsed is None else parsed.strftime("%H:%M")


PARSERS = {
    "normalize": normalize,
    "command": _command,
    "number": parse_number,
    "ordinal": parse_ordinal,
    "yesno": parse_yes_no,
    "choice": lambda text: match_choice(text, STYLE, "ja"),
    "color": parse_color,
    "date": _date,
    "time": _time,
    "list": parse_list,
}

# fmt: off
TABLE: list[tuple[str, str, object]] = [
    # --- normalize: one spelling for every width, script and case
    ("normalize", "  ＡＢＣ　１２３！ ", "abc 123"),
    ("normalize", "カタカナ。", "かたかな"),
    ("normalize", "もう 一 回", "もう一回"),
    ("normalize", "I’m  Here…", "i'm here"),
    # --- commands: only the whole utterance, optionally wrapped in politeness
    ("command", "help", ("help", None)),
    ("command", "ヘルプ", ("help", None)),
    ("command", "助けて", ("help", None)),
    ("command", "どうすればいい?", ("help", None)),
    ("command", "What can I say?", ("help", None)),
    ("command", "もう一回", ("repeat", None)),
    ("command", "もう 一 回", ("repeat", None)),
    ("command", "もう一度言ってください", ("repeat", None)),
    ("command", "くりかえして", ("repeat", None)),
    ("command", "Say that again, please", ("repeat", None)),
    ("command", "戻る", ("back", None)),
    ("command", "もどって", ("back", None)),
    ("command", "go back", ("back", None)),
    ("command", "最初からやり直し", ("start_over", None)),
    ("command", "やりなおし", ("start_over", None)),
    ("command", "start over", ("start_over", None)),
    ("command", "キャンセル", ("cancel", None)),
    ("command", "ｷｬﾝｾﾙ", ("cancel", None)),
    ("command", "やめて", ("cancel", None)),
    ("command", "スキップ", ("skip", None)),
    ("command", "とばしてください", ("skip", None)),
    ("command", "pass", ("skip", None)),
    ("command", "英語で", ("switch_language", "en")),
    ("command", "にほんご", ("switch_language", "ja")),
    ("command", "English please", ("switch_language", "en")),
    ("command", "言語を変えて", ("switch_language", None)),
    ("command", "ちょっと待って", ("pause", None)),
    ("command", "hold on", ("pause", None)),
    ("command", "再開", ("resume", None)),
    ("command", "つづけて", ("resume", None)),
    ("command", "もっとゆっくり話してください", ("slower", None)),
    ("command", "can you speak slower please", ("slower", None)),
    ("command", "早く", ("faster", None)),
    ("command", "もっと大きな声で", ("louder", None)),
    ("command", "大きくしてください", ("louder", None)),
    ("command", "静かに", ("quieter", None)),
    ("command", "ストップ", ("stop", None)),
    ("command", "止めて", ("stop", None)),
    ("command", "Be quiet", ("stop", None)),
    ("command", "えっと、もう一回", ("repeat", None)),
    ("command", "ゆっくりで", ("slower", None)),
    ("command", "もっと待ってください", ("wait_longer", None)),
    ("command", "Wait longer, please", ("wait_longer", None)),
    ("command", "待ち時間を短くして", ("wait_shorter", None)),
    ("command", "shorter pause", ("wait_shorter", None)),
    ("command", "もどるカフェ", None),
    ("command", "cafe back street", None),
    ("command", "next", None),
    ("command", "次", None),
    ("command", "青いカフェをやめてほしい", None),
    # --- numbers: digits, kanji, kana readings, English words; counters ignored
    ("number", "3", 3),
    ("number", "３", 3),
    ("number", "3.5", 3.5),
    ("number", "-2", -2),
    ("number", "1,200", 1200),
    ("number", "三", 3),
    ("number", "十五", 15),
    ("number", "二十一", 21),
    ("number", "百二十", 120),
    ("number", "千", 1000),
    ("number", "1万2千", 12000),
    ("number", "さん", 3),
    ("number", "じゅうご", 15),
    ("number", "にじゅういち", 21),
    ("number", "さんびゃく", 300),
    ("number", "three", 3),
    ("number", "twenty one", 21),
    ("number", "twenty-one", 21),
    ("number", "a hundred", 100),
    ("number", "one hundred and five", 105),
    ("number", "15個", 15),
    ("number", "３人", 3),
    ("number", "ふたり", 2),
    ("number", "ごにん", 5),
    ("number", "5 people", 5),
    ("number", "約20", 20),
    ("number", "20人くらいです", 20),
    ("number", "1,200円", 1200),
    ("number", "50パーセント", 50),
    ("number", "マイナス5", -5),
    ("number", ".5", 0.5),
    ("number", "さんぜんごひゃく", 3500),
    ("number", "にく", None),
    ("number", "two three", None),
    ("number", "たくさん", None),
    # --- ordinals (1-based)
    ("ordinal", "3つ目", 3),
    ("ordinal", "三つ目", 3),
    ("ordinal", "みっつめ", 3),
    ("ordinal", "二番", 2),
    ("ordinal", "２番目", 2),
    ("ordinal", "にばん", 2),
    ("ordinal", "いちばん", 1),
    ("ordinal", "第三", 3),
    ("ordinal", "二番でお願いします", 2),
    ("ordinal", "third", 3),
    ("ordinal", "number two", 2),
    ("ordinal", "number one", 1),
    ("ordinal", "option one", 1),
    ("ordinal", "No. 2", 2),
    ("ordinal", "2nd", 2),
    ("ordinal", "the first one", 1),
    ("ordinal", "option 3", 3),
    ("ordinal", "twenty one", 21),
    ("ordinal", "2", 2),
    ("ordinal", "二", 2),
    ("ordinal", "0", None),
    ("ordinal", "no", None),
    # --- yes / no
    ("yesno", "はい", True),
    ("yesno", "うん", True),
    ("yesno", "ええ", True),
    ("yesno", "そうです", True),
    ("yesno", "いいよ", True),
    ("yesno", "オッケー", True),
    ("yesno", "OK", True),
    ("yesno", "お願いします", True),
    ("yesno", "大丈夫です", True),
    ("yesno", "合ってます", True),
    ("yesno", "はい、お願いします", True),
    ("yesno", "いいえ", False),
    ("yesno", "ううん", False),
    ("yesno", "違います", False),
    ("yesno", "ダメ", False),
    ("yesno", "いや、違う", False),
    ("yesno", "yes", True),
    ("yesno", "Yeah!", True),
    ("yesno", "that's right", True),
    ("yesno", "of course", True),
    ("yesno", "yes I think so", True),
    ("yesno", "no problem", True),
    ("yesno", "no", False),
    ("yesno", "nope", False),
    ("yesno", "not really", False),
    ("yesno", "incorrect", False),
    ("yesno", "no, the blue one", False),
    ("yesno", "ok maybe", None),
    ("yesno", "はい、たぶん", None),
    ("yesno", "いいや", False),
    ("yesno", "maybe", None),
    ("yesno", "yes and no", None),
    ("yesno", "わからない", None),
    ("yesno", "青", None),
    # --- choices: label or reading in any script, position, part of a sentence, misspelling
    ("choice", "natural", "natural"),
    ("choice", "ナチュラル", "natural"),
    ("choice", "なちゅらる", "natural"),
    ("choice", "ﾅﾁｭﾗﾙ", "natural"),
    ("choice", "自然", "natural"),
    ("choice", "nachuraru", "natural"),
    ("choice", "natral", "natural"),
    ("choice", "WARM", "warm"),
    ("choice", "I'd like warm please", "warm"),
    ("choice", "あたたかいのがいい", "warm"),
    ("choice", "あったかで", "warm"),
    ("choice", "クールで", "cool"),
    ("choice", "coool", "cool"),
    ("choice", "2番", "warm"),
    ("choice", "二つ目", "warm"),
    ("choice", "the third one", "cool"),
    ("choice", "５", "blue"),
    ("choice", "light blue", "light_blue"),
    ("choice", "水色がいい", "light_blue"),
    ("choice", "the blue one please", "blue"),
    ("choice", "あお", "blue"),
    ("choice", "the last one", "blue"),
    ("choice", "さいご", "blue"),
    ("choice", "水色と青", None),
    ("choice", "6", None),
    ("choice", "purple elephant", None),
    ("choice", "cold", None),
    ("choice", "not warm", None),
    ("choice", "あたたかくない", None),
    # --- colours
    ("color", "#FF0000", "#ff0000"),
    ("color", "#abc", "#aabbcc"),
    ("color", "red", "#ff0000"),
    ("color", "Light Blue", "#add8e6"),
    ("color", "navy", "#000080"),
    ("color", "dark green", "#006400"),
    ("color", "grey", "#808080"),
    ("color", "blue colour", "#0000ff"),
    ("color", "赤", "#ff0000"),
    ("color", "あか", "#ff0000"),
    ("color", "レッド", "#ff0000"),
    ("color", "赤色", "#ff0000"),
    ("color", "あかいろ", "#ff0000"),
    ("color", "水色", "#add8e6"),
    ("color", "みずいろ", "#add8e6"),
    ("color", "紺", "#000080"),
    ("color", "きいろ", "#ffff00"),
    ("color", "黄緑", "#9acd32"),
    ("color", "橙", "#ffa500"),
    ("color", "桃色", "#ffc0cb"),
    ("color", "むらさき", "#800080"),
    ("color", "ちゃいろ", "#8b4513"),
    ("color", "グレー", "#808080"),
    ("color", "金色", "#ffd700"),
    ("color", "ベージュ", "#f5f5dc"),
    ("color", "空色", "#87ceeb"),
    ("color", "青がいいです", "#0000ff"),
    ("color", "薄い紫", "#b973b9"),
    ("color", "rgb(255, 128, 0)", "#ff8000"),
    ("color", "facade", None),
    ("color", "赤ちゃん", None),
    ("color", "purple elephant", None),
    # --- dates, relative to TODAY (Wednesday 2026-06-10)
    ("date", "2026-12-25", "2026-12-25"),
    ("date", "2026/12/25", "2026-12-25"),
    ("date", "12/25", "2026-12-25"),
    ("date", "1/5", "2027-01-05"),
    ("date", "12月25日", "2026-12-25"),
    ("date", "１２月２５日", "2026-12-25"),
    ("date", "2026年12月25日", "2026-12-25"),
    ("date", "十二月二十五日", "2026-12-25"),
    ("date", "じゅうにがつにじゅうごにち", "2026-12-25"),
    ("date", "25日", "2026-06-25"),
    ("date", "5日", "2026-07-05"),
    ("date", "6月9日", "2027-06-09"),
    ("date", "来月の5日", "2026-07-05"),
    ("date", "December 25", "2026-12-25"),
    ("date", "Dec 25th", "2026-12-25"),
    ("date", "25 December 2026", "2026-12-25"),
    ("date", "today", "2026-06-10"),
    ("date", "今日", "2026-06-10"),
    ("date", "きょう", "2026-06-10"),
    ("date", "tomorrow", "2026-06-11"),
    ("date", "明日", "2026-06-11"),
    ("date", "あした", "2026-06-11"),
    ("date", "あさって", "2026-06-12"),
    ("date", "next friday", "2026-06-12"),
    ("date", "friday", "2026-06-12"),
    ("date", "金曜日", "2026-06-12"),
    ("date", "きんようび", "2026-06-12"),
    ("date", "水曜日", "2026-06-17"),
    ("date", "来週の金曜日", "2026-06-19"),
    ("date", "in 3 days", "2026-06-13"),
    ("date", "3日後", "2026-06-13"),
    ("date", "三日後", "2026-06-13"),
    ("date", "12月25日(金)", "2026-12-25"),
    ("date", "the 25th", "2026-06-25"),
    ("date", "2月30日", None),
    ("date", "13/40", None),
    ("date", "hello", None),
    # --- times
    ("time", "15:30", "15:30"),
    ("time", "１５：３０", "15:30"),
    ("time", "3:30 pm", "15:30"),
    ("time", "3pm", "15:00"),
    ("time", "3 p.m.", "15:00"),
    ("time", "3 o'clock", "03:00"),
    ("time", "12am", "00:00"),
    ("time", "noon", "12:00"),
    ("time", "midnight", "00:00"),
    ("time", "half past three", "03:30"),
    ("time", "quarter to four", "03:45"),
    ("time", "8 at night", "20:00"),
    ("time", "15時", "15:00"),
    ("time", "15時30分", "15:30"),
    ("time", "3時半", "03:30"),
    ("time", "午後3時", "15:00"),
    ("time", "午後三時半", "15:30"),
    ("time", "ごご3じ", "15:00"),
    ("time", "ごご さんじ さんじゅっぷん", "15:30"),
    ("time", "朝9時", "09:00"),
    ("time", "夜8時", "20:00"),
    ("time", "正午", "12:00"),
    ("time", "9時15分", "09:15"),
    ("time", "よじ", "04:00"),
    ("time", "10時ごろ", "10:00"),
    ("time", "25:00", None),
    ("time", "25時", None),
    ("time", "3", None),
    # --- lists: separators; と only between items of at least two characters
    ("list", "りんご、みかん、バナナ", ["りんご", "みかん", "バナナ"]),
    ("list", "apples, oranges and bananas", ["apples", "oranges", "bananas"]),
    ("list", "red, green, and blue", ["red", "green", "blue"]),
    ("list", "東京・大阪・名古屋", ["東京", "大阪", "名古屋"]),
    ("list", "one; two\nthree", ["one", "two", "three"]),
    ("list", "りんごとみかん", ["りんご", "みかん"]),
    ("list", "パンとケーキとジュース", ["パン", "ケーキ", "ジュース"]),
    ("list", "ともだちとかぞく", ["ともだち", "かぞく"]),
    ("list", "いとこ", ["いとこ"]),
    ("list", "もっとたくさん", ["もっとたくさん"]),
    ("list", "Blue Bakery", ["Blue Bakery"]),
    ("list", " 、 ", []),
]
# fmt: on


@pytest.mark.parametrize(("kind", "text", "expected"), TABLE, ids=lambda v: str(v)[:24])
def test_table(kind: str, text: str, expected: object) -> None:
    assert PARSERS[kind](text) == expected


def test_table_is_mostly_japanese_and_covers_every_command() -> None:
    japanese = [row for row in TABLE if any(ch >= "\u3040" for ch in row[1])]
    assert len(TABLE) >= 100 and len(japanese) * 2 >= len(TABLE)
    named = {row[2][0] for row in TABLE if row[0] == "command" and row[2]}
    assert named == set(COMMANDS)


def test_commands_carry_the_language_only_when_named() -> None:
    assert detect_command("英語") == Command("switch_language", "en")
    assert detect_command("change language") == Command("switch_language")


# --- interpret: parsing plus the question's limits -------------------------------------------

NAME = _q("text", max_length=10)
CODE = _q("text", min_length=3, pattern=r"[A-Z]{3}\d*")
GUESTS = _q("number", min=1, max=200)
TOPPINGS = _q("list", max_length=6, min_items=2, max_items=3)

# fmt: off
INTERPRET: list[tuple[Question, str, Answer | Problem]] = [
    (NAME, "  Blue Bakery ", Problem("too_long", {"max": 10, "length": 11})),
    (NAME, "青いパン屋", Answer("青いパン屋")),
    (NAME, "   ", Problem("empty", {})),
    (NAME, "。", Problem("empty", {})),
    (CODE, "AB", Problem("too_short", {"min": 3, "length": 2})),
    (CODE, "abc1", Problem("pattern", {"pattern": r"[A-Z]{3}\d*"})),
    (CODE, "ABC12", Answer("ABC12")),
    (GUESTS, "二十人", Answer(20)),
    (GUESTS, "0", Problem("too_small", {"min": 1, "value": 0})),
    (GUESTS, "三百", Problem("too_large", {"max": 200, "value": 300})),
    (GUESTS, "たくさん", Problem("not_a_number", {})),
    (GUESTS, "2.5", Answer(2.5)),
    (STYLE, "ナチュラル", Answer("natural")),
    (STYLE, "purple elephant",
     Problem("not_a_choice", {"choices": ["natural", "warm", "cool", "light_blue", "blue"]})),
    (_q("yesno"), "はい", Answer(True)),
    (_q("yesno"), "maybe", Problem("not_yes_no", {})),
    (_q("color"), "みずいろ", Answer("#add8e6")),
    (_q("color"), "うれしい", Problem("not_a_color", {})),
    (_q("date"), "あした", Answer("2026-06-11")),
    (_q("date"), "2月30日", Problem("no_such_day", {"month": 2, "day": 30})),
    (_q("date"), "そのうち", Problem("not_a_date", {})),
    (_q("time"), "午後三時半", Answer("15:30")),
    (_q("time"), "25時", Problem("not_a_time", {})),
    (TOPPINGS, "チーズ、トマト", Answer(["チーズ", "トマト"])),
    (TOPPINGS, "チーズ", Problem("too_few_items", {"min": 2, "count": 1})),
    (TOPPINGS, "a, b, c, d", Problem("too_many_items", {"max": 3, "count": 4})),
    (TOPPINGS, "cheese, pepperoni", Problem("too_long", {"max": 6, "item": "pepperoni"})),
    (TOPPINGS, "、、", Problem("empty", {})),
]
# fmt: on


@pytest.mark.parametrize(("question", "text", "expected"), INTERPRET, ids=lambda v: str(v)[:24])
def test_interpret(question: Question, text: str, expected: Answer | Problem) -> None:
    result = interpret(question, text, TODAY)
    assert result == expected
    if isinstance(result, Answer):
        json.dumps(result.value)
    else:
        assert result.code in PROBLEM_CODES


def test_every_problem_code_is_specified() -> None:
    codes = {row[2].code for row in INTERPRET if isinstance(row[2], Problem)}
    assert codes == set(PROBLEM_CODES)


def test_session_language_breaks_ties_between_choices() -> None:
    question = _q(
        "choice",
        choices=(_choice("a", "ライト", "Light"), _choice("b", "Light", "Bright")),
    )
    assert match_choice("light", question, "en") == "a"
    assert match_choice("light", question, "ja") == "b"


@pytest.mark.parametrize(
    ("hex_", "english", "japanese"),
    [("#ff0000", "red", "赤"), ("#0000ff", "blue", "青"), ("#336699", "steel blue", "鋼色"),
     ("#2e7d32", "dark green", "深緑"), ("#fefefe", "white", "白")],
)  # fmt: skip
def test_colours_are_read_back_by_their_nearest_name(
    hex_: str, english: str, japanese: str
) -> None:
    assert color_name(hex_, "en") == english
    assert color_name(hex_, "ja") == japanese
