"""Answers said in words made into page sections (generators/sections.py): prices, hours,
map, phone and mail links, https-only links, questions and answers (issue 15)."""

from __future__ import annotations

import pytest

from generators.sections import (
    PriceRow,
    faq_pairs,
    hours_rows,
    https_links,
    mailto_link,
    map_link,
    price_rows,
    tel_link,
)


def test_prices_said_with_the_items_are_split_off_and_plain_items_stay_whole() -> None:
    assert price_rows(["コーヒー 400円", "ケーキ ５００円", "サンドイッチ"]) == [
        PriceRow("コーヒー", "400円", ""),
        PriceRow("ケーキ", "500円", ""),
        PriceRow("サンドイッチ", "", ""),
    ]
    assert price_rows(["coffee 3.50", "cake 4", "scone £2.50 (with jam)", "latte (oat milk)"]) == [
        PriceRow("coffee", "3.50", ""),
        PriceRow("cake", "4", ""),
        PriceRow("scone", "£2.50", "with jam"),
        PriceRow("latte", "", "oat milk"),
    ]
    assert price_rows(["1000"]) == [PriceRow("1000", "", "")], "a number alone is an item"


@pytest.mark.parametrize(
    ("said", "language", "rows"),
    [
        ("9時から17時、月曜休み", "ja", [("月曜日", "定休日"), ("火〜日", "9:00 – 17:00")]),
        (
            "9 am to 5 pm, closed Mondays",
            "en",
            [("Monday", "Closed"), ("Tuesday – Sunday", "9:00 – 17:00")],
        ),
        ("10:00-18:00", "en", [("Every day", "10:00 – 18:00")]),
        ("10 to 4", "en", [("Every day", "10:00 – 16:00")]),
        ("朝7時半から夜9時まで", "ja", [("毎日", "7:30 – 21:00")]),
        (
            "11時～15時 水曜定休",
            "ja",
            [("月〜火", "11:00 – 15:00"), ("水曜日", "定休日"), ("木〜日", "11:00 – 15:00")],
        ),
    ],
)
def test_simple_opening_hours_become_a_table(
    said: str, language: str, rows: list[tuple[str, str]]
) -> None:
    assert hours_rows(said, language) == rows


@pytest.mark.parametrize("said", ["気まぐれ営業", "by appointment", "", "9 to 5 " * 20, "25 to 30"])
def test_hours_that_are_not_simple_are_shown_as_said(said: str) -> None:
    assert hours_rows(said, "en") is None


def test_links_are_built_only_from_what_they_claim_to_be() -> None:
    assert map_link("東京都 1-2-3") == (
        "https://www.openstreetmap.org/search?query=%E6%9D%B1%E4%BA%AC%E9%83%BD%201-2-3"
    )
    assert map_link('"><script>') == (
        "https://www.openstreetmap.org/search?query=%22%3E%3Cscript%3E"
    )
    assert map_link("  ") is None
    assert tel_link("03-1234-5678") == "tel:0312345678"
    assert tel_link("+44 20 7946 0000") == "tel:+442079460000"
    assert tel_link("javascript:alert(1)") is None and tel_link("12") is None
    assert mailto_link("info@blue-bakery.jp") == "mailto:info@blue-bakery.jp"
    for bad in ("x@y.z?subject=hi", "javascript:alert(1)//@x.jp", "a b@c.jp", "no"):
        assert mailto_link(bad) is None, bad


def test_only_https_addresses_become_links() -> None:
    assert https_links(
        [
            "https://instagram.com/sunny",
            "javascript:alert(1)",
            "http://plain.example",
            "https://a b.example",
            "https://user@evil.example",
            'https://x.example/"><img src=x onerror=alert(1)>',
            "https://",
        ]
    ) == [{"href": "https://instagram.com/sunny", "label": "instagram.com/sunny"}]


def test_questions_and_answers_rejoin_what_a_list_split_at_commas() -> None:
    assert faq_pairs(["駐車場はありますか？ 2台あります", "Parking? Yes", "two spaces", "x?"]) == [
        {"question": "駐車場はありますか？", "answer": "2台あります"},
        {"question": "Parking?", "answer": "Yes, two spaces"},
    ]


def test_a_number_is_a_price_only_after_a_space_or_with_a_unit() -> None:
    assert price_rows(["コーヒー400円", "7up", "x-0123456789", "tea - 300 yen", "big 1,200円"]) == [
        PriceRow("コーヒー", "400円", ""),
        PriceRow("7up", "", ""),
        PriceRow("x-0123456789", "", ""),
        PriceRow("tea", "300 yen", ""),
        PriceRow("big", "1,200円", ""),
    ]
