"""Pages follow their session across two instances by Redis pub/sub (issue 17): a turn taken
on instance A reaches the page open on instance B at once, with B's poller set to an hour, so
nothing but the published change can have brought it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from assistant.cluster.redis_changes import RedisSessionChanges
from assistant.cluster.redis_locks import RedisSessionLocks
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.server import init_app
from assistant.store.sqlite import SQLiteStore
from channels.web.channel import WebChannel
from testing.redis_server import redis_server
from tests.test_web_socket import BASE, open_page

HOUR = 3600.0


class Instance:
    """One ``assistant serve``'s dialog side: its own store, Redis client and manager."""

    def __init__(self, path: Path, url: str, catalog: JobCatalog, phrases: Phrases) -> None:
        self.store = SQLiteStore(path)
        self.redis = Redis.from_url(url)
        self.changes = RedisSessionChanges(self.redis)
        self.manager = DialogManager(
            jobs=catalog, phrases=phrases, store=self.store, default_language="en",
            locks=RedisSessionLocks(self.redis), changes=self.changes,
        )  # fmt: skip

    async def start(self) -> None:
        await self.store.open()
        await self.changes.start()

    async def stop(self) -> None:
        await self.changes.stop()
        await self.redis.aclose()
        await self.store.close()


@pytest.fixture
async def instances(
    tmp_path: Path, catalog: JobCatalog, phrases: Phrases
) -> AsyncIterator[tuple[Instance, Instance]]:
    async with redis_server() as url:
        a = Instance(tmp_path / "shared.db", url, catalog, phrases)
        b = Instance(tmp_path / "shared.db", url, catalog, phrases)
        await a.start()
        await b.start()
        try:
            yield a, b
        finally:
            await a.stop()
            await b.stop()


@pytest.fixture
async def page_client(
    instances: tuple[Instance, Instance], catalog: JobCatalog, phrases: Phrases
) -> AsyncIterator[tuple[TestClient, WebChannel]]:
    b = instances[1]
    channel = WebChannel(
        b.manager, phrases, default_language="en", base_url=BASE,
        poll_interval=HOUR, page_poll_interval=HOUR,
    )  # fmt: skip
    app = init_app(b.store, catalog, base_url=BASE)
    channel.add_routes(app)
    async with TestClient(TestServer(app)) as client:
        yield client, channel


async def test_a_page_on_b_shows_a_turn_taken_on_a_without_polling(
    instances: tuple[Instance, Instance], page_client: tuple[TestClient, WebChannel]
) -> None:
    a, _ = instances
    client, channel = page_client
    page, summary = await open_page(client, language="en")
    await page.say("4")
    assert channel.hub._page_poller is None  # noqa: SLF001 - no poller was ever started
    await a.manager.handle(Turn(session_key=summary["key"], text="Animal quiz", channel="web"))
    shown = await page.next("session")
    assert shown["state"] == "ask"
    assert (await page.replies())[-1]["question_id"] == "topic"
    # The page's own turn on B is published too; B's hub does not show it twice. A's next
    # change comes after it on the one subscription, so once it is here, any repeat would be.
    assert (await page.say("2"))[-1]["question_id"] == "question_count"
    await a.manager.handle(Turn(session_key=summary["key"], text="5", channel="web"))
    assert (await page.replies())[-1]["question_id"] == "show_answer"
    assert [m["type"] for m in page.seen].count("replies") == 5, page.seen


async def test_a_session_ended_on_a_is_told_on_b(
    instances: tuple[Instance, Instance], page_client: tuple[TestClient, WebChannel]
) -> None:
    a, _ = instances
    client, _ = page_client
    page, summary = await open_page(client, language="ja")
    assert await a.manager.end(summary["key"], "kiosk")
    notice = await page.next("notice")
    assert notice["code"] == "session_ended" and "終" in notice["message"]


async def test_words_no_turn_asked_for_on_b_reach_b_s_page_once(
    instances: tuple[Instance, Instance], page_client: tuple[TestClient, WebChannel]
) -> None:
    """Staff's words (as a delivery) are committed on B, then handed to B's page by B's own
    listener; B hears its own commit on the subscription too, and must not show it again."""
    a, b = instances
    client, _ = page_client
    page, summary = await open_page(client, language="en")
    for number in range(5):
        await b.manager.tell(summary["key"], lambda language, n=number: f"Staff note {n}")
        assert (await page.replies())[-1]["text"] == f"Staff note {number}"
    # A change on A comes after B's own on the one subscription: a repeat would be here first.
    await a.manager.handle(Turn(session_key=summary["key"], text="4", channel="web"))
    replies = await page.replies()
    assert replies[-1]["question_id"] == "quiz_title", replies


async def test_a_change_made_while_b_s_subscription_was_away_is_shown_when_it_is_back(
    instances: tuple[Instance, Instance], page_client: tuple[TestClient, WebChannel]
) -> None:
    a, b = instances
    client, _ = page_client
    page, summary = await open_page(client, language="en")
    resynced = asyncio.Event()

    async def note_resync() -> None:
        resynced.set()

    b.changes.listen_resync(note_resync)
    # Redis drops B's subscription (a restart, a network cut): A's turn is published to
    # nobody, and B hears of it only by reading its pages' sessions once it is back.
    killed = await a.redis.client_kill_filter(_type="pubsub")
    assert killed >= 2  # A's and B's subscriptions
    assert await a.redis.publish("session:nobody", "1") == 0
    await a.manager.handle(Turn(session_key=summary["key"], text="4", channel="web"))
    assert (await page.replies())[-1]["question_id"] == "quiz_title"
    assert resynced.is_set()
