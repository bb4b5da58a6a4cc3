"""One kiosk, one person after another: nobody's answers or code reach the next person.

The kiosk (and the console) is a seat; each person who sits down gets a session of their own
with a code of their own. A phone that continued a person's session by its code is told when
that session ends and never follows the kiosk into the next person's; the kiosk screen is
shown only to the kiosk's own screen.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.dialog.manager import DialogManager
from assistant.dialog.seat import Seat
from assistant.events import SessionState, Turn, TurnEvent
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.server import init_app
from assistant.store.sqlite import SQLiteStore
from channels.console import ConsoleChannel
from channels.web.channel import WebChannel
from testing.network import lan_address
from tests.conftest import FIXED_NOW
from tests.test_web_socket import BASE, QUIZ, Page, make_channel, open_page


@pytest.fixture
def channel(manager: DialogManager, phrases: Phrases) -> WebChannel:
    return make_channel(manager, phrases)


@pytest.fixture
async def client(
    store: SQLiteStore, catalog: JobCatalog, channel: WebChannel, queue: GenerationQueue
) -> AsyncIterator[TestClient]:
    app = init_app(store, catalog, base_url=BASE)
    channel.add_routes(app)
    await queue.start()
    try:
        async with TestClient(TestServer(app)) as client:
            yield client
    finally:
        await queue.stop()


def kiosk_turn(text: str) -> Turn:
    return Turn(session_key="kiosk:local", text=text, channel="kiosk")


async def test_the_next_person_at_the_kiosk_gets_a_new_session_and_the_phone_stays_out(
    client: TestClient, channel: WebChannel, manager: DialogManager, store: SQLiteStore
) -> None:
    """The issue's story: A continues the kiosk session on a phone and finishes there; B
    starts at the kiosk and must get a new code, and A's phone must neither show B's answers
    nor write into B's session."""
    kiosk = Seat(manager, "kiosk:local")
    await kiosk.resume("kiosk", "en")  # A at the kiosk
    a_key = kiosk.key
    a_session = await manager.session(a_key)
    assert a_session is not None
    phone, summary = await open_page(client, code=a_session.code)  # A takes it home
    assert summary["code"] == a_session.code
    for text in QUIZ:
        replies = await phone.say(text)
    await phone.say(replies[-1]["choices"][0]["label"])  # make it
    delivered = await phone.replies(wait=30)
    assert delivered[-1]["state"] == "delivered"
    assert (await phone.say("finish"))[-1]["kind"] == "goodbye"
    assert (await phone.next("notice"))["code"] == "session_ended"

    b_replies = await kiosk.handle(kiosk_turn("hello"))  # B walks up to the kiosk
    assert [r.kind.value for r in b_replies] == ["welcome", "menu"]
    assert kiosk.key != a_key
    b_session = await manager.session(kiosk.key)
    assert b_session is not None and b_session.code != a_session.code
    assert await store.find_by_code(a_session.code) is None  # A's code expired with A's end
    assert (await store.find_by_code(b_session.code)) is not None
    await kiosk.handle(kiosk_turn("4"))  # B chooses the quiz
    await kiosk.handle(kiosk_turn("Bakery secrets"))  # and gives B's own answer

    await channel.hub.page_poll()
    await channel.hub.page_poll()
    shown = " ".join(str(message) for message in phone.seen)
    assert "Bakery secrets" not in shown and b_session.code not in shown
    await phone.say("1")  # A's phone types on: it restarts A's own old session, not B's
    b_after = await manager.session(kiosk.key)
    assert b_after is not None and b_after.answers == {"quiz_title": "Bakery secrets"}
    assert b_after.revision == 3


async def test_a_page_is_told_when_its_session_ends_at_the_kiosk(
    client: TestClient, channel: WebChannel, manager: DialogManager
) -> None:
    """A phone watching a person's session while the next person takes the seat hears, in
    words, that the session ended, and sees nothing of the new one."""
    kiosk = Seat(manager, "kiosk:local")
    await kiosk.resume("kiosk", "en")
    session = await manager.session(kiosk.key)
    assert session is not None
    phone, _ = await open_page(client, code=session.code)
    await kiosk.handle(kiosk_turn("start over"))  # at the menu: a new person starts
    notice = await phone.next("notice")
    assert notice["code"] == "session_ended" and "ended" in notice["message"]
    assert (await manager.session(session.key)).state == SessionState.ENDED  # type: ignore[union-attr]
    await kiosk.handle(kiosk_turn("4"))
    await channel.hub.page_poll()
    await channel.hub.page_poll()
    await phone.send(type="ping")
    await phone.next("pong")
    assert [m["type"] for m in phone.seen].count("replies") == 1, phone.seen  # its greeting
    assert "quiz_title" not in str(phone.seen)


async def test_start_over_at_the_menu_and_a_voice_after_a_long_pause_seat_a_new_person(
    manager: DialogManager,
) -> None:
    kiosk = Seat(manager, "kiosk:local")
    await kiosk.resume("kiosk", "en")
    first = kiosk.key
    await kiosk.handle(kiosk_turn("4"))
    # "Start over" inside a job starts the job again for the same person.
    await kiosk.handle(kiosk_turn("start over"))
    assert kiosk.key == first
    await kiosk.handle(kiosk_turn("cancel"))  # back at the menu
    await kiosk.handle(kiosk_turn("start over"))
    second = kiosk.key
    assert second != first
    await kiosk.handle(kiosk_turn("4"))
    # A long silence pauses the session; "continue" brings the same person back.
    await kiosk.handle(
        Turn(session_key="kiosk:local", channel="kiosk", event=TurnEvent.LONG_SILENCE)
    )
    replies = await kiosk.handle(kiosk_turn("continue"))
    assert kiosk.key == second and replies[-1].kind.value == "question"
    # Anyone else speaking after a long silence is a new person with a new code.
    await kiosk.handle(
        Turn(session_key="kiosk:local", channel="kiosk", event=TurnEvent.LONG_SILENCE)
    )
    replies = await kiosk.handle(kiosk_turn("hello"))
    assert kiosk.key not in (first, second)
    assert [r.kind.value for r in replies] == ["welcome", "menu"]
    old = await manager.session(second)
    assert old is not None and old.state == SessionState.ENDED and old.answers == {}
    codes = {(await manager.session(key)).code for key in (first, second, kiosk.key)}  # type: ignore[union-attr]
    assert len(codes) == 3


async def test_a_restarted_kiosk_carries_on_with_the_current_person(
    manager: DialogManager,
) -> None:
    """A crash must never lose the answers of the person at the kiosk: a new kiosk process
    (a new ``Seat`` on the same database) resumes their session, not the one before."""
    kiosk = Seat(manager, "kiosk:local")
    await kiosk.resume("kiosk", "en")
    await kiosk.handle(kiosk_turn("cancel"))  # the first person leaves
    await kiosk.handle(kiosk_turn("hello"))
    await kiosk.handle(kiosk_turn("4"))
    await kiosk.handle(kiosk_turn("Cats"))
    restarted = Seat(manager, "kiosk:local")
    replies = await restarted.resume("kiosk", "en")
    assert restarted.key == kiosk.key
    assert replies[0].kind.value == "info"  # welcome back, at the same question
    session = await manager.session(restarted.key)
    assert session is not None and session.answers == {"quiz_title": "Cats"}


async def test_the_next_person_at_the_console_gets_a_new_session_and_code(
    manager: DialogManager,
) -> None:
    def console(lines: str, output: io.StringIO, **kwargs: object) -> ConsoleChannel:
        stream = io.StringIO(lines)
        return ConsoleChannel(
            manager, session_key="console:local", language="en", input_stream=stream,
            output=output, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip

    await console("cancel\n", io.StringIO()).run()  # the first person leaves at the menu
    first = await manager.session("console:local")
    assert first is not None and first.state == SessionState.ENDED
    shown = io.StringIO()
    second = console("4\n", shown)
    await second.run()
    assert second.session_key != "console:local"
    session = await manager.session(second.session_key)
    assert session is not None and session.code != first.code and session.job_id is not None
    assert "Welcome back" not in shown.getvalue()


async def test_codes_expire_after_the_configured_time_since_last_use(
    tmp_path: Path, catalog: JobCatalog, phrases: Phrases
) -> None:
    now = [FIXED_NOW]
    store = SQLiteStore(tmp_path / "a.db", code_lifetime=3 * 3600, clock=lambda: now[0])
    await store.open()
    try:
        manager = DialogManager(jobs=catalog, phrases=phrases, store=store, clock=lambda: now[0])
        await manager.resume("web:x", "web", "en")
        session = await manager.session("web:x")
        assert session is not None
        now[0] += 2 * 3600
        assert (await store.find_by_code(session.code.lower())) is not None
        now[0] += 2 * 3600
        assert await store.find_by_code(session.code) is None
        store.code_lifetime = None  # 0 hours in the settings: codes never expire
        assert await store.find_by_code(session.code) is not None
    finally:
        await store.close()


@pytest.fixture
async def network_client(
    store: SQLiteStore,
    catalog: JobCatalog,
    manager: DialogManager,
    phrases: Phrases,
    queue: GenerationQueue,
) -> AsyncIterator[TestClient]:
    """The server on the machine's network address, reached from that address."""
    address = lan_address()
    app = init_app(store, catalog, base_url=BASE)
    make_channel(manager, phrases, kiosk_screen_token="s3cret-token").add_routes(app)
    async with TestClient(TestServer(app, host=address)) as client:
        yield client


async def test_the_kiosk_screen_is_refused_to_the_network_without_the_token(
    network_client: TestClient, manager: DialogManager
) -> None:
    kiosk = Seat(manager, "kiosk:local")
    await kiosk.resume("kiosk", "en")
    session = await manager.session(kiosk.key)
    assert session is not None
    stranger = Page(await network_client.ws_connect("/ws"))
    for token in (None, "wrong", "s3cret-tokeN"):
        hello = {"type": "hello", "kiosk": "local", "language": "en"}
        if token is not None:
            hello["token"] = token
        await stranger.send(**hello)
        error = await stranger.next("error")
        assert error["code"] == "kiosk_screen_refused"
    assert session.code not in str(stranger.seen)
    assert not [m for m in stranger.seen if m["type"] in ("session", "replies", "watching")]
    screen = Page(await network_client.ws_connect("/ws"))
    await screen.send(type="hello", kiosk="local", language="en", token="s3cret-token")
    await screen.next("watching")
    assert (await screen.next("session"))["code"] == session.code


async def test_a_forwarded_request_from_loopback_is_not_the_kiosk_machine(
    client: TestClient, manager: DialogManager
) -> None:
    """Behind a reverse proxy on the kiosk machine every client connects from 127.0.0.1: a
    request the proxy forwarded is not the kiosk's own screen."""
    await Seat(manager, "kiosk:local").resume("kiosk", "en")
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        stranger = Page(await client.ws_connect("/ws", headers={header: "127.0.0.1"}))
        await stranger.send(type="hello", kiosk="local", language="en")
        assert (await stranger.next("error"))["code"] == "kiosk_screen_refused"
        await stranger.socket.close()


async def test_the_kiosk_page_carries_its_token_to_the_socket(network_client: TestClient) -> None:
    page = await network_client.get("/?kiosk=1&token=s3cret-token")
    assert '"kiosk_token": "s3cret-token"' in await page.text()


async def test_the_kiosk_screen_follows_the_seat_to_each_new_person(
    client: TestClient, manager: DialogManager
) -> None:
    kiosk = Seat(manager, "kiosk:local")
    await kiosk.resume("kiosk", "en")
    first = await manager.session(kiosk.key)
    assert first is not None
    screen = Page(await client.ws_connect("/ws"))
    await screen.send(type="hello", kiosk="local", language="en")
    await screen.next("watching")
    assert (await screen.next("session"))["code"] == first.code
    await kiosk.handle(kiosk_turn("cancel"))
    await kiosk.handle(kiosk_turn("hello"))  # the next person
    second = await manager.session(kiosk.key)
    assert second is not None and second.code != first.code
    while (summary := await screen.next("session"))["code"] != second.code:
        assert summary["code"] == first.code
    assert (await screen.replies())[-1]["kind"] == "menu"
