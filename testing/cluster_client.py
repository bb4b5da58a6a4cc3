"""A web chat page driven as a person would drive it, through nginx, across instance deaths.

One ``walk_cafe`` is one user: it connects from an address of its own (any 127.x address is
this machine's, so nginx and the service count each user apart), says hello, and answers the
question the service shows with the café walk's answer for it. When its socket drops (the
instance holding it was killed) it connects again through nginx and says hello with its
session's key, as the page does after a reconnect; the service answers with where the
session stands, and the walk carries on from there: an answer lost with the dead instance is
typed again, one already stored is not. After the confirm it waits for the delivery.

Everything seen is kept in a ``Walked`` record: the key, what was typed for each question,
how often it connected, and each delivery, told apart as pushed (the build finished while
connected) or shown by the resume (it finished while the page was away).

Given a ``Pace`` (testing/pacing.py), each user sends its answers on the pace's schedule, and
``Progress.times`` keeps every turn's latency (an answer sent → its replies, on the same
socket; an answer lost with a killed instance has none) and every confirm → delivery (the
"yes" that was stored → the delivery, pushed or shown on a resume): scripts/bench_cluster.py.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from testing.cafe_walk import CAFE_JOB, cafe_walk, project_jobs
from testing.pacing import Pace, TurnTimes

RECEIVE_S = 120.0  # the longest wait for one message: a build re-run after its worker died
RECONNECT_S = 0.2  # between two attempts to connect, as the page's own back-off starts
MAX_CONNECTS = 30
MAX_TURNS = 60  # far past the walk: a session that loops is a failure, not a hang


@dataclass
class Walked:
    """What one user did and saw."""

    number: int
    shop: str
    key: str | None = None
    typed: dict[str, str] = field(default_factory=dict)  # question id -> the last text sent
    connects: int = 0
    turns: int = 0
    confirmed: bool = False
    connects_after_confirm: int = 0
    pushed: list[str] = field(default_factory=list)  # download tokens of deliveries pushed
    resumed: list[str] = field(default_factory=list)  # ...and of those shown on a resume
    drops: list[str] = field(default_factory=list)  # why each connection ended early
    error: str | None = None
    next_at: float = 0.0  # with a pace: when the next answer may be sent (loop time)
    deadline: float = float("inf")  # loop time after which the walk gives up its delivery
    confirmed_at: float | None = None  # when the "yes" was sent (loop time)

    @property
    def delivered(self) -> bool:
        """Whether a delivery reached the page, either way."""
        return bool(self.pushed or self.resumed)


@dataclass
class Progress:
    """Counts over every walk, and a condition a test waits on (no sleeping)."""

    turns: int = 0
    confirmed: int = 0
    delivered: int = 0
    connected: int = 0  # users connected at least once
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    times: TurnTimes = field(default_factory=TurnTimes)

    async def bump(self, name: str) -> None:
        """One more of ``name``; wake whoever waits."""
        async with self.changed:
            setattr(self, name, getattr(self, name) + 1)
            self.changed.notify_all()

    async def until(self, predicate: Callable[[Progress], bool]) -> None:
        """Wait until ``predicate`` holds."""
        async with self.changed:
            await self.changed.wait_for(lambda: predicate(self))


def answers_by_question(shop: str) -> dict[str, str]:
    """The café walk's answer to each of its questions, keyed by question id."""
    from assistant.jobs.conditions import visible_questions

    job = project_jobs().jobs[CAFE_JOB]
    walk = cafe_walk(shop=shop, greet=False)  # the menu number, the answers, "yes"
    questions = visible_questions(job, {"add_more": False})
    assert len(walk) == len(questions) + 2, (walk, [q.id for q in questions])
    return {question.id: text for question, text in zip(questions, walk[1:-1], strict=True)}


def source_address(number: int) -> str:
    """User ``number``'s own address on this machine (127.0.x.y, never 127.0.0.1)."""
    return f"127.0.{1 + number // 250}.{1 + number % 250}"


def _token(url: str) -> str:
    return url.rsplit("/a/", 1)[1].split("?")[0].split("/")[0]


def _delivery_tokens(replies: list[dict[str, Any]]) -> list[str]:
    return [
        _token(link["url"])
        for reply in replies
        if reply["kind"] == "delivery"
        for link in reply.get("links", [])
        if link["kind"] == "download"
    ]


def _next_text(replies: list[dict[str, Any]], answers: dict[str, str]) -> tuple[str, str] | None:
    """What to type now (the question it answers, the text), or None: nothing is asked."""
    last = replies[-1]
    state = last["state"]
    if state == "choose_job":
        return "menu", "1"
    if state == "confirm":
        return "confirm", "yes"
    if state == "ask" and last.get("question_id") in answers:
        return str(last["question_id"]), answers[last["question_id"]]
    if state in ("generating", "delivered"):
        return None
    raise AssertionError(f"a state the café walk does not expect: {last}")


async def walk_cafe(
    number: int,
    base: str,
    context: ssl.SSLContext,
    progress: Progress,
    pace: Pace | None = None,
    deadline: float | None = None,
) -> Walked:
    """One user walks the café page through nginx to its delivery, answering on ``pace``'s
    schedule when given (else at once), giving up at loop time ``deadline`` when given (a
    benchmark must end even when deliveries never come); never raises (the record's
    ``error`` says what went wrong)."""
    walked = Walked(number, shop=f"Cafe {number}")
    if deadline is not None:
        walked.deadline = deadline
    if pace is not None:
        walked.next_at = pace.first_turn_at(number)
    answers = answers_by_question(walked.shop)
    connector = aiohttp.TCPConnector(ssl=context, local_addr=(source_address(number), 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        try:
            while not walked.delivered:
                if asyncio.get_running_loop().time() >= walked.deadline:
                    raise TimeoutError(f"no delivery by the deadline ({walked.turns} turns)")
                if walked.connects >= MAX_CONNECTS:
                    raise RuntimeError(f"still not through after {walked.connects} connects")
                try:
                    await _connected(http, base, walked, answers, progress, pace)
                except (aiohttp.ClientError, ConnectionError, OSError) as err:
                    walked.drops.append(f"{type(err).__name__}: {err}")
                    await asyncio.sleep(RECONNECT_S)  # pacing, not synchronisation
        except Exception as err:  # recorded: one user's failure must not hide the others'
            walked.error = f"{type(err).__name__}: {err}"
    if walked.delivered:
        await progress.bump("delivered")
    return walked


async def _connected(
    http: aiohttp.ClientSession,
    base: str,
    walked: Walked,
    answers: dict[str, str],
    progress: Progress,
    pace: Pace | None,
) -> None:
    """One connection: hello (with the key once known), then answer until delivery."""
    url = "wss" + base.removeprefix("https") + "/ws"
    loop = asyncio.get_running_loop()
    async with http.ws_connect(url, headers={"Origin": base}, heartbeat=None) as ws:
        walked.connects += 1
        if walked.connects == 1:
            await progress.bump("connected")
        if walked.confirmed:
            walked.connects_after_confirm += 1
        hello: dict[str, Any] = {"type": "hello", "language": "en"}
        if walked.key is not None:
            hello["session"] = walked.key
        await ws.send_json(hello)
        resumed, asked = True, None  # the first replies answer the hello
        sent: float | None = None  # when the answer now waiting for its replies was sent
        while True:
            left = walked.deadline - loop.time()
            message = await ws.receive(timeout=max(0.05, min(RECEIVE_S, left)))
            if message.type != aiohttp.WSMsgType.TEXT:
                ended = f"{message.type.name} {ws.close_code} {message.extra or ''}".strip()
                raise ConnectionError(f"socket ended: {ended}")
            data = json.loads(message.data)
            if data["type"] == "session" and data.get("key"):
                assert walked.key in (None, data["key"]), "the hello did not resume the session"
                walked.key = data["key"]
            if data["type"] == "error":
                raise RuntimeError(f"the service said: {data}")
            if data["type"] != "replies":
                continue
            replies = data["replies"]
            if sent is not None:
                progress.times.answered(sent, loop.time())
                sent = None
            (walked.resumed if resumed else walked.pushed).extend(_delivery_tokens(replies))
            if walked.delivered:
                if walked.confirmed_at is not None:
                    progress.times.deliveries.append(loop.time() - walked.confirmed_at)
                return
            problems = [reply["text"] for reply in replies if reply["kind"] == "problem"]
            assert not problems, f"the service did not take an answer: {problems}"
            step = _next_text(replies, answers)
            if step is None or (not resumed and step[0] == asked):
                resumed = False
                continue  # generating; or shown again what we answered (a follow)
            resumed = False
            asked, text = step
            if walked.turns >= MAX_TURNS:
                raise RuntimeError(f"{walked.turns} turns and still asked {asked}")
            walked.turns += 1
            walked.typed[asked] = text
            if pace is not None:
                await asyncio.sleep(max(0.0, walked.next_at - loop.time()))
                walked.next_at += pace.interval
            sent = loop.time()
            if asked == "confirm":
                walked.confirmed_at = sent  # again after a reconnect: the "yes" that counted
            await ws.send_json({"type": "say", "text": text})
            await progress.bump("turns")
            if asked == "confirm" and not walked.confirmed:
                walked.confirmed = True
                await progress.bump("confirmed")
