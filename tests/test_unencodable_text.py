"""Text that UTF-8 cannot encode, at every boundary: the user gets an answer, nothing crashes.

A lone UTF-16 surrogate is valid in a JSON string (the web page, Telegram's Bot API) and a
console line may be Latin-1; before the boundaries cleaned them, the SQLite write raised
``UnicodeEncodeError``, the socket dropped with 1006 and the console exited with a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.safe_text import REPLACEMENT
from assistant.server import init_app
from assistant.store.sqlite import SQLiteStore
from channels.web.protocol import Hello, Say, parse
from testing.telegram import FakeBotApi
from tests.test_telegram import TOKEN, User, make_bot, polling
from tests.test_web_socket import BASE, make_channel, open_page

ROOT = Path(__file__).resolve().parent.parent
SURROGATE_TITLE = "Quiz \ud800 night"
CLEANED_TITLE = f"Quiz {REPLACEMENT} night"


async def _to_quiz_title(manager: DialogManager, key: str) -> None:
    await manager.resume(key, "console", "en")
    await manager.handle(Turn(key, text="4", language="en"))


async def test_the_dialog_manager_stores_a_turn_with_a_lone_surrogate(
    manager: DialogManager,
) -> None:
    await _to_quiz_title(manager, "user:1")
    replies = await manager.handle(Turn("user:1", text=SURROGATE_TITLE, language="en"))
    assert "What should the quiz be about?" in replies[-1].text
    session = await manager.session("user:1")
    assert session is not None and session.answers["quiz_title"] == CLEANED_TITLE


def test_every_text_field_of_the_web_protocol_is_made_encodable() -> None:
    said = parse('{"type": "say", "text": "ab\\ud800cd\\u001b[2J"}')
    assert isinstance(said, Say) and said.text == f"ab{REPLACEMENT}cd[2J"
    said.text.encode("utf-8")
    hello = parse('{"type": "hello", "session": "web:\\udfff", "code": "AB\\ud800"}')
    assert isinstance(hello, Hello) and hello.session is None
    assert hello.code is not None and hello.code.encode("utf-8")


@pytest.fixture
async def client(
    store: SQLiteStore, catalog: JobCatalog, manager: DialogManager, phrases: Phrases,
    queue: GenerationQueue,
) -> AsyncIterator[TestClient]:  # fmt: skip
    app = init_app(store, catalog, base_url=BASE)
    make_channel(manager, phrases).add_routes(app)
    await queue.start()
    try:
        async with TestClient(TestServer(app)) as client:
            yield client
    finally:
        await queue.stop()


async def test_the_web_socket_answers_a_lone_surrogate_and_stays_open(
    client: TestClient, manager: DialogManager
) -> None:
    page, summary = await open_page(client, language="en")
    await page.say("4")
    replies = await page.say(SURROGATE_TITLE)
    assert "What should the quiz be about?" in replies[-1]["text"]
    await page.send(type="ping")
    await page.next("pong")
    session = await manager.session(summary["key"])
    assert session is not None and session.answers["quiz_title"] == CLEANED_TITLE


async def test_a_telegram_message_with_a_lone_surrogate_is_answered(
    manager: DialogManager, phrases: Phrases, store: SQLiteStore
) -> None:
    async with FakeBotApi(token=TOKEN) as api, polling(make_bot(api, manager, phrases, store)):
        user = User(api, 21)
        await user.say("/start")
        await user.say("4")
        answered = await user.say(SURROGATE_TITLE)
        assert "What should the quiz be about?" in answered.plain_text
    session = await manager.session("telegram:21")
    assert session is not None and session.answers["quiz_title"] == CLEANED_TITLE


@pytest.mark.slow  # the console in a subprocess
def test_the_console_answers_a_latin_1_line_and_exits_cleanly(tmp_path: Path) -> None:
    script = b"4\n" + "Café night\n".encode("latin-1")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "console", "--lang", "en"],
        input=script, capture_output=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert "What should the quiz be about?" in result.stdout.decode("utf-8")
