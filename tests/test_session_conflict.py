"""A turn overtaken by another process on the same session: every channel says one sentence
in the user's language and goes on (the web socket's case is in ``test_web_socket.py``)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.store.sqlite import SQLiteStore
from channels.console import ConsoleChannel
from testing.telegram import FakeBotApi
from tests.raced_store import RacedStore
from tests.test_telegram import TOKEN, User, make_bot, polling


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[RacedStore, SQLiteStore]]:
    here, elsewhere = RacedStore(tmp_path / "shared.db"), SQLiteStore(tmp_path / "shared.db")
    await here.open()
    await elsewhere.open()
    yield here, elsewhere
    await here.close()
    await elsewhere.close()


async def test_the_console_says_a_turn_was_overtaken_and_reads_the_next_line(
    stores: tuple[RacedStore, SQLiteStore], catalog: JobCatalog, phrases: Phrases
) -> None:
    here, elsewhere = stores
    manager = DialogManager(jobs=catalog, phrases=phrases, store=here, default_language="en")
    other = DialogManager(jobs=catalog, phrases=phrases, store=elsewhere)
    await manager.resume("c1", "console", "ja")  # the session exists, in Japanese
    here.lose_text = "3"
    here.before_commit = lambda: other.handle(Turn(session_key="c1", text="4", channel="web"))
    output = io.StringIO()
    console = ConsoleChannel(
        manager, session_key="c1", input_stream=io.StringIO("3\nどうぶつクイズ\n"), output=output
    )
    await console.run()
    printed = output.getvalue()
    assert phrases.say("ja", "session_conflict") in printed
    session = await manager.session("c1")
    assert session is not None and session.answers == {"quiz_title": "どうぶつクイズ"}


async def test_telegram_says_a_turn_was_overtaken_and_the_chat_goes_on(
    stores: tuple[RacedStore, SQLiteStore], catalog: JobCatalog, phrases: Phrases
) -> None:
    here, elsewhere = stores
    manager = DialogManager(jobs=catalog, phrases=phrases, store=here, default_language="en")
    other = DialogManager(jobs=catalog, phrases=phrases, store=elsewhere)
    async with FakeBotApi(token=TOKEN) as api, polling(make_bot(api, manager, phrases, here)):
        user = User(api, 7, language="ja")
        await user.say("/start")
        here.lose_text = "3"
        here.before_commit = lambda: other.handle(
            Turn(session_key="telegram:7", text="4", channel="web")
        )
        told = await user.say("3")
        assert told.plain_text == phrases.say("ja", "session_conflict")
        await user.say("どうぶつクイズ")
    session = await manager.session("telegram:7")
    assert session is not None and session.answers == {"quiz_title": "どうぶつクイズ"}
