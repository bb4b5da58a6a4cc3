"""The web chat's audio under abuse, over a real socket (issue 12, part B).

A page may stream audio at real time plus a small burst; faster audio is refused with one
sentence and counts against the message budget; an utterance is cut at its longest; when every
recogniser is busy the user is asked to say it again; an oversized frame and an ``audio_end``
with the microphone off are answered in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from assistant.dialog.manager import DialogManager
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.ports import Recognition
from assistant.server import init_app
from assistant.speech.recognition_pool import RecognitionPool
from assistant.store.sqlite import SQLiteStore
from tests.test_web_socket import BASE, Page, make_channel, open_page

SECOND = 32_000  # bytes of audio in one second


class MarkedVad:
    """Voice activity by the first byte of a frame: 1 is speech, anything else is quiet."""

    def is_speech(self, frame: bytes) -> bool:
        return frame[:1] == b"\x01"


def speech(seconds: float) -> bytes:
    return b"\x01" * int(seconds * SECOND)


def quiet(seconds: float) -> bytes:
    return b"\x00" * int(seconds * SECOND)


class _Stream:
    def __init__(self, owner: RecordingRecognizer) -> None:
        self.owner = owner
        self.audio = bytearray()

    def accept(self, pcm: bytes) -> str | None:
        self.audio += pcm
        return None

    def finish(self) -> Recognition:
        self.owner.started.set()
        self.owner.release.wait(20)
        self.owner.lengths.append(len(self.audio) / SECOND)
        return Recognition("four", 0.9, engine="recording")


class RecordingRecognizer:
    """Hears "four" in anything, notes each utterance's length, and can be held busy."""

    name = "recording"

    def __init__(self) -> None:
        self.lengths: list[float] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def supports(self, language: str) -> bool:
        return True

    def start(self, language: str, grammar: Sequence[str] | None = None) -> _Stream:
        return _Stream(self)


@pytest.fixture
def recognizer() -> RecordingRecognizer:
    return RecordingRecognizer()


def _app(
    store: SQLiteStore, catalog: JobCatalog, manager: DialogManager, phrases: Phrases, **kw: Any
) -> Any:
    app = init_app(store, catalog, base_url=BASE)
    make_channel(manager, phrases, vad_factory=MarkedVad, **kw).add_routes(app)
    return app


@pytest.fixture
async def audio_client(
    store: SQLiteStore,
    catalog: JobCatalog,
    manager: DialogManager,
    phrases: Phrases,
    recognizer: RecordingRecognizer,
) -> AsyncIterator[TestClient]:
    app = _app(
        store, catalog, manager, phrases,
        recognizer_for=lambda language: recognizer,
        max_utterance_s=5.0,
        recognition=RecognitionPool(workers=1, wait_s=0.3),
    )  # fmt: skip
    async with TestClient(TestServer(app)) as client:
        yield client


async def _listening(client: TestClient, mode: str = "hands_free") -> Page:
    page, _ = await open_page(client, language="en")
    await page.send(type="audio_start", mode=mode)
    assert (await page.next("listening"))["active"] is True
    return page


async def _messages_until_closed(page: Page, wait: float = 30.0) -> tuple[list[dict], Any]:
    seen: list[dict] = []
    async with asyncio.timeout(wait):
        while True:
            received = await page.socket.receive()
            if received.type != WSMsgType.TEXT:
                return seen, received
            seen.append(json.loads(received.data))


async def test_unpaced_audio_is_refused_in_one_sentence_then_closed_as_a_flood(
    audio_client: TestClient, recognizer: RecordingRecognizer
) -> None:
    """Quiet audio as fast as the socket takes it: the burst is heard, the rest refused with
    one sentence (not one per frame), and a client that goes on is closed with the reason."""
    page = await _listening(audio_client)
    frames = 600  # 60 ms each: 36 s of audio at once
    for _ in range(frames):
        await page.socket.send_bytes(quiet(0.06))
    seen, closed = await _messages_until_closed(page)
    errors = [m["code"] for m in seen if m["type"] == "error"]
    assert errors == ["audio_too_fast", "flooded"], errors
    too_fast = next(m for m in seen if m.get("code") == "audio_too_fast")
    assert too_fast["message"].startswith("Sound is arriving faster than anyone can speak")
    assert page.socket.close_code == 1008
    assert closed.extra.startswith("Too much data arrived")
    assert recognizer.lengths == []  # nothing of it reached the recogniser


@pytest.mark.slow
async def test_audio_at_real_time_is_heard_without_a_word_of_refusal(
    audio_client: TestClient, recognizer: RecordingRecognizer
) -> None:
    page = await _listening(audio_client, mode="once")
    pcm = quiet(0.3) + speech(1.0) + quiet(1.5)  # within the burst, then real time
    chunk = 1920
    loop = asyncio.get_running_loop()
    started = loop.time()
    for offset in range(0, len(pcm), chunk):
        await asyncio.sleep(max(0.0, started + offset / SECOND - 1.0 - loop.time()))
        await page.socket.send_bytes(pcm[offset : offset + chunk])
    heard = await page.next("heard")
    assert heard["text"] == "four"
    assert not [m for m in page.seen if m["type"] == "error"], page.seen


@pytest.mark.slow
async def test_a_long_utterance_is_cut_at_its_longest_and_recognised(
    audio_client: TestClient, recognizer: RecordingRecognizer
) -> None:
    """Speech that never pauses: the server keeps at most ``max_utterance_s`` of it (5 s
    here) and recognises that, so memory cannot grow with what a client sends."""
    page = await _listening(audio_client, mode="once")
    loop = asyncio.get_running_loop()
    started = loop.time()
    pcm = speech(7.0)
    chunk = 6400  # 0.2 s
    for offset in range(0, len(pcm), chunk):
        await asyncio.sleep(max(0.0, started + offset / SECOND - 1.5 - loop.time()))
        await page.socket.send_bytes(pcm[offset : offset + chunk])
        if page.socket.closed:
            break
    assert (await page.next("heard"))["text"] == "four"
    assert len(recognizer.lengths) == 1 and 5.0 <= recognizer.lengths[0] <= 5.5


async def test_when_every_recogniser_is_busy_the_user_is_asked_to_say_it_again(
    audio_client: TestClient, recognizer: RecordingRecognizer
) -> None:
    recognizer.release.clear()  # the first utterance holds the only recogniser
    first = await _listening(audio_client, mode="once")
    await first.socket.send_bytes(speech(0.5) + quiet(1.2))
    assert await asyncio.to_thread(recognizer.started.wait, 10)
    second = await _listening(audio_client, mode="once")
    await second.socket.send_bytes(speech(0.5) + quiet(1.2))
    error = await second.next("error")
    assert error["code"] == "recognition_busy"
    assert error["message"].endswith("Please say it again.")
    recognizer.release.set()
    assert (await first.next("heard"))["text"] == "four"


async def test_audio_end_with_the_microphone_off_is_answered(audio_client: TestClient) -> None:
    page, _ = await open_page(audio_client, language="en")
    await page.send(type="audio_end")
    error = await page.next("error")
    assert error["code"] == "not_listening"
    assert error["message"].startswith("The microphone is not on")


async def test_a_frame_over_4_mb_is_answered_before_the_socket_closes(
    audio_client: TestClient,
) -> None:
    page, _ = await open_page(audio_client, language="ja")
    sending = asyncio.create_task(page.socket.send_bytes(b"\0" * (5 * 1024 * 1024)))
    seen, closed = await _messages_until_closed(page)
    with contextlib.suppress(ConnectionError):  # the server stops reading the frame
        await sending
    sentence = "送られたデータが大きすぎるため、接続を切りました。ページがつなぎ直します。"
    assert [(m["type"], m["code"], m["message"]) for m in seen] == [
        ("error", "frame_too_large", sentence)
    ]
    assert page.socket.close_code == 1009
    assert closed.extra == sentence
