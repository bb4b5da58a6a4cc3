"""Staff stepping into a session through the dialog manager (issue 16, part S), on the real
SQLite store: a staff message, an answer typed for the user, the hand-back. What the user's
channel receives and what the history keeps are what staff and the user would notice."""

from __future__ import annotations

import pytest

from assistant.dialog.manager import DialogManager
from assistant.events import Reply, ReplyKind, SessionState, Turn
from assistant.store.sqlite import SQLiteStore

KEY = "web:helped"


class Listener:
    """The web channel's place in the manager: keeps what an unsolicited send carried."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Reply]]] = []

    async def __call__(self, key: str, replies: list[Reply]) -> None:
        self.sent.append((key, replies))


async def _at_topic(manager: DialogManager) -> None:
    """A quiz, its title given: the session waits at the question "topic"."""
    for text in ("", "4", "Animal quiz"):
        await manager.handle(Turn(session_key=KEY, text=text, language="en", channel="web"))


@pytest.fixture
def heard(manager: DialogManager) -> Listener:
    listener = Listener()
    manager.add_listener("web", listener)
    return listener


async def test_a_staff_message_reaches_the_channel_marked_and_is_kept(
    manager: DialogManager, store: SQLiteStore, heard: Listener
) -> None:
    await _at_topic(manager)
    replies = await manager.staff_say(
        KEY, "sam", "staff.sessions.to_user", text="Pick 1 for animals"
    )
    assert heard.sent == [(KEY, replies)]
    assert [(r.kind, r.text) for r in replies] == [
        (ReplyKind.INFO, "From staff: Pick 1 for animals")
    ]
    assert replies[0].speech  # a kiosk says it aloud
    last = (await store.history(KEY))[-1]
    assert last["channel"] == "staff:sam" and last["text"] is None
    assert last["replies"][0]["text"] == "From staff: Pick 1 for animals"
    session = await manager.session(KEY)
    assert session is not None and session.state == SessionState.ASK
    assert session.channel == "web"  # the user's channel still gets what follows


async def test_a_staff_message_in_japanese_is_marked_in_japanese(
    manager: DialogManager, heard: Listener
) -> None:
    await manager.handle(Turn(session_key=KEY, text="", language="ja", channel="web"))
    replies = await manager.staff_say(KEY, "sam", "staff.sessions.to_user", text="1番です")
    assert replies[0].text == "スタッフから：1番です"


async def test_an_answer_for_the_user_moves_to_the_next_question(
    manager: DialogManager, store: SQLiteStore, heard: Listener
) -> None:
    await _at_topic(manager)
    replies = await manager.answer_for_user(KEY, "1", "sam")
    assert replies[-1].question_id == "question_count"
    assert heard.sent == [(KEY, replies)]  # the user's page shows it too
    last = (await store.history(KEY))[-1]
    assert (last["channel"], last["text"]) == ("staff:sam", "1")


async def test_a_bad_answer_for_the_user_gets_the_same_sentence_as_the_users_own(
    manager: DialogManager, heard: Listener
) -> None:
    await _at_topic(manager)
    replies = await manager.answer_for_user(KEY, "banana", "sam")
    own = await manager.handle(Turn(session_key=KEY, text="banana", language="en", channel="web"))
    assert [r.text for r in replies] == [r.text for r in own]
    assert replies[0].kind == ReplyKind.PROBLEM and replies[-1].question_id == "topic"


async def test_hand_back_tells_the_user_to_carry_on(
    manager: DialogManager, heard: Listener
) -> None:
    await _at_topic(manager)
    replies = await manager.staff_say(KEY, "sam", "staff.sessions.carry_on")
    assert [r.text for r in replies] == ["You can carry on."]
    assert heard.sent[-1] == (KEY, replies)


async def test_no_such_session_is_a_lookup_error(manager: DialogManager) -> None:
    with pytest.raises(LookupError):
        await manager.staff_say("web:nobody", "sam", "staff.sessions.carry_on")
    with pytest.raises(LookupError):
        await manager.answer_for_user("web:nobody", "1", "sam")
    assert await manager.session("web:nobody") is None  # nothing was made for it
