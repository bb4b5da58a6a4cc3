"""Ways people name a job at the menu, with the job they mean: for tests and the bench.

Written by hand, not taken from the jobs' ``examples:`` (a table copied from them would only
measure the lookup). Each row is ``(words, language, job id, kind)``; ``kind`` says what makes
it hard: ``issue`` (quoted in issue 14), ``paraphrase``, ``kana`` (kana only, as the on-screen
kana keyboard types), ``filler`` (えーと, um), ``polite``/``casual`` forms, ``romaji``,
``number`` ("number two", 「にばん」), ``name`` (near the title). ``MISSES`` name no job.
"""

from __future__ import annotations

from typing import NamedTuple


class Phrasing(NamedTuple):
    """One way to name a job, and the job it names (None: no job on the menu)."""

    text: str
    language: str
    job: str | None
    kind: str


CAFE, EVENT, INTRO, QUIZ, TILL, TODO = (
    "cafe_page", "event_page", "intro_page", "quiz_game", "shopping_total", "todo_list",
)  # fmt: skip

# fmt: off
_ROWS: list[tuple[str, str, str | None, str]] = [
    # -- issue 14's own examples ---------------------------------------------------------
    ("a web page for my shop", "en", CAFE, "issue"),
    ("a quiz program", "en", QUIZ, "issue"),
    ("about me", "en", INTRO, "issue"),
    ("self introduction", "en", INTRO, "issue"),
    ("a page about me", "en", INTRO, "issue"),
    ("a web page for my cafe", "en", CAFE, "issue"),
    ("I want to make a page for our event", "en", EVENT, "issue"),
    ("じこしょうかい", "ja", INTRO, "issue"),
    ("お店のホームページ", "ja", CAFE, "issue"),
    ("クイズを作りたい", "ja", QUIZ, "issue"),
    ("レジ", "ja", TILL, "issue"),
    # -- English: the café page ----------------------------------------------------------
    ("I run a small coffee shop and need a website", "en", CAFE, "paraphrase"),
    ("a homepage for my bakery", "en", CAFE, "paraphrase"),
    ("website for my store please", "en", CAFE, "polite"),
    ("um, a page for my shop", "en", CAFE, "filler"),
    ("could you make a web page for my restaurant?", "en", CAFE, "polite"),
    ("shop page", "en", CAFE, "casual"),
    ("a site for my tea room", "en", CAFE, "paraphrase"),
    ("the cafe one", "en", CAFE, "name"),
    ("I'd like a web page for my café, please", "en", CAFE, "polite"),
    ("something to show my shop's menu online", "en", CAFE, "paraphrase"),
    # -- English: the event page ---------------------------------------------------------
    ("a poster for our festival", "en", EVENT, "paraphrase"),
    ("announce a party", "en", EVENT, "paraphrase"),
    ("uh, an event announcement", "en", EVENT, "filler"),
    ("a page to tell people about our concert", "en", EVENT, "paraphrase"),
    ("invitation page for a meetup", "en", EVENT, "paraphrase"),
    ("event please", "en", EVENT, "polite"),
    ("we're having a bake sale and want to let everyone know", "en", EVENT, "paraphrase"),
    ("a flyer for the school fair", "en", EVENT, "paraphrase"),
    ("a page for our sports day", "en", EVENT, "paraphrase"),
    ("let people know about my exhibition", "en", EVENT, "paraphrase"),
    # -- English: the about-me page ------------------------------------------------------
    ("a page about myself", "en", INTRO, "paraphrase"),
    ("introduce me", "en", INTRO, "paraphrase"),
    ("um, my own profile page", "en", INTRO, "filler"),
    ("a page that tells people who I am", "en", INTRO, "paraphrase"),
    ("personal homepage", "en", INTRO, "paraphrase"),
    ("a page about me and my hobbies please", "en", INTRO, "polite"),
    ("self-introduction page", "en", INTRO, "name"),
    ("about-me", "en", INTRO, "name"),
    ("my bio", "en", INTRO, "paraphrase"),
    ("jikoshoukai", "en", INTRO, "romaji"),
    # -- English: the quiz ---------------------------------------------------------------
    ("a quiz", "en", QUIZ, "casual"),
    ("quiz please", "en", QUIZ, "polite"),
    ("uh, quiz game", "en", QUIZ, "filler"),
    ("a trivia game for my friends", "en", QUIZ, "paraphrase"),
    ("a game that asks questions", "en", QUIZ, "paraphrase"),
    ("I want to make a quiz about animals", "en", QUIZ, "paraphrase"),
    ("a program that quizzes people", "en", QUIZ, "paraphrase"),
    ("kuizu", "en", QUIZ, "romaji"),
    ("questions and answers", "en", QUIZ, "paraphrase"),
    ("a game to test what people know", "en", QUIZ, "paraphrase"),
    # -- English: the till ---------------------------------------------------------------
    ("a till", "en", TILL, "issue"),
    ("cash register", "en", TILL, "paraphrase"),
    ("something to add up prices with tax", "en", TILL, "paraphrase"),
    ("um, a checkout program", "en", TILL, "filler"),
    ("a calculator for shopping", "en", TILL, "paraphrase"),
    ("work out the total of a shopping bill", "en", TILL, "paraphrase"),
    ("add up what customers buy", "en", TILL, "paraphrase"),
    ("a tax and discount calculator please", "en", TILL, "polite"),
    ("shopping total", "en", TILL, "name"),
    ("reji", "en", TILL, "romaji"),
    # -- English: the to-do list ---------------------------------------------------------
    ("a todo list", "en", TODO, "casual"),
    ("to do list please", "en", TODO, "polite"),
    ("um, a task list", "en", TODO, "filler"),
    ("a list of things I have to do", "en", TODO, "paraphrase"),
    ("something to keep track of my chores", "en", TODO, "paraphrase"),
    ("checklist", "en", TODO, "paraphrase"),
    ("a reminder app for my tasks", "en", TODO, "paraphrase"),
    ("yarukoto risuto", "en", TODO, "romaji"),
    # -- English: numbers ----------------------------------------------------------------
    ("number two", "en", EVENT, "number"),
    ("um, number three please", "en", INTRO, "number"),
    ("the first one", "en", CAFE, "number"),
    ("the last one", "en", TODO, "number"),
    ("four", "en", QUIZ, "number"),
    ("option 5", "en", TILL, "number"),
    # -- Japanese: the café page ---------------------------------------------------------
    ("おみせのほーむぺーじ", "ja", CAFE, "kana"),
    ("カフェのページを作りたいです", "ja", CAFE, "polite"),
    ("えーと、お店のサイト", "ja", CAFE, "filler"),
    ("喫茶店のホームページがほしい", "ja", CAFE, "paraphrase"),
    ("パン屋のホームページ", "ja", CAFE, "paraphrase"),
    ("うちの店のウェブページ", "ja", CAFE, "casual"),
    ("店のページ作って", "ja", CAFE, "casual"),
    ("かふぇのぺーじ", "ja", CAFE, "kana"),
    ("お店を紹介したいです", "ja", CAFE, "paraphrase"),
    ("メニューと営業時間をのせたページ", "ja", CAFE, "paraphrase"),
    ("ラーメン屋のサイトをお願いします", "ja", CAFE, "polite"),
    ("あの、カフェのホームページ", "ja", CAFE, "filler"),
    ("おみせのさいと", "ja", CAFE, "kana"),
    # -- Japanese: the event page --------------------------------------------------------
    ("イベントのおしらせ", "ja", EVENT, "name"),
    ("いべんとのぺーじ", "ja", EVENT, "kana"),
    ("お祭りの案内を作りたい", "ja", EVENT, "paraphrase"),
    ("えっと、コンサートのお知らせページ", "ja", EVENT, "filler"),
    ("運動会のお知らせ", "ja", EVENT, "paraphrase"),
    ("パーティーのお知らせをお願いします", "ja", EVENT, "polite"),
    ("発表会の案内ページがほしい", "ja", EVENT, "paraphrase"),
    ("おまつりのおしらせ", "ja", EVENT, "kana"),
    ("バザーの告知", "ja", EVENT, "paraphrase"),
    ("ライブの案内", "ja", EVENT, "paraphrase"),
    ("イベントの告知ページを作ってください", "ja", EVENT, "polite"),
    ("勉強会のお知らせ", "ja", EVENT, "paraphrase"),
    # -- Japanese: the about-me page -----------------------------------------------------
    ("自己紹介のページを作りたいです", "ja", INTRO, "polite"),
    ("じこしょうかいのぺーじ", "ja", INTRO, "kana"),
    ("えーと、じこしょうかい", "ja", INTRO, "filler"),
    ("自分のことを紹介するページ", "ja", INTRO, "paraphrase"),
    ("プロフィール", "ja", INTRO, "paraphrase"),
    ("ぷろふぃーる", "ja", INTRO, "kana"),
    ("わたしのしょうかい", "ja", INTRO, "kana"),
    ("僕のプロフィールページ", "ja", INTRO, "casual"),
    ("趣味を紹介するページ", "ja", INTRO, "paraphrase"),
    ("自己紹介", "ja", INTRO, "name"),
    ("ジコショウカイ", "ja", INTRO, "kana"),
    ("あの、自分のページがほしいです", "ja", INTRO, "filler"),
    # -- Japanese: the quiz --------------------------------------------------------------
    ("くいず", "ja", QUIZ, "kana"),
    ("クイズ", "ja", QUIZ, "name"),
    ("えーと、クイズゲーム", "ja", QUIZ, "filler"),
    ("クイズのゲームを作って", "ja", QUIZ, "casual"),
    ("問題を出すプログラム", "ja", QUIZ, "paraphrase"),
    ("なぞなぞゲーム", "ja", QUIZ, "paraphrase"),
    ("くいずげーむ", "ja", QUIZ, "kana"),
    ("クイズをつくりたいです", "ja", QUIZ, "polite"),
    ("動物のクイズ", "ja", QUIZ, "paraphrase"),
    ("クイズがいいな", "ja", QUIZ, "casual"),
    ("問題に答えるゲームをお願いします", "ja", QUIZ, "polite"),
    ("くいずをつくりたい", "ja", QUIZ, "kana"),
    # -- Japanese: the till --------------------------------------------------------------
    ("れじ", "ja", TILL, "kana"),
    ("レジのプログラム", "ja", TILL, "paraphrase"),
    ("お会計の計算", "ja", TILL, "paraphrase"),
    ("えーと、レジ", "ja", TILL, "filler"),
    ("おかいけい", "ja", TILL, "kana"),
    ("値段を足すプログラム", "ja", TILL, "paraphrase"),
    ("消費税を計算したい", "ja", TILL, "paraphrase"),
    ("お買い物の計算をお願いします", "ja", TILL, "polite"),
    ("おかいもののけいさん", "ja", TILL, "kana"),
    ("合計金額を出すやつ", "ja", TILL, "casual"),
    ("レジを作って", "ja", TILL, "casual"),
    ("割引の計算", "ja", TILL, "paraphrase"),
    # -- Japanese: the to-do list --------------------------------------------------------
    ("やることりすと", "ja", TODO, "kana"),
    ("ToDoリスト", "ja", TODO, "name"),
    ("えっと、やることリスト", "ja", TODO, "filler"),
    ("タスクの管理", "ja", TODO, "paraphrase"),
    ("やることのメモ", "ja", TODO, "paraphrase"),
    ("予定を管理するリスト", "ja", TODO, "paraphrase"),
    ("やることリストを作りたいです", "ja", TODO, "polite"),
    ("チェックリストがほしい", "ja", TODO, "paraphrase"),
    ("たすくりすと", "ja", TODO, "kana"),
    ("しなきゃいけないことのリスト", "ja", TODO, "paraphrase"),
    ("宿題のリスト", "ja", TODO, "paraphrase"),
    ("やることリスト作って", "ja", TODO, "casual"),
    # -- Japanese: numbers ---------------------------------------------------------------
    ("にばん", "ja", EVENT, "number"),
    ("2番", "ja", EVENT, "number"),
    ("えーと、さんばん", "ja", INTRO, "number"),
    ("一番でお願いします", "ja", CAFE, "number"),
    ("4つ目", "ja", QUIZ, "number"),
    ("ごばん", "ja", TILL, "number"),
    ("最後の", "ja", TODO, "number"),
    ("六番目", "ja", TODO, "number"),
    ("よんばんです", "ja", QUIZ, "number"),
    ("1", "ja", CAFE, "number"),
    # -- mixed: a Japanese speaker typing English and the other way round -----------------
    ("ホームページ for my shop", "ja", CAFE, "paraphrase"),
    ("quizを作りたい", "ja", QUIZ, "paraphrase"),
    ("クイズ game", "en", QUIZ, "paraphrase"),
    ("お店 web page", "en", CAFE, "paraphrase"),
    ("ほーむぺーじ、おみせの", "ja", CAFE, "kana"),
    ("じぶんのぺーじ", "ja", INTRO, "kana"),
    ("かいけいのぷろぐらむ", "ja", TILL, "kana"),
    ("やることをかくリスト", "ja", TODO, "kana"),
]

_MISSES: list[tuple[str, str, str | None, str]] = [
    ("what's the weather like", "en", None, "miss"),
    ("I'm hungry", "en", None, "miss"),
    ("a picture of a cat", "en", None, "miss"),
    ("blue", "en", None, "miss"),
    ("not the quiz", "en", None, "miss"),
    ("number nine", "en", None, "miss"),
    ("今日の天気は", "ja", None, "miss"),
    ("おなかすいた", "ja", None, "miss"),
    ("ねこの写真", "ja", None, "miss"),
    ("クイズじゃない", "ja", None, "miss"),
    ("じゅうばん", "ja", None, "miss"),
    ("あいうえお", "ja", None, "miss"),
]
# fmt: on

PHRASINGS: tuple[Phrasing, ...] = tuple(Phrasing(*row) for row in _ROWS)
MISSES: tuple[Phrasing, ...] = tuple(Phrasing(*row) for row in _MISSES)
