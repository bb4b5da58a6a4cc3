"""The web chat's websocket, driven by a real client over a real socket against a real store.

What a page (or a misbehaving client) sends, and what a user would notice: replies in their
language, the session kept across reconnects and devices, and bad messages answered with a
sentence while the session stays exactly as it was.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.server import init_app
from assistant.speech import audio
from assistant.speech.vad import WebRtcVad
from assistant.store.sqlite import SQLiteStore
from channels.web.channel import WebChannel
from channels.web.connection import TAIL_SECONDS
from testing.speech_audio import speak_en
from tests.raced_store import RacedStore

BASE = "http://kiosk.local:8080"
QUIZ = ["4", "Animal quiz", "1", "5", "yes"]  # quiz_game: title, topic, count, show answer


class Clock:
    """A monotonic clock the test moves by hand: time-based rules without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_channel(manager: DialogManager, phrases: Phrases, **kwargs: Any) -> WebChannel:
    return WebChannel(
        manager,
        phrases,
        default_language="en",
        base_url=BASE,
        poll_interval=0.05,
        page_poll_interval=0.05,
        **kwargs,
    )


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


class Page:
    """A websocket client that keeps every message and waits for the kinds it needs."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.seen: list[dict[str, Any]] = []

    async def send(self, **message: Any) -> None:
        await self.socket.send_json(message)

    async def next(self, kind: str, wait: float = 30.0) -> dict[str, Any]:
        """The next message of ``kind`` (others are kept in ``seen``)."""
        async with asyncio.timeout(wait):
            while True:
                received = await self.socket.receive()
                assert received.type == WSMsgType.TEXT, f"socket ended: {received}"
                message = json.loads(received.data)
                self.seen.append(message)
                if message["type"] == kind:
                    return message

    async def replies(self, wait: float = 30.0) -> list[dict[str, Any]]:
        return (await self.next("replies", wait))["replies"]

    async def say(self, text: str) -> list[dict[str, Any]]:
        await self.send(type="say", text=text)
        return await self.replies()


async def open_page(client: TestClient, **hello: Any) -> tuple[Page, dict[str, Any]]:
    page = Page(await client.ws_connect("/ws"))
    await page.send(type="hello", **hello)
    summary = await page.next("session")
    await page.replies()
    return page, summary


async def test_hello_starts_a_session_with_a_key_a_code_and_the_menu(
    client: TestClient, catalog: JobCatalog
) -> None:
    page = Page(await client.ws_connect("/ws"))
    await page.send(type="hello", language="en")
    summary = await page.next("session")
    assert summary["key"].startswith("web:") and len(summary["key"]) == 28
    assert len(summary["code"]) == 6
    assert summary["resume_url"] == f"{BASE}/?code={summary['code']}"
    replies = await page.replies()
    assert [r["kind"] for r in replies] == ["welcome", "menu"]
    assert len(replies[-1]["choices"]) == len(catalog.ordered())  # every job


async def test_a_job_by_typing_and_buttons_reaches_delivery_with_working_links(
    client: TestClient, manager: DialogManager
) -> None:
    page, summary = await open_page(client, language="en")
    for text in QUIZ:
        replies = await page.say(text)
    assert replies[-1]["kind"] == "confirm"
    # Confirm offers "make it" and one change button per question, by number.
    assert [c["number"] for c in replies[-1]["choices"]] == [0, 1, 2, 3, 4]
    await page.say(replies[-1]["choices"][0]["label"])
    delivered = await page.replies(wait=30)
    delivery = next(r for r in delivered if r["kind"] == "delivery")
    links = {link["kind"]: link["url"] for link in delivery["links"]}
    for kind in ("preview", "download", "qr"):
        response = await client.get(URL(links[kind]).path)
        assert response.status == 200, (kind, links[kind])
    session = await manager.session(summary["key"])
    assert session is not None and session.answers["quiz_title"] == "Animal quiz"


async def test_bad_messages_get_a_sentence_each_and_change_nothing(
    client: TestClient, manager: DialogManager
) -> None:
    page, summary = await open_page(client, language="en")
    await page.say("4")
    before = await manager.session(summary["key"])
    assert before is not None
    sent = [
        ("not json at all {", "bad_json"),
        (json.dumps(["a", "list"]), "bad_json"),
        (json.dumps({"type": "launch_rockets"}), "unknown_type"),
        (json.dumps({"type": "say", "text": 42}), "bad_field"),
        (json.dumps({"type": "preferences", "values": {"theme": "neon"}}), "bad_field"),
        (json.dumps({"type": "preferences", "values": {"silence": 99}}), "bad_field"),
        (json.dumps({"type": "command", "name": "rm -rf"}), "bad_field"),
        (json.dumps({"type": "say", "text": "x" * (1024 * 1024)}), "too_large"),
    ]
    for frame, code in sent:
        await page.socket.send_str(frame)
        error = await page.next("error")
        assert error["code"] == code, frame[:40]
        assert error["message"] and "{" not in error["message"], error
    await page.socket.send_bytes(b"\x00\x01" * 480)
    error = await page.next("error")
    assert error["code"] == "binary_unexpected"
    assert "Talk" in error["message"]
    await page.send(type="ping")
    await page.next("pong")  # the connection is still there
    after = await manager.session(summary["key"])
    assert after is not None
    assert (after.state, after.index, after.answers, after.preferences) == (
        before.state,
        before.index,
        before.answers,
        before.preferences,
    )
    assert after.revision == before.revision


async def test_a_burst_of_100_messages_is_answered_and_the_rest_refused_in_words(
    client: TestClient, manager: DialogManager
) -> None:
    page, summary = await open_page(client, language="en")
    await page.say("4")
    before = await manager.session(summary["key"])
    for _ in range(100):
        await page.send(type="command", name="repeat")
    answered = refused = 0
    async with asyncio.timeout(20):
        while answered + refused < 100:
            received = json.loads((await page.socket.receive()).data)
            if received["type"] == "replies":
                answered += 1
                assert received["replies"][-1]["question_id"] == "quiz_title"
            elif received["type"] == "error":
                assert received["code"] == "busy", received
                refused += 1
    assert answered >= 20 and refused >= 1, (answered, refused)
    await page.send(type="ping")
    await page.next("pong")
    after = await manager.session(summary["key"])
    assert after is not None and before is not None
    assert (after.state, after.index, after.answers) == (before.state, before.index, before.answers)


async def test_a_flood_of_stray_audio_is_answered_each_time_then_closed_with_the_reason(
    client: TestClient, manager: DialogManager
) -> None:
    """Binary frames with the microphone off: every one gets a sentence (what it is, then
    "too many"), and a client that keeps on is closed with code 1008 and the reason in the
    session's language; the session is unchanged and a new connection carries on."""
    page, summary = await open_page(client, language="ja")
    await page.say("4")
    before = await manager.session(summary["key"])
    frames = 300
    for _ in range(frames):
        await page.socket.send_bytes(b"\0" * 960)
    codes: list[str] = []
    async with asyncio.timeout(20):
        while True:
            received = await page.socket.receive()
            if received.type != WSMsgType.TEXT:
                break
            codes.append(json.loads(received.data)["code"])
    assert received.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED), received
    assert page.socket.close_code == 1008
    flooded = "届いたデータが多すぎるため、接続を切りました。ページがつなぎ直します。"
    assert received.extra == flooded
    assert codes[0] == "binary_unexpected" and codes[-1] == "flooded", codes[:3]
    assert set(codes[:-1]) == {"binary_unexpected", "busy"}
    assert len(codes) < frames, "closed before every frame was read"
    # Nothing was dropped without a word: each frame read before the close was answered.
    assert codes.count("busy") == 99
    after = await manager.session(summary["key"])
    assert after is not None and before is not None
    assert (after.state, after.index, after.answers) == (before.state, before.index, before.answers)
    again, _ = await open_page(client, session=summary["key"])
    assert (await again.say("Animal quiz"))[-1]["question_id"] == "topic"


async def test_a_page_follows_its_session_when_another_process_moves_it_on(
    client: TestClient, channel: WebChannel, catalog: JobCatalog, phrases: Phrases, tmp_path: Path
) -> None:
    """``assistant console --resume`` (or Telegram, or another server) is another process:
    its own store on the same database file, its own dialog manager. The open page shows
    its answer and the next question, once, without reloading."""
    page, summary = await open_page(client, language="en")
    await page.say("4")
    elsewhere = SQLiteStore(tmp_path / "assistant.db")
    await elsewhere.open()
    try:
        console = DialogManager(jobs=catalog, phrases=phrases, store=elsewhere)
        await console.handle(
            Turn(session_key=summary["key"], text="Animal quiz", channel="console")
        )
        shown = await page.next("session")
        assert shown["state"] == "ask"
        replies = await page.replies()
        assert replies[-1]["question_id"] == "topic"
        # The page answers the next question itself; its own turn is not shown twice.
        assert (await page.say("2"))[-1]["question_id"] == "question_count"
        # Two whole passes of the poller end after the page's own turn (the first may have
        # begun before it): had it shown the turn again, it would be on the socket by now.
        await channel.hub.page_poll()
        await channel.hub.page_poll()
        await page.send(type="ping")
        await page.next("pong")
        assert [m["type"] for m in page.seen].count("replies") == 4, page.seen
    finally:
        await elsewhere.close()


async def test_a_turn_overtaken_by_another_process_is_answered_and_the_socket_stays(
    catalog: JobCatalog, phrases: Phrases, tmp_path: Path
) -> None:
    """Two processes write one session (the console and the server): the turn that loses
    gets one sentence in the user's language, and the page carries on."""
    here, elsewhere = RacedStore(tmp_path / "shared.db"), SQLiteStore(tmp_path / "shared.db")
    await here.open()
    await elsewhere.open()
    try:
        manager = DialogManager(jobs=catalog, phrases=phrases, store=here, default_language="en")
        app = init_app(here, catalog, base_url=BASE)
        make_channel(manager, phrases).add_routes(app)
        async with TestClient(TestServer(app)) as client:
            page, summary = await open_page(client, language="ja")
            console = DialogManager(jobs=catalog, phrases=phrases, store=elsewhere)
            turn = Turn(session_key=summary["key"], text="4", channel="console")
            here.before_commit = lambda: console.handle(turn)
            await page.send(type="say", text="3")
            error = await page.next("error")
            assert error["code"] == "session_conflict"
            assert error["message"] == phrases.say("ja", "session_conflict")
            # The socket is open and the session goes on where the other process left it.
            await page.send(type="say", text="どうぶつクイズ")
            async with asyncio.timeout(10):
                while (await page.replies())[-1].get("question_id") != "topic":
                    pass
    finally:
        await here.close()
        await elsewhere.close()


async def test_saying_stop_tells_every_page_of_the_session_to_stop_speaking(
    client: TestClient,
) -> None:
    page, summary = await open_page(client, language="en")
    other, _ = await open_page(client, session=summary["key"])
    await page.send(type="say", text="stop")
    assert (await page.next("stop_speech"))["type"] == "stop_speech"
    assert (await other.next("stop_speech"))["type"] == "stop_speech"
    assert [r.get("stop") for r in await other.replies()] == [True], "the page reads the flag"
    await page.send(type="command", name="stop")
    await page.next("stop_speech")
    await page.send(type="say", text="4")  # anything else: no stop
    assert [r.get("stop") for r in await page.replies()] == [True], "the pressed stop"
    assert not any(r.get("stop") for r in await page.replies()), "the answer is no stop"
    assert [m["type"] for m in page.seen].count("stop_speech") == 2


async def test_a_reconnect_with_the_key_carries_on_at_the_same_question(client: TestClient) -> None:
    page, summary = await open_page(client, language="en")
    await page.say("4")
    await page.say("Animal quiz")
    await page.socket.close()
    again = Page(await client.ws_connect("/ws"))
    await again.send(type="hello", session=summary["key"])
    assert (await again.next("session"))["code"] == summary["code"]
    replies = await again.replies()
    assert replies[0]["kind"] == "info"  # welcome back
    assert replies[-1]["question_id"] == "topic"


async def test_a_second_device_continues_by_code_and_both_see_each_turn(client: TestClient) -> None:
    phone_code = None
    page, summary = await open_page(client, language="en")
    await page.say("4")
    phone = Page(await client.ws_connect("/ws"))
    await phone.send(type="hello", code=summary["code"].lower())
    joined = await phone.next("session")
    phone_code = joined["code"]
    assert joined["key"] == summary["key"]
    assert (await phone.replies())[-1]["question_id"] == "quiz_title"
    await phone.send(type="say", text="Animal quiz")
    on_phone = await phone.replies()
    on_page = await page.replies()
    assert on_phone == on_page and on_page[-1]["question_id"] == "topic"
    assert phone_code == summary["code"]


async def test_an_unknown_code_is_answered_in_words_and_a_fresh_session_starts(
    client: TestClient,
) -> None:
    page = Page(await client.ws_connect("/ws"))
    await page.send(type="hello", code="ZZZZZZ", language="en")
    error = await page.next("error")
    assert error["code"] == "no_code" and "ZZZZZZ" in error["message"]
    assert (await page.next("session"))["key"].startswith("web:")
    await page.send(type="resume", code="ABC")
    assert (await page.next("error"))["code"] == "no_code"


async def test_preferences_are_kept_with_the_session(
    client: TestClient, manager: DialogManager
) -> None:
    page, summary = await open_page(client, language="en")
    values = {"theme": "contrast", "text_size": 1.5, "scan": True, "silence": 2.0}
    await page.send(type="preferences", values=values)
    shown = await page.next("session")
    assert shown["preferences"] == values
    session = await manager.session(summary["key"])
    assert session is not None and session.preferences == values
    await page.socket.close()
    _, again = await open_page(client, session=summary["key"])
    assert again["preferences"] == values


async def test_the_hold_time_is_a_checked_preference(client: TestClient) -> None:
    page, summary = await open_page(client, language="en")
    await page.send(type="preferences", values={"hold_time": 1.2})
    assert (await page.next("session"))["preferences"]["hold_time"] == 1.2
    for wrong in (0.1, 10, "long", True):
        await page.send(type="preferences", values={"hold_time": wrong})
        error = await page.next("error")
        assert error["message"] == "That message had a missing or wrong value: hold_time."


async def test_buttons_send_commands_that_work_in_any_language(client: TestClient) -> None:
    page, _ = await open_page(client, language="en")
    await page.say("4")
    await page.send(type="command", name="switch_language", argument="ja")
    replies = await page.replies()
    assert {r["language"] for r in replies} == {"ja"}
    assert (await page.next("session"))["language"] == "ja"
    await page.send(type="command", name="back")
    assert (await page.replies())[-1]["kind"] == "menu"


async def test_the_kiosk_screen_mirrors_the_kiosk_session_and_is_read_only(
    client: TestClient, manager: DialogManager
) -> None:
    screen = Page(await client.ws_connect("/ws"))
    await screen.send(type="hello", kiosk="local", language="en")
    assert (await screen.next("watching"))["session"] == "kiosk:local"
    await manager.resume("kiosk:local", "kiosk", "en")  # the kiosk process greets someone
    assert (await screen.next("session"))["state"] == "choose_job"
    assert (await screen.replies())[-1]["kind"] == "menu"
    await manager.handle(Turn(session_key="kiosk:local", text="number four", channel="kiosk"))
    assert (await screen.replies())[-1]["question_id"] == "quiz_title"
    await screen.send(type="say", text="5")
    assert (await screen.next("notice"))["code"] == "watch_only"
    session = await manager.session("kiosk:local")
    assert session is not None and session.index == 0 and session.channel == "kiosk"


async def test_audio_without_a_recogniser_is_answered_with_one_sentence(
    client: TestClient,
) -> None:
    page, _ = await open_page(client, language="en")
    await page.send(type="audio_start", mode="once")
    notice = await page.next("notice")
    assert notice["code"] == "no_recognizer"
    assert notice["message"].startswith("Speech recognition for English is not installed")
    assert (await page.next("listening"))["active"] is False
    assert not [m for m in page.seen if m["type"] == "error"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def voice_client(
    store: SQLiteStore, catalog: JobCatalog, manager: DialogManager, phrases: Phrases, clock: Clock
) -> AsyncIterator[TestClient]:
    from assistant.speech.engines.pocketsphinx import PocketSphinxRecognizer
    from assistant.speech.synthesis import default_synthesis
    from assistant.speech.voice_kit import VOICES_DIR

    sphinx = PocketSphinxRecognizer()
    synthesis = default_synthesis(VOICES_DIR)
    app = init_app(store, catalog, base_url=BASE)
    make_channel(
        manager,
        phrases,
        recognizer_for=lambda language: sphinx if sphinx.supports(language) else None,
        vad_factory=WebRtcVad,
        synthesize=synthesis.synthesize,
        clock=clock,
    ).add_routes(app)
    async with TestClient(TestServer(app)) as client:
        yield client


async def _stream(page: Page, pcm: bytes, chunk: int = 1920) -> None:
    """Audio as a page sends it: a few frames per message, in real order, in real time (at
    most a second ahead: the server refuses audio faster than that past a small burst)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    for start in range(0, len(pcm), chunk):
        await asyncio.sleep(max(0.0, started + start / 32_000 - 1.0 - loop.time()))
        await page.socket.send_bytes(pcm[start : start + chunk])


@pytest.mark.slow
async def test_spoken_answers_over_the_socket_are_recognised_with_the_question_grammar(
    voice_client: TestClient, manager: DialogManager, clock: Clock
) -> None:
    page, summary = await open_page(voice_client, language="en")
    await page.send(type="audio_start", mode="once")
    assert (await page.next("listening"))["active"] is True
    # Odd chunk sizes: websocket messages need not line up with 30 ms frames.
    speech = audio.silence(0.5) + speak_en("number four") + audio.silence(1.5)
    await _stream(page, speech, chunk=1234)
    assert (await page.next("listening"))["active"] is False  # "once": one utterance
    heard = await page.next("heard", wait=20)
    assert heard["text"] == "number four" and heard["say"] == "You said: number four"
    assert (await page.replies())[-1]["question_id"] == "quiz_title"
    session = await manager.session(summary["key"])
    assert session is not None and session.job_id == "quiz_game"
    # The silence streamed after the answer arrived after listening ended: the stream's own
    # tail, not answered with "the microphone is off".
    await page.send(type="ping")
    await page.next("pong")
    assert not [m for m in page.seen if m["type"] == "error"], page.seen
    clock.now += TAIL_SECONDS + 0.1  # later audio is a mistake again, and said so
    await page.socket.send_bytes(b"\0" * 960)
    assert (await page.next("error"))["code"] == "binary_unexpected"


@pytest.mark.slow
async def test_hands_free_listening_takes_several_answers_and_stop_flushes(
    voice_client: TestClient, manager: DialogManager
) -> None:
    page, summary = await open_page(voice_client, language="en")
    await page.send(type="preferences", values={"silence": 0.5})
    await page.next("session")
    await page.send(type="audio_start", mode="hands_free")
    await page.next("listening")
    await _stream(page, audio.silence(0.3) + speak_en("four") + audio.silence(0.9))
    assert (await page.next("heard", wait=20))["text"] == "four"
    await page.replies()
    await page.say("Animal quiz")  # free text is typed; the topic is spoken
    await _stream(page, audio.silence(0.3) + speak_en("animals"))
    await page.send(type="audio_end")  # pressed stop right after speaking
    assert (await page.next("heard", wait=20))["text"] == "animals"
    assert (await page.replies())[-1]["question_id"] == "question_count"
    session = await manager.session(summary["key"])
    assert session is not None and session.answers["topic"] == "animals"


@pytest.mark.slow
async def test_replies_are_read_aloud_when_the_user_asks(voice_client: TestClient) -> None:
    page, _ = await open_page(voice_client, language="en")
    await page.send(type="preferences", values={"voice": True})
    await page.next("session")
    await page.send(type="command", name="repeat")
    await page.replies()
    speech = await page.next("speech", wait=30)
    wav = base64.b64decode(speech["audio"])
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert len(wav) > 16000 * 2  # more than a second of speech for the menu
