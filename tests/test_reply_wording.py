"""How replies read: no doubled full stop after an answer that is a sentence, no half-width
space after a Japanese full stop (issue 14, "Wording")."""

from __future__ import annotations

import pytest

from assistant.dialog.manager import DialogManager
from assistant.dialog.replies import ReplyWriter
from assistant.dialog.wording import sentences
from assistant.events import Turn
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.session import Session


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("Come in, slow down, stay a while.", "Got it: Come in, slow down, stay a while."),
        ("Welcome!", "Got it: Welcome!"),
        ("Are you hungry?", "Got it: Are you hungry?"),
        ("Sunny Café", "Got it: Sunny Café."),
        ("3.5", "Got it: 3.5."),
    ],
)
def test_an_answer_that_ends_a_sentence_is_not_given_a_second_full_stop(
    phrases: Phrases, value: str, said: str
) -> None:
    assert phrases.say("en", "kept", value=value) == said


def test_japanese_kept_answers_keep_their_own_end_mark(phrases: Phrases) -> None:
    said = phrases.say("ja", "kept", value="ゆっくりしていってね。")
    assert "。。" not in said and "ゆっくりしていってね。" in said


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        (["6問中1問目です。", "お店の名前は？"], "6問中1問目です。お店の名前は？"),
        (["濃さは？", "番号か名前を言ってください。"], "濃さは？番号か名前を言ってください。"),
        (
            ["Question 1 of 6.", "What is your shop called?"],
            "Question 1 of 6. What is your shop called?",
        ),
        (["「はい」と言ってください。", "", "Say yes."], "「はい」と言ってください。Say yes."),
        (["Hello", "こんにちは。"], "Hello こんにちは。"),
    ],
)
def test_sentences_are_put_together_as_each_language_writes_them(
    parts: list[str], text: str
) -> None:
    assert sentences(parts) == text


@pytest.mark.parametrize(("language", "name"), [("en", "brown"), ("ja", "茶色")])
def test_the_cafe_colour_default_is_read_back_as_the_brown_its_help_promises(
    phrases: Phrases, catalog: JobCatalog, language: str, name: str
) -> None:
    question = catalog.jobs["cafe_page"].question("main_color")
    assert question is not None and question.default is not None
    session = Session(key="t", language=language, channel="web")
    said = ReplyWriter(phrases).format_value(session, question, question.default)
    assert said == name, "no hex code, and the colour the help text names"
    assert name in (question.help.get(language) if question.help else "")


async def _menu_and_mood(
    manager: DialogManager, channel: str, language: str, **spoken: float
) -> list[str]:
    """What a person hears or reads at the menu, then at the café page's mood question."""
    key = f"{channel}:wording-{language}"
    said = []
    for text in (None, "1", "Blue Bakery", "bread", "9 to 5"):
        turn = Turn(key, text=text, language=language, channel=channel, **spoken)  # type: ignore[arg-type]
        said.append(" ".join(r.text for r in await manager.handle(turn)))
    return said


@pytest.mark.parametrize("channel", ["web", "telegram"])
async def test_a_person_who_types_is_asked_to_type_or_press(
    manager: DialogManager, channel: str
) -> None:
    said = await _menu_and_mood(manager, channel, "en")
    assert "Type its number or its name, press it, or tell me in your own words." in said[0]
    assert "Type a number or a name, or press one." in said[-1], said[-1]
    assert not any("Say a number" in s or "Say its number" in s for s in said)
    japanese = await _menu_and_mood(manager, channel, "ja")
    assert "番号か名前を入力するか、ボタンを押してください。" in japanese[0]


async def test_a_person_who_speaks_is_asked_to_say(manager: DialogManager) -> None:
    said = await _menu_and_mood(manager, "kiosk", "en", confidence=0.9)
    assert (
        "Say its number or its name, or tell me in your own words." in said[0]
        and "Say a number or a name." in said[-1]
    )
    # In the web chat with the microphone: spoken answers are answered in spoken words.
    web = await _menu_and_mood(manager, "web", "en", confidence=0.9)
    assert "Say a number or a name." in web[-1], web[-1]
