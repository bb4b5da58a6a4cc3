"""Issue 16's figures for the closing note: the staff console under a year's worth of history.

1. **Page load:** every console page (and the live list's JSON) with 10,000 sessions and
   100,000 turns in the database, fetched by a signed-in admin from the whole service as
   ``assistant serve`` wires it (``testing.staff_console.running_console``).
2. **Help → needs help:** a web chat user on a real WebSocket says "help" a second time; the
   time until the live list's JSON (as ``sessions.js`` polls it, here every 50 ms) flags it.
3. **Staff message → web user:** staff POST a message (with CSRF, as the form does); the time
   until it arrives on the user's socket.

The history is real: a few conversations are walked through the dialog manager once, then
their session rows and turns are copied under new keys and times in one transaction, so the
console reads what it would read after months of use. Most sessions are days old; a few are
within the live list's hour. Run as ``scripts/bench --issue16``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from scripts.bench_console_fill import fill
from testing.staff_console import csrf_of, running_console, sign_in

Client = TestClient[web.Request, web.Application]
PAGES = ("/staff/", "/staff/sessions", "/staff/sessions (json)", "/staff/artifacts",
         "/staff/jobs", "/staff/charts?days=30", "/staff/audit", "/staff/knowledge")  # fmt: skip
POLL_S = 0.05  # how often the bench polls the live list, as a fast sessions.js would


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured thing: its samples in seconds."""

    name: str
    samples: list[float]


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (as scripts/bench.py takes them)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def table(figures: list[Figure]) -> str:
    """The figures as the small table the closing note quotes."""
    lines = [f"{'figure':<44} {'p50 ms':>9} {'p90 ms':>9} {'n':>4}"]
    for figure in figures:
        p50, p90 = percentile(figure.samples, 0.5), percentile(figure.samples, 0.9)
        lines.append(f"{figure.name:<44} {p50 * 1000:>9.1f} {p90 * 1000:>9.1f} "
                     f"{len(figure.samples):>4}")  # fmt: skip
    return "\n".join(lines)


class Socket:
    """A web chat page's WebSocket: sends what the page sends, waits for a kind of message."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket

    async def next(self, kind: str, wait: float = 30.0) -> dict[str, Any]:
        async with asyncio.timeout(wait):
            while True:
                received = await self.socket.receive()
                if received.type != WSMsgType.TEXT:
                    raise RuntimeError(f"the chat's socket ended: {received}")
                message: dict[str, Any] = json.loads(received.data)
                if message["type"] == kind:
                    return message

    async def say(self, text: str) -> list[dict[str, Any]]:
        await self.socket.send_json({"type": "say", "text": text})
        replies: list[dict[str, Any]] = (await self.next("replies"))["replies"]
        return replies


async def open_chat(user: Client) -> tuple[Socket, str]:
    """A new web chat session, at the menu; its socket and key."""
    socket = Socket(await user.ws_connect("/ws"))
    await socket.socket.send_json({"type": "hello", "language": "en"})
    key = str((await socket.next("session"))["key"])
    await socket.next("replies")
    return socket, key


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def page_loads(staff: Client, loads: int) -> list[Figure]:
    """Each console page ``loads`` times (after one warm load), status 200 asserted."""
    figures = []
    for name in PAGES:
        path, as_json = name.removesuffix(" (json)"), name.endswith("(json)")
        headers = {"Accept": "application/json"} if as_json else {}

        async def load(path: str = path, headers: dict[str, str] = headers) -> None:
            response = await staff.get(path, headers=headers, allow_redirects=False)
            body = await response.read()
            assert response.status == 200, f"{path}: {response.status} {body[:200]!r}"

        await load()
        figures.append(Figure(f"page {name}", [await _timed(load) for _ in range(loads)]))
    return figures


async def _flagged(staff: Client, key: str) -> bool:
    response = await staff.get("/staff/sessions", headers={"Accept": "application/json"})
    assert response.status == 200
    rows = (await response.json())["sessions"]
    return any(row["key"] == key and row["needs_help"] for row in rows)


async def help_to_flag(user: Client, staff: Client, samples: int) -> Figure:
    """From the second "help" sent on the socket to the live list flagging the session."""
    seconds = []
    for _ in range(samples):
        chat, key = await open_chat(user)
        await chat.say("1")
        await chat.say("help")
        assert not await _flagged(staff, key), "flagged after one help"
        start = time.perf_counter()
        await chat.socket.send_json({"type": "say", "text": "help"})
        async with asyncio.timeout(30):
            while True:  # as the page polls: the list is read, not pushed
                if await _flagged(staff, key):
                    break
                await asyncio.sleep(POLL_S)
        seconds.append(time.perf_counter() - start)
        await chat.socket.close()
    return Figure("help said twice -> needs help in the list", seconds)


async def staff_message(user: Client, staff: Client, samples: int) -> Figure:
    """From staff's POST of a message to its arrival on the web user's socket."""
    chat, key = await open_chat(user)
    await chat.say("1")
    path = f"/staff/sessions/{quote(key, safe='')}/message?lang=en"
    seconds = []
    for n in range(samples):
        form = {"csrf": await csrf_of(staff, "/staff/"), "text": f"Hello {n}"}
        start = time.perf_counter()
        sent = await staff.post(path, data=form, allow_redirects=False)
        assert sent.status == 303, await sent.text()
        while True:
            replies = (await chat.next("replies"))["replies"]
            if any(f"Hello {n}" in reply["text"] for reply in replies):
                break
        seconds.append(time.perf_counter() - start)
    await chat.socket.close()
    return Figure("staff message -> web user's socket", seconds)


async def measure(
    data_dir: Path, *, sessions: int, turns: int, loads: int, samples: int
) -> list[Figure]:
    """Fill, serve, sign in as ``ana`` (admin) and take every figure."""
    started = time.perf_counter()
    await fill(data_dir, sessions, turns)
    filled = time.perf_counter() - started
    async with (
        running_console(data_dir) as (app, _services),
        TestClient(TestServer(app)) as user,
        TestClient(user.server) as staff,
    ):
        await sign_in(staff, "ana")
        figures = [Figure(f"fill {sessions} sessions, {turns} turns", [filled])]
        figures += await page_loads(staff, loads)
        figures.append(await help_to_flag(user, staff, samples))
        figures.append(await staff_message(user, staff, samples))
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=20, help="loads of each page")
    parser.add_argument("--samples", type=int, default=10, help="help and message samples")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(
            measure(Path(folder) / "data", sessions=args.sessions, turns=args.turns,
                    loads=args.loads, samples=args.samples)
        )  # fmt: skip
    print(table(figures))


if __name__ == "__main__":
    main()
