"""Words from staff said into a user's session (issue 16, artifacts: a sent-back comment):
the session's channel gets them at once, its history keeps them, its state stays put."""

from __future__ import annotations

from assistant.dialog.manager import DialogManager
from assistant.events import Reply, ReplyKind, Turn
from assistant.store.sqlite import SQLiteStore


async def test_told_words_reach_the_channel_and_the_history_in_the_users_language(
    manager: DialogManager, store: SQLiteStore
) -> None:
    heard: list[tuple[str, list[Reply]]] = []

    async def listener(key: str, replies: list[Reply]) -> None:
        heard.append((key, replies))

    manager.add_listener("web", listener)
    await manager.handle(Turn(session_key="web:told", text="hello", language="ja", channel="web"))
    before = await store.load("web:told")
    assert before is not None
    told = await manager.tell("web:told", lambda language: f"[{language}] fix the phone number")
    assert [(r.kind, r.text, r.language) for r in told] == [
        (ReplyKind.INFO, "[ja] fix the phone number", "ja")
    ]
    assert heard == [("web:told", told)]
    after = await store.load("web:told")
    assert after is not None and after.state == before.state
    assert after.revision > before.revision
    last = (await store.history("web:told"))[-1]
    assert last["channel"] == "staff" and last["replies"][0]["text"] == told[0].text


async def test_nothing_is_said_to_a_session_that_is_gone_or_with_nothing_to_say(
    manager: DialogManager,
) -> None:
    assert await manager.tell("web:nobody", lambda language: "anything") == []
    await manager.handle(Turn(session_key="web:quiet", text="hello", language="en", channel="web"))
    assert await manager.tell("web:quiet", lambda language: None) == []
