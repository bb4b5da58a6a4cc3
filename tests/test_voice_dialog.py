"""The dialog's side of voice: grammars for closed answers, read-back of unsure free text,
and silence that never becomes a dead end or a time limit."""

from __future__ import annotations

import json
import sqlite3

from assistant.dialog.manager import DialogManager
from assistant.events import Turn, TurnEvent
from assistant.session import PendingAnswer
from assistant.store.sqlite import SQLiteStore


async def _say(manager: DialogManager, text: str, **extra: object) -> list:
    return await manager.handle(
        Turn(session_key="v", text=text, language="en", channel="kiosk", **extra)
    )


async def test_grammar_follows_the_question(manager: DialogManager) -> None:
    menu = await manager.expectation("v", "en")
    assert (
        menu.language == "en" and "Café web page" in menu.phrases and "number two" in menu.phrases
    )
    await _say(manager, "")
    await _say(manager, "1")
    assert (await manager.expectation("v")).phrases is None, "a shop name is free speech"
    for text in ["Blue Bakery", "bread", "9 to 5"]:
        await _say(manager, text)
    mood = (await manager.expectation("v")).phrases
    assert {"warm", "cool", "natural", "pop", "number four", "help", "go back"} <= set(mood)
    assert "あたたか" not in mood, "only phrases of the session's language"
    await _say(manager, "日本語")
    mood_ja = (await manager.expectation("v")).phrases
    assert {"あたたか", "クール", "ヘルプ", "二番"} <= set(mood_ja) and "warm" not in mood_ja


async def test_number_and_yes_no_grammars(manager: DialogManager) -> None:
    await _say(manager, "")
    await _say(manager, "quiz")
    await _say(manager, "Animal quiz")
    await _say(manager, "1")
    numbers = (await manager.expectation("v")).phrases
    assert {"three", "ten"} <= set(numbers) and "eleven" not in numbers and "two" not in numbers
    await _say(manager, "five")
    yes_no = (await manager.expectation("v")).phrases
    assert {"yes", "no", "sure", "nope"} <= set(yes_no)


async def test_unsure_free_text_is_read_back_before_it_is_kept(manager: DialogManager) -> None:
    await _say(manager, "")
    await _say(manager, "1")
    replies = await _say(manager, "blue bakery", confidence=0.41)
    assert [r.text for r in replies] == ["I heard “blue bakery”. Is that right?"]
    assert (await manager.session("v")).answers == {}
    assert {"yes", "no"} <= set((await manager.expectation("v")).phrases)
    replies = await _say(manager, "no")
    assert [r.text for r in replies][0] == "Sorry. Please say it again."
    await _say(manager, "blue bakery", confidence=0.3)
    replies = await _say(manager, "yes")
    assert replies[0].text == "Got it: blue bakery."
    assert (await manager.session("v")).answers == {"shop_name": "blue bakery"}
    replies = await _say(manager, "bread, cake", confidence=0.95)
    assert replies[0].text == "Got it: bread, cake.", "a sure answer is kept at once"


async def test_silence_asks_again_gently_then_waits(manager: DialogManager) -> None:
    await _say(manager, "")
    await _say(manager, "1")
    replies = await _say(manager, "", event=TurnEvent.SILENCE)
    assert [r.text for r in replies] == [
        "Take your time.",
        "Question 1 of 9. What is your shop called?",
    ]
    replies = await _say(manager, "", event=TurnEvent.LONG_SILENCE)
    assert [r.text for r in replies] == [
        "I will wait. Say “continue” when you are ready. Someone new can simply start speaking."
    ]
    assert await _say(manager, "", event=TurnEvent.SILENCE) == [], "a paused kiosk stays quiet"
    replies = await _say(manager, "Blue Bakery")
    assert replies[0].text == "Let's carry on.", "speaking resumes"
    assert (await manager.session("v")).answers == {}, "and is not taken as an answer"


async def test_unsure_closed_answers_are_read_back_not_accepted(manager: DialogManager) -> None:
    """A grammar forces any speech onto one of its phrases; only the confidence tells."""
    await _say(manager, "")
    await _say(manager, "quiz")
    await _say(manager, "Animal quiz")
    replies = await _say(manager, "number two", confidence=0.2)  # choice: Food
    assert [r.text for r in replies] == ["I heard “food”. Is that right?"]
    assert "quiz_title" in (await manager.session("v")).answers
    assert "topic" not in (await manager.session("v")).answers, "not kept before the yes"
    replies = await _say(manager, "no", confidence=0.9)
    assert [r.text for r in replies][0] == "Sorry. Please say it again."
    await _say(manager, "animals", confidence=0.9)
    replies = await _say(manager, "nine", confidence=0.24)  # number
    assert [r.text for r in replies] == ["I heard “9”. Is that right?"]
    replies = await _say(manager, "yes", confidence=0.95)
    assert replies[0].text == "Got it: 9."
    replies = await _say(manager, "nope", confidence=0.3)  # yes/no
    assert [r.text for r in replies] == ["I heard “no”. Is that right?"]
    assert "show_answer" not in (await manager.session("v")).answers


async def test_unsure_closed_answers_are_read_back_in_japanese(manager: DialogManager) -> None:
    await _say(manager, "")
    await _say(manager, "日本語")
    await _say(manager, "クイズ")
    await _say(manager, "動物クイズ")
    replies = await _say(manager, "二番", confidence=0.3)
    assert [r.text for r in replies] == ["「たべもの」と聞こえました。合っていますか？"]
    replies = await _say(manager, "はい", confidence=0.9)
    assert replies[0].text == "「たべもの」ですね。"
    assert (await manager.session("v")).answers["topic"] == "food"


async def test_an_unsure_command_is_not_run(manager: DialogManager) -> None:
    """Out-of-grammar speech forced onto "cancel" or "wait a minute" must not act."""
    await _say(manager, "")
    await _say(manager, "1")
    replies = await _say(manager, "wait a minute", confidence=0.04)
    assert [r.text for r in replies] == [
        "Sorry, I did not catch that.",
        "Question 1 of 9. What is your shop called?",
    ]
    assert not (await manager.session("v")).paused
    await _say(manager, "日本語")
    replies = await _say(manager, "キャンセル", confidence=0.1)
    assert replies[0].text == "すみません、よく聞き取れませんでした。"
    assert (await manager.session("v")).job_id == "cafe_page"
    replies = await _say(manager, "一時停止", confidence=0.9)
    assert (await manager.session("v")).paused, "a sure command still acts"


async def test_stop_is_obeyed_even_when_heard_unsurely(manager: DialogManager) -> None:
    """A short "stop" scores low in PocketSphinx; stopping loses nothing, so it is obeyed."""
    await _say(manager, "")
    await _say(manager, "1")
    replies = await _say(manager, "stop", confidence=0.07)
    assert [(r.text, r.speech) for r in replies] == [("Stopped.", "")]
    assert replies[0].stop and replies[0].to_wire()["stop"] is True, "channels obey the flag"
    await _say(manager, "日本語")
    replies = await _say(manager, "ストップ", confidence=0.1)
    assert [r.speech for r in replies] == [""], "nothing more is said"


async def test_the_pause_that_ends_an_answer_is_changed_by_voice(manager: DialogManager) -> None:
    """ "wait longer" / 「待ち時間を短く」 change the session's end-of-speech silence (0.25-5 s)."""
    await _say(manager, "")
    await _say(manager, "1")
    replies = await _say(manager, "wait longer")
    assert replies[0].text == (
        "I will wait longer before I take your answer: 1.5 seconds of silence."
    )
    assert (await manager.session("v")).preferences["silence"] == 1.5
    assert (await manager.session("v")).answers == {}, "a command, not the shop's name"
    for _ in range(6):
        replies = await _say(manager, "give me more time")
    assert replies[0].text == "That is already the limit."
    assert (await manager.session("v")).preferences["silence"] == 5.0
    await _say(manager, "日本語")
    replies = await _say(manager, "待ち時間を短くして")
    assert (
        replies[0].text
        == "答えを受け取るまでの待ち時間を短くします。4秒、静かになったら受け取ります。"
    )
    for _ in range(9):
        await _say(manager, "待ち時間を短く")
    assert (await manager.session("v")).preferences["silence"] == 0.25
    replies = await _say(manager, "もっと待って")
    assert replies[0].text.startswith("答えを受け取るまで、もっと長く待ちます。0.5秒")


async def test_an_unsure_menu_choice_is_read_back_and_a_final_yes_asked_again(
    manager: DialogManager,
) -> None:
    """Choosing a job and the last "yes" act at once, so neither is acted on when heard
    unsurely: a job is read back (a yes is easier to hear than a menu item, so nobody is
    stuck at the menu), the final yes is asked again."""
    await _say(manager, "")
    replies = await _say(manager, "number two", confidence=0.3)
    assert [r.text for r in replies] == ["I heard “Event announcement page”. Is that right?"]
    assert (await manager.session("v")).job_id is None
    assert set((await manager.expectation("v")).phrases or ()) >= {"yes", "no"}
    replies = await _say(manager, "repeat")
    assert replies[-1].text == "I heard “Event announcement page”. Is that right?"
    replies = await _say(manager, "no", confidence=0.4)
    assert replies[0].text == "Sorry. Please say it again."
    assert (await manager.session("v")).job_id is None
    replies = await _say(manager, "blah blah", confidence=0.2)
    assert replies[0].text == "Sorry, I did not catch that.", "names no job: asked again"
    await _say(manager, "number four", confidence=0.3)
    await _say(manager, "yes", confidence=0.3)  # the read-back's grammar is only yes and no
    session = await manager.session("v")
    assert session.job_id == "quiz_game" and session.pending is None
    await _say(manager, "start over")
    await _say(manager, "quiz", confidence=0.9)
    for text in ["Animal quiz", "animals", "five", "yes"]:
        await _say(manager, text)
    replies = await _say(manager, "yes", confidence=0.2)
    assert replies[0].text == "Sorry, I did not catch that."
    assert (await manager.session("v")).state.value == "confirm", "nothing was generated"


async def test_a_read_back_survives_a_restart_and_old_rows_stay_readable(
    manager: DialogManager, store: SQLiteStore
) -> None:
    """The answer held for a yes is stored; rows written before it was typed read the same."""
    await _say(manager, "")
    await _say(manager, "1")
    await _say(manager, "blue bakery", confidence=0.3)
    conn = sqlite3.connect(store.path)
    stored = conn.execute("SELECT pending FROM sessions WHERE key = 'v'").fetchone()[0]
    assert json.loads(stored) == {"question": "shop_name", "value": "blue bakery"}
    conn.execute(
        "UPDATE sessions SET pending = ? WHERE key = 'v'",
        (json.dumps({"question": "shop_name", "value": "Green Grocer"}),),
    )
    conn.commit()
    conn.close()
    session = await manager.session("v")
    assert session is not None and session.pending == PendingAnswer("shop_name", "Green Grocer")
    replies = await _say(manager, "yes")
    assert replies[0].text == "Got it: Green Grocer."
