"""Colour contrast (WCAG 2.x) and the palette the page templates use to keep text readable."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generators.palette import (
    AA_TEXT,
    STEP,
    Adjustment,
    Palette,
    best_text_on,
    contrast,
    luminance,
    mix,
    nearest_readable,
    valid_color,
)
from generators.render import make_environment

# --- the pure functions -------------------------------------------------------------------


def test_luminance_of_black_white_and_grey() -> None:
    assert luminance("#000000") == 0
    assert luminance("#ffffff") == pytest.approx(1)
    assert luminance("#777777") == pytest.approx(0.1845, abs=1e-4)


def test_contrast_matches_known_wcag_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the classic AA grey
    assert contrast("#123456", "#123456") == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("#ABCDEF", "#abcdef"),
        ("#8b4513", "#8b4513"),
        (None, "#111111"),
        ("", "#111111"),
        ("not a colour", "#111111"),
        ("#12345", "#111111"),
        ("#1234567", "#111111"),
        ("#12345g", "#111111"),
        ("123456", "#111111"),
        (123456, "#111111"),
        (["#123456"], "#111111"),
    ],
)
def test_valid_color(value: Any, expected: str) -> None:
    assert valid_color(value, "#111111") == expected


def test_mix_and_best_text() -> None:
    assert mix("#000000", "#ffffff", 0) == "#000000"
    assert mix("#000000", "#ffffff", 1) == "#ffffff"
    assert mix("#000000", "#ffffff", 0.5) == "#808080"
    assert mix("#ff0000", "#0000ff", 0.25) == "#bf0040"
    assert best_text_on("#ffff00") == "#000000"
    assert best_text_on("#123456") == "#ffffff"
    assert best_text_on("#777777") == "#000000"


@pytest.mark.parametrize("background", ["#000000", "#ffffff", "#777777", "#757575", "#ff0000"])
def test_black_or_white_always_passes(background: str) -> None:
    assert contrast(best_text_on(background), background) >= AA_TEXT


# --- Palette.readable_on ------------------------------------------------------------------


def test_a_passing_colour_is_kept_and_nothing_is_recorded() -> None:
    palette = Palette()
    assert palette.readable_on("#8b4513", "#ffffff", "main_color") == "#8b4513"
    assert palette.readable_on("#767676", "#ffffff", "main_color") == "#767676"
    assert palette.adjustments == []


def test_a_failing_colour_becomes_the_nearest_passing_one_and_is_recorded_once() -> None:
    palette = Palette()
    used = palette.readable_on("#ffff00", "#ffffff", "main_color")
    assert used != "#ffff00"
    assert contrast(used, "#ffffff") >= AA_TEXT
    # It is the yellow darkened, and one step less dark would not be readable.
    colour, t = nearest_readable("#ffff00", "#ffffff")
    assert colour == used == mix("#ffff00", "#000000", t)
    assert 0 < t < 1
    assert contrast(mix("#ffff00", "#000000", t - STEP), "#ffffff") < AA_TEXT
    # Asking again (the template uses the colour twice) records nothing new.
    assert palette.readable_on("#ffff00", "#ffffff", "main_color") == used
    assert palette.adjustments == [
        Adjustment(
            question_id="main_color",
            original="#ffff00",
            used=used,
            ratio_before=pytest.approx(1.07, abs=0.01),
            ratio_after=contrast(used, "#ffffff"),
        )
    ]


def test_grey_777_just_fails_and_moves_only_a_little() -> None:
    palette = Palette()
    used = palette.readable_on("#777777", "#ffffff", "list_color")
    assert used == "#767676"
    [adjustment] = palette.adjustments
    assert adjustment.ratio_before < AA_TEXT <= adjustment.ratio_after


def test_on_a_dark_background_the_colour_is_lightened() -> None:
    palette = Palette()
    used = palette.readable_on("#333333", "#111111", "theme_color")
    assert luminance(used) > luminance("#333333")
    assert contrast(used, "#111111") >= AA_TEXT
    _, t = nearest_readable("#333333", "#111111")
    assert contrast(mix("#333333", "#ffffff", t - STEP), "#111111") < AA_TEXT


def test_several_backgrounds_must_all_pass() -> None:
    palette = Palette()
    used = palette.readable_on("#3f6fb5", ["#ffffff", "#dbe4f2"])
    assert contrast("#3f6fb5", "#ffffff") >= AA_TEXT  # fine on white alone...
    assert used != "#3f6fb5"  # ...but not on the pale blue
    assert min(contrast(used, "#ffffff"), contrast(used, "#dbe4f2")) >= AA_TEXT
    assert palette.adjustments[0].question_id is None


def test_different_adjustments_are_all_kept() -> None:
    palette = Palette()
    palette.readable_on("#ffff00", "#ffffff", "a")
    palette.readable_on("#ffff00", "#ffffff", "b")
    palette.readable_on("#00ffff", "#ffffff", "a")
    assert [(a.question_id, a.original) for a in palette.adjustments] == [
        ("a", "#ffff00"),
        ("b", "#ffff00"),
        ("a", "#00ffff"),
    ]


@pytest.mark.parametrize("background", ["#ffffff", "#f4f5f7", "#777777", "#000000", "#ffff00"])
@pytest.mark.parametrize("colour", ["#ffff00", "#ffffff", "#000000", "#777777", "#8b4513"])
def test_readable_on_always_reaches_aa(colour: str, background: str) -> None:
    assert contrast(Palette().readable_on(colour, background), background) >= AA_TEXT


# --- the templates ------------------------------------------------------------------------

PAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "page/cafe.html.j2": (
        "main_color",
        {
            "shop_name": "Café <b>Bar</b>",
            "menu_items": ["Coffee", "Tea"],
            "opening_hours": "9:00-17:00",
            "mood": "warm",
            "greeting": "Welcome!",
        },
    ),
    "page/event.html.j2": (
        "theme_color",
        {
            "event_name": "Summer party",
            "event_date": "2025-08-01",
            "start_time": "14:30",
            "place": "Hall",
            "details": "Music and food",
        },
    ),
    "page/intro.html.j2": (
        "favorite_color",
        {"name": "Hana", "hobbies": ["music"], "message": "Hello!", "style": "simple"},
    ),
    "program/todo.html.j2": (
        "list_color",
        {"list_title": "Today", "first_items": ["shopping"], "save_in_browser": True},
    ),
}
OTHER_TEMPLATES: dict[str, dict[str, Any]] = {
    "program/quiz.py.j2": {
        "quiz_title": "Quiz",
        "topic": "animals",
        "question_count": 3,
        "show_answer": True,
    },
    "program/shopping.py.j2": {
        "shop_name": "Shop",
        "currency": "yen",
        "tax_rate": 10,
        "member_discount": 5,
        "products": ["apple"],
    },
}
# Styles that change which colours sit behind which text.
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "page/cafe.html.j2": ("mood", ["warm", "cool", "natural", "pop"]),
    "page/intro.html.j2": ("style", ["simple", "cute", "cool"]),
}
COLOURS: list[Any] = [
    None,
    "#ffff00",
    "#000000",
    "#ffffff",
    "#777777",
    "#8b4513",
    "#123456",
    "not a colour",
]

ENVIRONMENT = make_environment()


def render(
    template: str, answers: dict[str, Any], lang: str = "en", **extra: Any
) -> tuple[str, Palette]:
    palette = Palette()
    context = {
        "answers": answers,
        "labels": {},
        "lang": lang,
        "title": "Title",
        "palette": palette,
        "description": "A page made for you.",
        "enriched": None,
        "link": "",  # the page's own link (issue 15: the event poster's QR code)
        "photos": {},  # the user's pictures (issue 15)
        **extra,
    }
    return ENVIRONMENT.get_template(template).render(context), palette


def page_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(template, colour question, answers) for every page and style variant."""
    cases = []
    for template, (question, answers) in PAGES.items():
        key, values = VARIANTS.get(template, ("", [""]))
        for value in values:
            cases.append((template, question, {**answers, key: value} if key else answers))
    return cases


def case_id(case: tuple[str, str, dict[str, Any]]) -> str:
    template, _, answers = case
    return (
        template.split("/")[1].split(".")[0]
        + "-"
        + str(answers.get("mood", answers.get("style", "")))
    )


CASES = page_cases()


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_a_light_colour_is_adjusted_and_recorded_for_its_question(
    case: tuple[str, str, dict[str, Any]],
) -> None:
    template, question, answers = case
    html, palette = render(template, {**answers, question: "#ffff00"})
    mine = [a for a in palette.adjustments if a.question_id == question]
    assert len(mine) == 1
    assert mine[0].original == "#ffff00"
    assert mine[0].ratio_before < AA_TEXT <= mine[0].ratio_after
    assert "--accent: #ffff00;" in html  # the user's colour is still used where it can be
    assert f"--accent-text: {mine[0].used};" in html


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
@pytest.mark.parametrize("colour", ["#123456", "#000000", "#8b4513"])
def test_a_dark_colour_is_used_as_chosen(
    case: tuple[str, str, dict[str, Any]], colour: str
) -> None:
    template, question, answers = case
    html, palette = render(template, {**answers, question: colour})
    assert palette.adjustments == []
    assert f"--accent-text: {colour};" in html


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
@pytest.mark.parametrize("colour", [None, "not a colour", 42, "#12345"])
def test_without_a_usable_colour_nothing_is_blamed_on_the_answer(
    case: tuple[str, str, dict[str, Any]], colour: Any
) -> None:
    template, question, answers = case
    _, palette = render(template, {**answers, question: colour})
    assert all(a.question_id is None for a in palette.adjustments)


def test_the_intro_fallback_is_adjusted_without_a_question() -> None:
    answers = {**PAGES["page/intro.html.j2"][1], "style": "cute", "favorite_color": None}
    _, palette = render("page/intro.html.j2", answers)
    assert [a.question_id for a in palette.adjustments] == [None]


@pytest.mark.parametrize("template", list(PAGES))
def test_a_missing_colour_answer_uses_the_fallback(template: str) -> None:
    question, answers = PAGES[template]
    html, _ = render(template, {k: v for k, v in answers.items() if k != question})
    assert "--accent: #" in html


# Which CSS colours are drawn as text on which backgrounds, per template (and style).
ACCENT_PAIRS = [("on-accent", "accent")]
CARD_PAIRS = [("accent-text", "card"), ("text", "card"), ("muted", "card")]


def text_pairs(template: str, answers: dict[str, Any]) -> list[tuple[str, str]]:
    if template == "page/cafe.html.j2":
        return ACCENT_PAIRS + CARD_PAIRS + [("text", "page"), ("muted", "#ffffff")]
    if template == "page/event.html.j2":
        return ACCENT_PAIRS + CARD_PAIRS + [("text", "page"), ("muted", "page")]
    if template == "page/intro.html.j2":
        pairs = ACCENT_PAIRS + CARD_PAIRS + [("text", "page"), ("muted", "page")]
        return pairs if answers["style"] == "cool" else [*pairs, ("accent-text", "page")]
    return ACCENT_PAIRS + CARD_PAIRS


def css_variables(html: str) -> dict[str, str]:
    root = re.search(r":root \{(.*?)\}", html, re.S)
    assert root is not None
    return dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6});", root.group(1)))


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
@pytest.mark.parametrize("colour", COLOURS)
def test_every_text_colour_in_the_css_reaches_aa(
    case: tuple[str, str, dict[str, Any]], colour: Any
) -> None:
    template, question, answers = case
    answers = {**answers, question: colour}
    html, palette = render(template, answers)
    variables = css_variables(html)
    for text, background in text_pairs(template, answers):
        fg = variables[text]
        bg = background if background.startswith("#") else variables[background]
        assert contrast(fg, bg) >= AA_TEXT, (text, fg, background, bg)
    # And every pair the palette itself was asked for.
    assert palette.pairs
    for fg, bg in palette.pairs:
        assert contrast(fg, bg) >= AA_TEXT, (fg, bg)


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("colour", [*COLOURS, "#FFFF00"])
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_pages_render_in_both_languages_without_outside_resources(
    case: tuple[str, str, dict[str, Any]], colour: Any, lang: str
) -> None:
    template, question, answers = case
    html, _ = render(template, {**answers, question: colour}, lang=lang)
    assert f'<html lang="{lang}">' in html
    assert "<b>Bar</b>" not in html  # still autoescaped
    assert "http://" not in html and "https://" not in html
    # Only the page's own anchors and files beside it (the event's calendar file) are linked.
    assert not re.search(r"\b(src|href)=\"(?!#|[\w-]+\.ics\")", html)
    assert "@import" not in html and "url(" not in html


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("template", list(OTHER_TEMPLATES))
def test_python_programs_still_render(template: str, lang: str) -> None:
    source, palette = render(template, OTHER_TEMPLATES[template], lang=lang)
    compile(source, template, "exec")
    assert palette.adjustments == []


@pytest.mark.parametrize("colour", ["#ffff00", None])
@pytest.mark.parametrize("template", ["page/event.html.j2", "program/todo.html.j2"])
def test_inline_scripts_still_parse(template: str, colour: Any, tmp_path: Path) -> None:
    question, answers = PAGES[template]
    html, _ = render(template, {**answers, question: colour}, lang="ja")
    [script] = re.findall(r"<script>(.*?)</script>", html, re.S)
    path = tmp_path / "script.js"
    path.write_text(script, encoding="utf-8")
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run([node, "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- the README for programs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "run", "expected"),
    [
        ("ja", "python", ["python3 main.py", "python.org", "アシスタント"]),
        ("en", "python", ["python3 main.py", "python.org", "facility assistant"]),
        ("ja", "javascript", ["index.html", "ダブルクリック", "アシスタント"]),
        ("en", "javascript", ["index.html", "Double-click", "facility assistant"]),
    ],
)
def test_readme_says_how_to_run_the_program(lang: str, run: str, expected: list[str]) -> None:
    text, _ = render("program/README.md.j2", {}, lang=lang, run=run)
    assert text.startswith("# Title\n")
    assert "A page made for you." in text
    for words in expected:
        assert words in text
    if run == "javascript":
        assert "python" not in text.lower()


def test_readme_without_description_or_run_still_renders() -> None:
    palette = Palette()
    context = {
        "answers": {},
        "labels": {},
        "lang": "en",
        "title": "T",
        "palette": palette,
        "enriched": None,
    }
    text = ENVIRONMENT.get_template("program/README.md.j2").render(context)
    assert text.startswith("# T\n")
