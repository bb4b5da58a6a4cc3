"""Answer sets for the seven jobs of issue 15 part J (tests/test_more_jobs.py).

Valid sets as a staff member would write an answers file ("typical", "minimal" with only the
required questions, "unusual" at the limits: longest texts, most items, light colours the page
must adjust); tests pass them through ``check_answers`` so each is one a user could give.
Hostile strings are the shared ones (testing/answer_sets.py) plus a ``javascript:`` link and a
right-to-left embedding, put straight into every text and list answer.
"""

from __future__ import annotations

from typing import Any

from testing.answer_sets import HOSTILE, exactly, items

TITLE_QUESTION = {
    "flashcards": "deck_title",
    "bingo_card": "bingo_title",
    "timer": "timer_title",
    "savings_tracker": "goal_name",
    "weekly_timetable": "timetable_title",
    "recipe_card": "recipe_name",
    "business_card": "person_name",
}

VALID: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    "flashcards": {
        "en": {
            "typical": {
                "deck_title": "French words",
                "cards": ["apple = pomme", "cat = chat", "dog"],
                "card_color": "#ff9800",
                "shuffle_first": False,
            },
            "minimal": {"deck_title": "Capitals", "cards": ["France = Paris"]},
            "unusual": {
                "deck_title": exactly("Kanji 漢字 practice ", 40),
                "cards": items("とても長い言葉=a very long word", 30, 80),
                "card_color": "#ffff00",
                "shuffle_first": True,
            },
        },
        "ja": {
            "typical": {
                "deck_title": "英語のたんご",
                "cards": ["りんご=apple", "ねこ=cat", "いぬ"],
                "card_color": "#1565c0",
                "shuffle_first": False,
            },
            "minimal": {"deck_title": "九九", "cards": ["3×4=12"]},
        },
    },
    "bingo_card": {
        "en": {
            "typical": {"bingo_title": "Summer Fair Bingo", "words": None, "free_centre": True},
            "minimal": {"bingo_title": "Bingo"},
            "unusual": {
                "bingo_title": exactly("Animal bingo 動物 ", 40),
                "words": items("hippopotamus カバ", 30, 20),
                "free_centre": False,
                "card_color": "#fff9c4",
            },
        },
        "ja": {
            "typical": {
                "bingo_title": "どうぶつビンゴ",
                "words": ["いぬ", "ねこ", "うさぎ"],
                "free_centre": True,
                "card_color": "#c62828",
            },
            "minimal": {"bingo_title": "ビンゴ大会"},
        },
    },
    "timer": {
        "en": {
            "typical": {"timer_title": "Tea break", "minutes": 1, "timer_color": "#00695c"},
            "minimal": {"timer_title": "Eggs", "minutes": 1},
            "unusual": {
                "timer_title": exactly("Long bake パン ", 40),
                "minutes": 180,
                "timer_color": "#ffffff",
            },
        },
        "ja": {
            "typical": {"timer_title": "お茶の時間", "minutes": 1, "timer_color": "#1565c0"},
            "minimal": {"timer_title": "歯みがき", "minutes": 1},
        },
    },
    "savings_tracker": {
        "en": {
            "typical": {
                "goal_name": "A new bike",
                "goal_amount": 300,
                "currency": "pound",
                "tracker_color": "#ef6c00",
            },
            "minimal": {"goal_name": "Holiday", "goal_amount": 300, "currency": "dollar"},
            "unusual": {
                "goal_name": exactly("Trip to 北海道 ", 40),
                "goal_amount": 100000000,
                "currency": "euro",
                "tracker_color": "#ffeb3b",
            },
        },
        "ja": {
            "typical": {"goal_name": "新しい自転車", "goal_amount": 300, "currency": "yen"},
            "minimal": {"goal_name": "旅行", "goal_amount": 300, "currency": "yen"},
        },
    },
    "weekly_timetable": {
        "en": {
            "typical": {
                "timetable_title": "Sunflower group's week",
                "days": "weekdays",
                "periods": ["morning", "lunch", "afternoon"],
                "entries": ["Monday morning = exercise", "wed 3 = swimming", "Bring shoes"],
            },
            "minimal": {"timetable_title": "Our week", "days": "six_days", "periods": ["9:00"]},
            "unusual": {
                "timetable_title": exactly("Week plan 週間 ", 40),
                "days": "every_day",
                "periods": items("period 時間", 10, 20),
                "entries": items("Sunday 10 = long activity name", 40, 60),
                "table_color": "#ffffff",
            },
        },
        "ja": {
            "typical": {
                "timetable_title": "ひまわり組の一週間",
                "days": "weekdays",
                "periods": ["朝", "昼", "午後"],
                "entries": ["月曜 朝=体操", "水曜 3=プール", "上ばきをわすれずに"],
            },
            "minimal": {
                "timetable_title": "今週の予定",
                "days": "every_day",
                "periods": ["1時間目"],
            },
        },
    },
    "recipe_card": {
        "en": {
            "typical": {
                "recipe_name": "Pumpkin soup",
                "servings": 4,
                "ingredients": ["1 pumpkin", "1 onion", "2 cups of milk"],
                "steps": ["Chop the onion.", "Fry it.", "Add the milk and boil."],
                "tip": "Even better the next day.",
            },
            "minimal": {"recipe_name": "Toast", "ingredients": ["bread"], "steps": ["Toast it."]},
            "unusual": {
                "recipe_name": exactly("Grandma's 肉じゃが stew ", 40),
                "servings": 50,
                "ingredients": items("flour 小麦粉 200 g", 25, 60),
                "steps": items("Stir slowly かきまぜる ", 15, 160),
                "tip": exactly("Use a big pot! 大きな鍋 ", 120),
                "card_color": "#ffe0b2",
            },
        },
        "ja": {
            "typical": {
                "recipe_name": "かぼちゃの煮物",
                "servings": 4,
                "ingredients": ["かぼちゃ 4分の1こ", "しょうゆ 大さじ1", "だし 300ml"],
                "steps": ["かぼちゃを切る", "だしで煮る", "しょうゆを入れる"],
                "tip": "前の日に作ると、もっとおいしい",
            },
            "minimal": {"recipe_name": "おにぎり", "ingredients": ["ごはん"], "steps": ["にぎる"]},
        },
    },
    "business_card": {
        "en": {
            "typical": {
                "person_name": "Hana Yamada",
                "role": "Baker",
                "organisation": "Sunny Workshop",
                "phone": "+44 20 7946 0000",
                "email": "hana@example.com",
                "card_color": "#00695c",
            },
            "minimal": {"person_name": "Sam Lee"},
            "unusual": {
                "person_name": exactly("Alexandra 山田 Montgomery ", 40),
                "role": exactly("Head of baking パン ", 40),
                "organisation": exactly("Sunny Workshop; Co-op, Ltd: ", 60),
                "phone": "(012) 3456-7890 123456",
                "email": "a.very.long.name@example.co.jp",
                "card_color": "#eeeeee",
            },
        },
        "ja": {
            "typical": {
                "person_name": "山田 花子",
                "role": "パン職人",
                "organisation": "ひだまり工房",
                "phone": "03-1234-5678",
                "email": "hana@example.jp",
            },
            "minimal": {"person_name": "佐藤 一郎"},
        },
    },
}
# Hostile answers beyond the shared set: a link that runs script, and right-to-left embedding.
EXTRA_HOSTILE = {"js_url": "javascript:alert(document.domain)", "rtl": "\u202bمرحبا\u202c <b>x</b>"}
ALL_HOSTILE = {**HOSTILE, **EXTRA_HOSTILE}
