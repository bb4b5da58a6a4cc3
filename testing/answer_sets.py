"""Answer sets for every job: valid ones (typical, minimal, unusual) and hostile strings.

Valid sets are written as a staff member would write an answers file: typed values, optional
questions left out when the set is "minimal". Tests pass them through
``assistant.understanding.answers.check_answers`` (the validation every answer goes through), so each set is
proven to be one a user could give, with the job's defaults filled in.

Hostile strings deliberately bypass that validation: tests put them straight into a
``GenerationRequest``, because a template must be safe whatever reaches it.
"""

from __future__ import annotations

from typing import Any


def exactly(text: str, length: int) -> str:
    """``text`` repeated and cut to exactly ``length`` characters, with no space at either end."""
    out = (text * (length // len(text) + 1))[:length]
    while out[-1] == " " or out[0] == " ":
        out = out.strip(" ")
        out = (out + text.strip(" "))[:length]
    assert len(out) == length, (out, length)
    return out


def items(stem: str, count: int, length: int) -> list[str]:
    """``count`` different list items of exactly ``length`` characters (no list separators)."""
    return [exactly(f"{n + 1} {stem} ", length) for n in range(count)]


# Valid answer sets: job -> language -> set name -> raw answers (as in an answers file).
# "typical"   what most users say;
# "minimal"   only the required questions, every optional one left at its default;
# "unusual"   valid but extreme: max_length texts, max_items lists, boundary numbers, light
#             colours the page must adjust, Japanese text on an English page and vice versa;
# "low"       the other boundary for jobs with numbers or yes/no switches.
VALID: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    "cafe_page": {
        "en": {
            "typical": {
                "shop_name": "Sunny Café",
                "menu_items": ["coffee", "cheesecake", "ham sandwich"],
                "opening_hours": "9 am to 5 pm, closed on Mondays",
                "mood": "warm",
                "main_color": "#2e7d32",
                "greeting": "Come and relax with us!",
            },
            "minimal": {
                "shop_name": "Corner Shop",
                "menu_items": ["tea"],
                "opening_hours": "10 to 4",
                "mood": "cool",
            },
            "unusual": {
                "shop_name": exactly("ひだまりカフェ Sunshine ", 40),
                "menu_items": items("抹茶ラテ matcha latte", 10, 40),
                "opening_hours": exactly("毎日 7:00-22:00 every day ", 60),
                "mood": "pop",
                "main_color": "#ffff00",
                "greeting": exactly("Welcome! ようこそ! 100% home-made ", 120),
            },
        },
        "ja": {
            "typical": {
                "shop_name": "ひだまりカフェ",
                "menu_items": ["コーヒー", "ケーキ", "サンドイッチ"],
                "opening_hours": "9時から17時まで",
                "mood": "natural",
                "main_color": "#8b4513",
                "greeting": "ゆっくりしていってね",
            },
            "minimal": {
                "shop_name": "みどり売店",
                "menu_items": ["おにぎり"],
                "opening_hours": "10時から15時",
                "mood": "warm",
            },
            "unusual": {
                "shop_name": exactly("Café <Le Petit> & Co ", 40),
                "menu_items": items("クリームソーダ Cream Soda", 10, 40),
                "opening_hours": exactly("月曜日から金曜日 8時半〜20時 ", 60),
                "mood": "cool",
                "main_color": "#fff9c4",
                "greeting": exactly("いつも ありがとうございます！ ", 120),
            },
        },
    },
    "event_page": {
        "en": {
            "typical": {
                "event_name": "Summer Festival",
                "event_date": "2027-08-10",
                "start_time": "14:30",
                "end_time": "16:00",
                "place": "The main hall on the first floor",
                "address": "1 High Street, Springfield",
                "details": "We sing songs and share snacks.",
                "cost": "free",
                "organiser": "The garden club",
                "contact": "events@example.org",
                "layout": "lively",
                "theme_color": "#ff8c00",
            },
            "minimal": {
                "event_name": "Bingo",
                "event_date": "2026-12-24",
                "start_time": "10:00",
                "place": "Room 2",
            },
            "unusual": {
                "event_name": exactly("なつまつり Summer Night Festival ", 60),
                "event_date": "2028-02-29",
                "start_time": "00:00",
                "end_time": "23:59",
                "place": exactly("1階のホール The big hall by the garden ", 80),
                "address": exactly("東京都千代田区1-1 Chiyoda, Tokyo; 2F ", 120),
                "details": exactly("Bring a friend; 歌とおやつ; it's free! ", 200),
                "cost": exactly("£5, or 500円; children free ", 60),
                "organiser": exactly("さくら会 The Cherry Club ", 60),
                "contact": "+44 (0)1234 567 890",
                "layout": "formal",
                "theme_color": "#ffffff",
            },
            "low": {
                "event_name": "Morning walk",
                "event_date": "2020-01-01",
                "start_time": "23:59",
                "end_time": "01:00",
                "place": "Front door",
                "layout": "friendly",
                "theme_color": "#000000",
            },
        },
        "ja": {
            "typical": {
                "event_name": "なつまつり",
                "event_date": "2027-08-10",
                "start_time": "14:00",
                "end_time": "15:30",
                "place": "1階のホール",
                "address": "東京都千代田区千代田1-1",
                "details": "みんなで歌ったり、おやつを食べたりします。",
                "cost": "無料",
                "organiser": "さくら会",
                "contact": "03-1234-5678",
                "layout": "friendly",
                "theme_color": "#ff8c00",
            },
            "minimal": {
                "event_name": "ビンゴ大会",
                "event_date": "2026-12-24",
                "start_time": "12:00",
                "place": "食堂",
            },
            "unusual": {
                "event_name": exactly("Christmas Party クリスマス会 ", 60),
                "event_date": "2028-02-29",
                "start_time": "12:05",
                "end_time": "13:00",
                "place": exactly("2階の大きな部屋 Room 201 ", 80),
                "cost": "500円",
                "organiser": exactly("Christmas 実行委員会 ", 60),
                "contact": exactly("受付 reception desk ", 80),
                "layout": "formal",
                "details": exactly(
                    "プレゼント交換をします。「100円」までのものを持ってきてね。 ", 200
                ),
                "theme_color": "#ffeb3b",
            },
        },
    },
    "intro_page": {
        "en": {
            "typical": {
                "name": "Yuki",
                "hobbies": ["music", "walking", "cooking"],
                "favorite_color": "#3f51b5",
                "message": "Nice to meet you!",
                "style": "cute",
            },
            "minimal": {"name": "Ken", "hobbies": ["reading"], "favorite_color": "#ff69b4"},
            "unusual": {
                "name": exactly("たなか ゆき Tanaka Yuki ", 40),
                "hobbies": items("おりがみ origami", 8, 40),
                "favorite_color": "#ffff00",
                "message": exactly('I love <b>bold</b> & "quoted" words! ', 160),
                "style": "cool",
            },
        },
        "ja": {
            "typical": {
                "name": "たなか ゆき",
                "hobbies": ["音楽", "散歩", "料理"],
                "favorite_color": "#e91e63",
                "message": "よろしくお願いします",
                "style": "simple",
            },
            "minimal": {"name": "けん", "hobbies": ["読書"], "favorite_color": "#0000ff"},
            "unusual": {
                "name": exactly("Yuki the Gardener ゆき ", 40),
                "hobbies": items("ガーデニング gardening", 8, 40),
                "favorite_color": "#f5f5f5",
                "message": exactly("はじめまして！ 好きなものは 花と 音楽です。 ", 160),
                "style": "cute",
            },
        },
    },
    "quiz_game": {
        "en": {
            "typical": {
                "quiz_title": "The Big Animal Quiz",
                "topic": "animals",
                "question_count": 5,
                "show_answer": True,
            },
            "minimal": {"quiz_title": "Food Quiz", "topic": "food"},
            "unusual": {
                "quiz_title": exactly("どうぶつクイズ大会 Quiz! ", 40),
                "topic": "science",
                "question_count": 10,
                "show_answer": False,
            },
            "low": {
                "quiz_title": "Japan in 3",
                "topic": "japan",
                "question_count": 3,
                "show_answer": True,
            },
        },
        "ja": {
            "typical": {
                "quiz_title": "どうぶつクイズ大会",
                "topic": "animals",
                "question_count": 5,
                "show_answer": True,
            },
            "minimal": {"quiz_title": "たべものクイズ", "topic": "food"},
            "unusual": {
                "quiz_title": exactly("The Great Science Quiz かがく ", 40),
                "topic": "japan",
                "question_count": 10,
                "show_answer": False,
            },
            "low": {
                "quiz_title": "かがくクイズ",
                "topic": "science",
                "question_count": 3,
                "show_answer": False,
            },
        },
    },
    "shopping_total": {
        "en": {
            "typical": {
                "shop_name": "Green Corner Shop",
                "currency": "dollar",
                "tax_rate": 8,
                "member_discount": True,
                "products": ["coffee 1.50", "bread 2"],
            },
            "minimal": {"shop_name": "Till", "currency": "euro"},
            "unusual": {
                "shop_name": exactly("みどり売店 Green Shop ", 40),
                "currency": "yen",
                "tax_rate": 30,
                "member_discount": True,
                "products": [exactly(f"{n} パン bread item ", 36) + " 999" for n in range(10)],
            },
            "low": {
                "shop_name": "No Tax Shop",
                "currency": "euro",
                "tax_rate": 0,
                "member_discount": False,
                "products": ["tea"],
            },
        },
        "ja": {
            "typical": {
                "shop_name": "みどり売店",
                "currency": "yen",
                "tax_rate": 10,
                "member_discount": False,
                "products": ["コーヒー 150円", "パン 200円"],
            },
            "minimal": {"shop_name": "売店", "currency": "yen"},
            "unusual": {
                "shop_name": exactly("Green Corner Shop みどり ", 40),
                "currency": "dollar",
                "tax_rate": 30,
                "member_discount": True,
                "products": [exactly(f"{n} Coffee コーヒー ", 34) + " 12.50" for n in range(10)],
            },
            "low": {
                "shop_name": "ぜいきんなし",
                "currency": "euro",
                "tax_rate": 0,
                "member_discount": True,
                "products": ["おちゃ"],
            },
        },
    },
    "todo_list": {
        "en": {
            "typical": {
                "list_title": "Things to do today",
                "first_items": ["shopping", "laundry", "phone mum"],
                "list_color": "#6a1b9a",
                "save_in_browser": True,
            },
            "minimal": {"list_title": "My list"},
            "unusual": {
                "list_title": exactly("今日やること Today ", 40),
                "first_items": items("買い物 buy milk (2 bottles) + eggs", 10, 80),
                "list_color": "#ffff00",
                "save_in_browser": False,
            },
        },
        "ja": {
            "typical": {
                "list_title": "今日やること",
                "first_items": ["買い物", "洗濯", "電話"],
                "list_color": "#2e7d32",
                "save_in_browser": True,
            },
            "minimal": {"list_title": "やることリスト"},
            "unusual": {
                "list_title": exactly("Weekend jobs しゅうまつ ", 40),
                "first_items": items("Water the plants 水やり", 10, 80),
                "list_color": "#e0f7fa",
                "save_in_browser": False,
            },
        },
    },
}

# Which colour answers of the valid sets are light (or dark) enough that the page must change
# them to keep text readable: (job, language, set) -> question ids noted as color_adjusted.
ADJUSTED_COLORS: dict[tuple[str, str, str], set[str]] = {
    ("cafe_page", "en", "unusual"): {"main_color"},
    ("cafe_page", "ja", "unusual"): {"main_color"},
    ("event_page", "en", "typical"): {"theme_color"},
    ("event_page", "ja", "typical"): {"theme_color"},
    ("event_page", "en", "unusual"): {"theme_color"},
    ("event_page", "ja", "unusual"): {"theme_color"},
    ("intro_page", "en", "minimal"): {"favorite_color"},
    ("intro_page", "ja", "typical"): {"favorite_color"},
    ("intro_page", "en", "unusual"): {"favorite_color"},
    ("intro_page", "ja", "unusual"): {"favorite_color"},
    ("todo_list", "en", "unusual"): {"list_color"},
    ("todo_list", "ja", "unusual"): {"list_color"},
}

# The text shown first on the page or printed first by the program, for each job: proof that
# the answers, not a fallback, made the artifact.
TITLE_QUESTION = {
    "cafe_page": "shop_name",
    "event_page": "event_name",
    "intro_page": "name",
    "quiz_game": "quiz_title",
    "shopping_total": "shop_name",
    "todo_list": "list_title",
}

# Hostile answers: name -> value. Every one must appear literally and never act.
LONG = exactly("0123456789abcdefghijklmnopqrstuvwxyz-", 10_000)
HOSTILE: dict[str, str] = {
    "script": "<script>alert(1)</script>",
    "img_onerror": '"><img src=x onerror=alert(1)>',
    "close_style": "</style><p>styled</p>",
    "template": "{{7*7}}",
    "python": '"; import os; os.system("id") #',
    "sql": "'); DROP TABLE sessions;--",
    "long": LONG,
    "emoji": "👩‍👩‍👧 🎉 🍣 🇯🇵",
    "bidi": "abc\u202edef\u200fghi",
    "nul": "before\x00after",
}
