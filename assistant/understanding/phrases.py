"""Whole-utterance commands and yes/no answers, in Japanese and English.

The phrase tables are the specification: add a phrasing by adding a line; every phrase is
normalised at import (katakana, width and case do not matter).
"""

from __future__ import annotations

import re

from assistant.events import Command, CommandName
from assistant.understanding.text import normalize, normalize_all, strip_fillers

# fmt: off
COMMANDS = (
    "help", "repeat", "back", "start_over", "cancel", "skip", "switch_language", "pause",
    "resume", "slower", "faster", "louder", "quieter", "stop", "wait_longer", "wait_shorter",
)
# fmt: on


# --- commands --------------------------------------------------------------------------------

# fmt: off
_COMMAND_PHRASES: dict[tuple[str, str | None], list[str]] = {
    ("help", None): [
        "help", "help me", "what can i say", "what do i say", "what should i say",
        "what can i do", "i don't know", "i dont know", "how does this work", "i'm lost",
        "ヘルプ", "助けて", "たすけて", "どうすればいい", "どうすればいいですか", "どうしたらいい",
        "どうしたらいいですか", "わからない", "分からない", "わかりません", "分かりません",
        "使い方", "つかいかた", "何て言えばいい", "なんていえばいい", "なんて言えばいい",
    ],
    ("repeat", None): [
        "repeat", "repeat that", "repeat it", "say that again", "say it again", "again",
        "one more time", "pardon", "pardon me", "come again", "what did you say",
        "もう一回", "もういっかい", "もう1回", "もう一度", "もういちど", "繰り返して",
        "くりかえして", "繰り返し", "くりかえし", "リピート", "もう一回言って", "もう一度言って",
        "もういちどいって",
        "もういっかいいって", "なんて言った", "なんていった", "何て言いました",
    ],
    ("back", None): [
        "back", "go back", "previous", "previous question", "last question", "戻る", "もどる",
        "戻って", "もどって", "戻ります", "前へ", "まえへ", "前に戻る", "前に戻って",
        "まえにもどって",
        "前の質問", "まえのしつもん", "バック", "一つ前", "ひとつ前", "ひとつまえ", "一つ戻って",
    ],
    ("start_over", None): [
        "start over", "restart", "start again", "from the beginning", "begin again",
        "start from the beginning", "最初から", "さいしょから", "はじめから", "初めから",
        "始めから",
        "やり直し", "やりなおし", "やり直す", "やりなおす", "やり直して", "やりなおして",
        "最初からやり直し", "リスタート",
    ],
    ("cancel", None): [
        "cancel", "cancel that", "cancel it", "never mind", "nevermind", "quit", "abort",
        "キャンセル", "やめる", "やめて", "やめます", "辞める", "中止", "ちゅうし", "取り消し",
        "とりけし", "取り消して", "もういい", "もういいです",
        # Issue 14, part H: "I'm done" at a question ends the job (asked "are you sure?"
        # first when answers would be lost); at the menu it says goodbye.
        "おわり", "終わり", "おわる", "終わる", "おわります", "終わります", "おわりにする",
        "終わりにする", "おわりにします", "終わりにします", "おしまい", "おしまいにする",
        "もうおわり", "もう終わり", "もうおしまい", "もういいや", "やめた", "やめとく",
        "i'm done", "im done", "i am done", "that's all", "thats all", "that is all",
        "i'm finished", "i am finished", "i give up", "forget it", "stop this", "end this",
    ],
    # Issue 14, part H: the list of jobs, from anywhere ("start over" restarts the job).
    ("cancel", "menu"): [
        "menu", "the menu", "main menu", "show the menu", "show me the menu", "go to the menu",
        "back to the menu", "go back to the menu", "menu please", "the list", "show the list",
        "メニュー", "めにゅー", "メニューに戻る", "メニューにもどる", "メニューに戻って",
        "メニューにもどって", "メニューへ", "メニューを見せて", "メニューをみせて", "一覧",
        "いちらん", "一覧に戻る", "一覧を見せて",
    ],
    ("skip", None): [
        "skip", "skip it", "skip this", "skip this one", "skip this question", "pass",
        "スキップ", "飛ばす", "とばす", "飛ばして", "とばして", "パス",
    ],
    ("switch_language", None): [
        "switch language", "change language", "change the language", "switch the language",
        "other language", "language", "言語を変えて", "げんごをかえて", "言語を変える",
        "言語切り替え", "言語を切り替えて", "言語", "げんご",
    ],
    ("switch_language", "en"): [
        "english", "in english", "english please", "speak english", "switch to english",
        "change to english", "英語", "えいご", "英語で", "えいごで", "英語にして",
        "英語に切り替えて",
        "英語で話して", "イングリッシュ",
    ],
    ("switch_language", "ja"): [
        "japanese", "in japanese", "speak japanese", "switch to japanese", "change to japanese",
        "日本語", "にほんご", "日本語で", "にほんごで", "日本語にして", "日本語に切り替えて",
        "日本語で話して", "ジャパニーズ",
    ],
    ("pause", None): [
        "pause", "wait", "hold on", "wait a moment", "wait a minute", "wait a second",
        "just a moment", "one moment", "hang on", "一時停止", "いちじていし", "ちょっと待って",
        "ちょっとまって", "待って", "まって", "待ってて", "少々お待ちください", "ポーズ", "休憩",
    ],
    ("resume", None): [
        "resume", "continue", "go on", "carry on", "keep going", "let's continue", "再開",
        "さいかい", "続ける", "つづける", "続けて", "つづけて", "続き", "つづき", "レジューム",
    ],
    ("slower", None): [
        "slower", "slow down", "speak slower", "more slowly", "speak more slowly",
        "talk slower", "ゆっくり", "もっとゆっくり", "ゆっくり話して", "ゆっくりはなして",
        "ゆっくりしゃべって", "ゆっくり言って", "遅く", "おそく", "もっと遅く",
    ],
    ("faster", None): [
        "faster", "speed up", "speak faster", "quicker", "talk faster", "はやく", "早く", "速く",
        "もっと早く", "もっと速く", "もっとはやく", "早口で",
    ],
    ("wait_longer", None): [
        "wait longer", "longer pause", "give me more time", "wait for me longer",
        "don't cut me off", "you cut me off", "もっと待って", "もっとまって", "長く待って",
        "ながくまって", "待ち時間を長く", "まちじかんをながく", "待ち時間を長くして",
    ],
    ("wait_shorter", None): [
        "shorter pause", "wait less", "don't wait so long", "answer quicker",
        "待ち時間を短く", "まちじかんをみじかく", "待ち時間を短くして", "そんなに待たないで",
        "短く待って",
    ],
    ("louder", None): [
        "louder", "speak up", "volume up", "turn it up", "i can't hear you", "大きく", "おおきく",
        "もっと大きく", "もっと大きな声で", "大きな声で", "おおきなこえで", "音量を上げて",
        "声を大きく", "聞こえない", "きこえない", "聞こえません",
    ],
    ("quieter", None): [
        "quieter", "softer", "volume down", "turn it down", "less loud", "too loud", "小さく",
        "ちいさく", "もっと小さく", "静かに", "しずかに", "音量を下げて", "声を小さく",
        "小さな声で", "うるさい",
    ],
    ("stop", None): [
        "stop", "stop talking", "stop it", "be quiet", "shut up", "silence", "quiet",
        "ストップ", "止めて", "とめて", "止まって", "止める", "黙って", "だまって",
    ],
    ("one_by_one", None): [
        "one by one", "one at a time", "ask me one by one", "ask me each question",
        "ask me the questions", "ひとつずつ", "一つずつ", "ひとつずつ聞いて", "一つずつ聞いて",
        "順番に聞いて", "じゅんばんに",
    ],
    ("describe", None): [
        "describe it", "all at once", "in one go", "let me describe it", "let me tell you",
        "まとめて", "まとめて話す", "まとめて言う", "まとめて話します", "ぜんぶ話す",
    ],
}
_COMMAND_TABLE: dict[str, tuple[str, str | None]] = {
    phrase: key for key, phrases in _COMMAND_PHRASES.items() for phrase in normalize_all(phrases)
}
_COMMAND_PREFIXES = normalize_all(
    ["もう少し", "もうちょっと", "もっと", "ちょっと", "少し", "すこし", "please", "can you please",
     "could you please", "can you", "could you", "would you", "i want to", "i'd like to",
     "let's", "lets", "just", "ok", "okay", "hey", "sorry", "すみません", "すいません"]
)
_COMMAND_SUFFIXES = normalize_all(
    ["してください", "して下さい", "してくれる", "してくれますか", "してもらえますか",
     "ください", "下さい", "おねがいします", "お願いします", "おねがい", "お願い",
     "ちょうだい", "して", "です", "で", "ね", "よ",
     "please", "now", "a bit", "a little", "thanks", "thank you", "for me"]
)
# fmt: on


def _command_candidates(text: str) -> list[str]:
    found, queue = [text], [text]
    while queue and len(found) < 24:
        current = queue.pop(0)
        for prefix in _COMMAND_PREFIXES:
            if current.startswith(prefix) and len(current) > len(prefix):
                rest = current[len(prefix) :]
                if prefix.isascii() and not rest.startswith((" ", ",")):
                    continue
                rest = rest.lstrip(" ,、")
                if rest and rest not in found:
                    found.append(rest)
                    queue.append(rest)
        for suffix in _COMMAND_SUFFIXES:
            if current.endswith(suffix) and len(current) > len(suffix):
                rest = current[: -len(suffix)]
                if suffix.isascii() and not rest.endswith((" ", ",")):
                    continue
                rest = rest.rstrip(" ,、")
                if rest and rest not in found:
                    found.append(rest)
                    queue.append(rest)
    return found


def detect_command(text: str) -> Command | None:
    """A command only when it is the whole utterance, so answers never trigger one by accident."""
    normalized = strip_fillers(normalize(text))
    if not normalized or len(normalized) > 48:
        return None
    for candidate in _command_candidates(normalized):
        hit = _COMMAND_TABLE.get(candidate)
        if hit is not None:
            return Command(CommandName(hit[0]), hit[1])
    return None


# --- yes / no --------------------------------------------------------------------------------

# fmt: off
_YES = normalize_all(
    [
        "はい", "はいはい", "はーい", "うん", "うんうん", "ええ", "そう", "そうです", "そうだね",
        "そうだよ", "そうそう", "その通り", "そのとおり", "いいよ", "いいです", "いいですよ",
        "いい",
        "よい", "良い", "オッケー", "オーケー", "ok", "お願いします", "おねがいします", "大丈夫",
        "大丈夫です", "だいじょうぶ", "だいじょうぶです", "あってる", "合ってる", "あってます",
        "合ってます", "合っています", "あっています", "正しい", "ただしい", "正しいです", "了解",
        "りょうかい", "もちろん", "それでいい", "それでいいです", "それで", "それでお願いします",
        "はいそうです", "はいお願いします", "うんそう", "オッケーです", "問題ない",
        "問題ありません",
        "yes", "yeah", "yep", "yup", "ya", "yea", "sure", "correct", "right", "that's right",
        "thats right", "that is right", "that's correct", "ok", "okay", "of course", "absolutely",
        "definitely", "certainly", "yes please", "sounds good", "fine", "affirmative",
        "exactly", "perfect", "alright", "all right", "go ahead", "uh huh", "no problem",
        "that's it", "it is", "i do", "sure thing",
    ]
)
_NO = normalize_all(
    [
        "いいえ", "いえ", "いや", "いやいや", "ううん", "ちがう", "違う", "ちがいます", "違います",
        "違うよ", "ちがうよ", "だめ", "ダメ", "駄目", "だめです", "ダメです", "まちがい", "間違い",
        "間違ってる", "まちがってる", "間違っています", "正しくない", "ただしくない", "あってない",
        "合ってない", "合っていません", "そうじゃない", "そうではない", "そうじゃないです",
        "いいえ違います", "いや違う", "いいや", "ノー", "いらない", "要らない", "だめだよ",
        "no", "nope", "nah", "wrong", "not really", "incorrect", "no thanks", "no thank you",
        "not right", "that's wrong", "that's not right", "thats not right", "that is wrong",
        "negative", "not at all", "absolutely not", "of course not", "definitely not", "no way",
        "that's incorrect", "not correct", "it isn't", "i don't", "no it isn't", "no it's not",
    ]
)
_YES_NO: dict[str, bool] = {**dict.fromkeys(_NO, False), **dict.fromkeys(_YES, True)}
# Words that decide the whole answer when they lead it ("yes I think so", "いや、赤です").
_LEADING_EN = {"yes": True, "yeah": True, "yep": True, "yup": True, "sure": True, "ok": True,
               "okay": True, "no": False, "nope": False, "nah": False}
_LEADING_JA = (("いいえ", False), ("ううん", False), ("はい", True), ("うん", True),
               ("いや", False), ("ちがう", False), ("違う", False), ("ちがいます", False),
               ("違います", False), ("そうです", True))
# fmt: on
_HEDGES = re.compile(
    r"\b(?:maybe|perhaps|probably|not sure|dunno)\b|たぶん|多分|かも|わからない|分からない"
)
_CLAUSES = re.compile(r"\s*[,、。!?]\s*")
_YES_NO_TAILS = normalize_all(["ね", "よ", "な", "です", "please", "thanks", "thank you"])


def _yes_no_clause(clause: str, first: bool) -> bool | None:
    if clause in _YES_NO:
        return _YES_NO[clause]
    for tail in _YES_NO_TAILS:
        if clause.endswith(tail) and clause[: -len(tail)].rstrip() in _YES_NO:
            return _YES_NO[clause[: -len(tail)].rstrip()]
    if not first:
        return None
    head = clause.split(" ", 1)[0]
    if head in _LEADING_EN and head != clause:
        return _LEADING_EN[head]
    for word, meaning in _LEADING_JA:
        if clause.startswith(word) and clause != word:
            return meaning
    return None


def parse_yes_no(text: str) -> bool | None:
    """True or False for the many ways of saying yes or no; None when it is not clear."""
    normalized = strip_fillers(normalize(text))
    if normalized in _YES_NO:
        return _YES_NO[normalized]
    clauses = [c for c in _CLAUSES.split(normalized) if c]
    votes = {_yes_no_clause(c, i == 0) for i, c in enumerate(clauses)} - {None}
    words = set(normalized.replace(",", " ").split())
    if words & {"yes", "yeah", "yep"} and words & {"no", "nope", "not"}:
        return None  # "yes and no", "yes, not that one"
    if _HEDGES.search(normalized):
        return None  # "ok maybe", 「はい、たぶん」: unsure answers are asked again
    return votes.pop() if len(votes) == 1 else None


# "Do you have one?" answered in its own words (issue 14, part H: optional questions).
# fmt: off
_HAVE = normalize_all(
    ["あります", "ある", "あるよ", "あるよー", "あるある", "はいあります", "うんある",
     "i have one", "i have", "i do", "i've got one", "got one", "there is", "yes i have one",
     "yes i do", "yes there is"]
)
_HAVE_NOT = normalize_all(
    ["ない", "ないです", "ないよ", "ありません", "ございません", "特にない", "とくにない",
     "特にありません", "とくにありません", "特になし", "とくになし", "なし", "無し", "なしで",
     "いいえありません", "ううんない", "べつにない", "別にない", "nothing", "none", "no nothing",
     "nothing thanks", "nothing really", "not really", "no i don't", "no i do not", "i don't",
     "no there isn't", "not this time", "nothing for now", "no message", "none thanks",
     "no need", "i'm good", "im good",
     # Offered something, these decline it: 「いいです」 is "no, thank you" here.
     "いいです", "大丈夫", "大丈夫です", "だいじょうぶ", "だいじょうぶです", "けっこうです",
     "結構です"]
)
# fmt: on
_BARE: dict[str, bool] = {
    **_YES_NO,
    **dict.fromkeys(_HAVE, True),
    **dict.fromkeys(_HAVE_NOT, False),
}


def bare_yes_no(text: str) -> bool | None:
    """Yes or no when that is all the words say (「はい」, "no thanks"), else None.

    Stricter than ``parse_yes_no``: 「はい、ようこそ」 leads with a yes but carries a message.
    """
    normalized = strip_fillers(normalize(text))
    if normalized in _BARE:
        return _BARE[normalized]
    for tail in _YES_NO_TAILS:
        head = normalized[: -len(tail)].rstrip(" ,、") if normalized.endswith(tail) else ""
        if head in _BARE:
            return _BARE[head]
    clauses = [c for c in _CLAUSES.split(normalized) if c]
    verdicts = {_BARE.get(c) for c in clauses}
    return verdicts.pop() if len(clauses) > 1 and len(verdicts) == 1 else None


def command_phrases() -> list[str]:
    """Every command phrase as written in the table (for recogniser grammars)."""
    return [phrase for phrases in _COMMAND_PHRASES.values() for phrase in phrases]


def yes_no_phrases() -> list[str]:
    """Every way to say yes or no (for recogniser grammars)."""
    return [*_YES, *_NO]


# --- "how do I ..." questions (answered from the knowledge base) ----------------------------

_QUESTION_STARTS = (
    "how do i ", "how can i ", "how do you ", "how does ", "how to ", "how should i ",
    "where do i ", "where can i ", "where is ", "what happens ", "what is ", "what's ",
    "what are ", "can i ", "why ", "when do i ", "what do i do ",
)  # fmt: skip
_JA_QUESTION_WORDS = (
    "どうやって",
    "どうすれば",
    "どうしたら",
    "どうやったら",
    "どこで",
    "どこに",
    "なぜ",
    "なんで",
)
_JA_QUESTION_ENDS = ("ますか", "ですか", "のですか", "んですか", "の", "か")


def is_help_question(text: str) -> bool:
    """Whether an utterance is a question about using the service, not an answer.

    Only clear question forms count, so an answer such as a shop name is never mistaken for
    one: English that starts like a question, Japanese with a question word, or a Japanese
    polite question ending (with a question mark when the ending is a bare か or の).
    """
    stripped = text.strip()
    if not stripped or len(stripped) > 200:
        return False
    lowered = " ".join(stripped.lower().split()) + " "
    if lowered.startswith(_QUESTION_STARTS) and len(lowered.split()) >= 3:
        return True
    japanese = stripped.rstrip("?？ 　")
    asked = stripped.endswith(("?", "？"))
    if any(word in japanese for word in _JA_QUESTION_WORDS):
        return True
    if japanese.endswith(_JA_QUESTION_ENDS[:4]) and len(japanese) >= 6:
        return True
    return asked and japanese.endswith(_JA_QUESTION_ENDS[4:]) and len(japanese) >= 6


_USAGE_STARTS = (
    "how do i ", "how can i ", "how should i ", "where do i ", "where can i ", "can i ",
    "what do i do ", "is there a way to ", "how would i ",
)  # fmt: skip
_JA_USAGE_WORDS = ("どうやって", "どうすれば", "どうしたら", "どうやったら", "できますか")


def is_usage_question(text: str) -> bool:
    """A question about what the user can do here ("How do I ...?", 「どうすれば…」).

    Narrower than ``is_help_question``: a quiz question ("What is the tallest mountain?")
    is an answer at a free-text question; "How do I add a picture?" never is.
    """
    if not is_help_question(text):
        return False
    lowered = " ".join(text.strip().lower().split()) + " "
    return lowered.startswith(_USAGE_STARTS) or any(w in text for w in _JA_USAGE_WORDS)
