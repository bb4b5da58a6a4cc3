"""A job answered in one's own words (issue 14, part H), through the DialogManager: an optional
question answered yes or no, corrections, lists, start over and cancel with "are you sure?"."""

from __future__ import annotations

from assistant.dialog.manager import DialogManager
from assistant.events import Reply, ReplyKind, SessionState, Turn
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.store.sqlite import SQLiteStore
from tests.conftest import FIXED_NOW


def _manager(catalog: JobCatalog, phrases: Phrases, store: SQLiteStore) -> DialogManager:
    return DialogManager(jobs=catalog, phrases=phrases, store=store, clock=lambda: FIXED_NOW)


class Person:
    """One person talking to the dialog in one language."""

    def __init__(self, manager: DialogManager, language: str, key: str = "u") -> None:
        self.manager, self.language, self.key = manager, language, key

    async def say(self, text: str) -> list[Reply]:
        turn = Turn(self.key, text=text, language=self.language, channel="test")
        return await self.manager.handle(turn)

    async def answers(self) -> dict[str, object]:
        session = await self.manager.session(self.key)
        assert session is not None
        return session.answers

    async def question(self) -> str | None:
        session = await self.manager.session(self.key)
        assert session is not None
        return self.manager.flow.current_question(session).id  # type: ignore[union-attr]


async def _intro_page(person: Person) -> None:
    """The about-me page (job 3): name, hobbies, favourite colour, message, style."""
    await person.say("")
    await person.say("3")
    assert await person.question() == "name"


async def test_the_about_me_page_in_japanese_own_words(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    person = Person(_manager(catalog, phrases, store), "ja")
    await _intro_page(person)
    await person.say("はなこ、いや、はなえ")
    await person.say("コーヒーと、ケーキと、サンドイッチ")
    await person.say("青…じゃなくて緑")
    answers = await person.answers()
    assert answers["name"] == "はなえ"
    assert answers["hobbies"] == ["コーヒー", "ケーキ", "サンドイッチ"]
    assert answers["favorite_color"] != (await _colour(person, "青"))
    # 「みんなに、ひとことありますか？」 「はい」: asked for the message, not kept as it.
    replies = await person.say("はい")
    assert [r.text for r in replies] == ["わかりました。どうぞ、言ってください。"]
    assert "message" not in await person.answers()
    replies = await person.say("はい")  # the value now, even if it is はい itself
    assert (await person.answers())["message"] == "はい"
    assert replies[-1].question_id == "style"


async def _colour(person: Person, word: str) -> object:
    from assistant.understanding.interpret import parse_color

    return parse_color(word)


async def test_an_optional_question_answered_no_is_skipped_and_yes_then_the_message(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    person = Person(_manager(catalog, phrases, store), "en")
    await _intro_page(person)
    for text in ("Hana", "reading, and cooking", "green"):
        await person.say(text)
    assert (await person.answers())["hobbies"] == ["reading", "cooking"]
    replies = await person.say("no thanks")
    assert replies[0].text == "Skipped." and replies[-1].question_id == "style"
    assert (await person.answers())["message"] is None
    await person.say("back")
    replies = await person.say("yes")
    assert [r.text for r in replies] == ["Good. Please tell me now."]
    await person.say("Nice to meet you")
    assert (await person.answers())["message"] == "Nice to meet you"
    # A message that starts with yes is a message.
    await person.say("back")
    await person.say("Yes, welcome all")
    assert (await person.answers())["message"] == "Yes, welcome all"


async def test_start_over_restarts_the_job_and_menu_still_reaches_the_list(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    for language, start_over in (("en", "Start over"), ("ja", "最初から")):
        person = Person(_manager(catalog, phrases, store), language, key=language)
        await _intro_page(person)
        await person.say("Hana")
        replies = await person.say(start_over)
        assert replies[-1].question_id == "name"  # the same job, from its first question
        session = await person.manager.session(person.key)
        assert session is not None and session.job_id == "intro_page" and session.answers == {}


async def test_cancel_asks_first_when_answers_would_be_lost(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    person = Person(_manager(catalog, phrases, store), "ja")
    await _intro_page(person)
    replies = await person.say("キャンセル")  # nothing answered yet: nothing to lose
    assert replies[-1].kind == ReplyKind.MENU
    await person.say("3")
    await person.say("はなこ")
    replies = await person.say("おわり")
    assert replies[-1].kind == ReplyKind.QUESTION and "本当にやめますか" in replies[-1].text
    assert [c.id for c in replies[-1].choices] == ["yes", "no"]
    replies = await person.say("もう一回")  # repeat: the same question
    assert "本当にやめますか" in replies[-1].text
    replies = await person.say("いいえ")
    assert replies[0].text == "わかりました。答えはそのままです。続けましょう。"
    assert replies[-1].question_id == "hobbies"
    assert await person.answers() == {"name": "はなこ"}
    await person.say("おしまい")
    replies = await person.say("はい")
    assert replies[-1].kind == ReplyKind.MENU and await person.answers() == {}


async def test_cancel_confirmation_in_english_pressed_and_said_twice(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    person = Person(_manager(catalog, phrases, store), "en")
    await _intro_page(person)
    await person.say("Hana")
    await person.say("I'm done")
    replies = await person.say("2")  # the "no" button
    assert replies[-1].question_id == "hobbies"
    await person.say("that's all")
    replies = await person.say("cancel")  # said again: that is a yes
    assert replies[-1].kind == ReplyKind.MENU and await person.answers() == {}
    await person.say("3")
    await person.say("Hana")
    await person.say("cancel")
    replies = await person.say("tea, cake")  # an answer instead: the cancel is dropped
    assert (await person.answers())["hobbies"] == ["tea", "cake"]
    assert replies[-1].question_id == "favorite_color"
    session = await person.manager.session(person.key)
    assert session is not None and session.pending is None
    await person.say("cancel")
    await person.say("yes")
    replies = await person.say("cancel")  # at the menu, with nothing to lose: goodbye
    assert replies[-1].kind == ReplyKind.GOODBYE


async def test_a_correction_at_a_number_question(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    person = Person(_manager(catalog, phrases, store), "en")
    await person.say("")
    await person.say("4")  # the quiz: title, topic, how many questions (3 to 10), answers
    await person.say("Animals")
    await person.say("food")
    replies = await person.say("three, no, four")
    assert replies[0].text == "Got it: 4."
    session = await person.manager.session(person.key)
    assert session is not None and session.answers["question_count"] == 4
    assert session.state == SessionState.ASK


async def test_menu_reaches_the_list_from_a_question_and_at_the_list(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    for language, menu, yes in (("en", "menu", "yes"), ("ja", "メニュー", "はい")):
        person = Person(_manager(catalog, phrases, store), language, key=language)
        await _intro_page(person)
        replies = await person.say(menu)  # nothing answered: straight to the list
        assert replies[-1].kind == ReplyKind.MENU
        replies = await person.say(menu)  # at the list: the list again, not goodbye
        assert [r.kind for r in replies] == [ReplyKind.MENU]
        await person.say("3")
        await person.say("Hana")
        replies = await person.say(menu)  # answers would be lost: asked first
        assert [c.id for c in replies[-1].choices] == ["yes", "no"]
        replies = await person.say(yes)
        assert replies[-1].kind == ReplyKind.MENU and await person.answers() == {}


async def test_no_with_the_right_answer_to_a_read_back_keeps_that_answer(
    catalog: JobCatalog, phrases: Phrases, store: SQLiteStore
) -> None:
    manager = _manager(catalog, phrases, store)
    for language, heard, fix, value in (("en", "three", "no, four", 4), ("ja", "3", "いや、5", 5)):
        person = Person(manager, language, key=language)
        for text in ("", "4", "Animals", "1"):
            await person.say(text)
        unsure = Turn(person.key, text=heard, language=language, channel="test", confidence=0.3)
        replies = await manager.handle(unsure)  # heard unsurely: read back
        assert [c.id for c in replies[-1].choices] == ["yes", "no"]
        await person.say(fix)
        assert (await person.answers())["question_count"] == value
    person = Person(manager, "en", key="plain-no")
    for text in ("", "4", "Animals", "1"):
        await person.say(text)
    await manager.handle(Turn("plain-no", text="three", channel="test", confidence=0.3))
    replies = await person.say("no")
    assert replies[0].text == "Sorry. Please say it again."
    assert "question_count" not in await person.answers()
