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
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from assistant.config import PROJECT_ROOT, Settings
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.loader import load_jobs
from assistant.jobs.phrases import load_phrases
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk
from testing.staff_console import csrf_of, running_console, sign_in

Client = TestClient[web.Request, web.Application]
DAY = 86400.0
PAGES = ("/staff/", "/staff/sessions", "/staff/sessions (json)", "/staff/artifacts",
         "/staff/jobs", "/staff/charts?days=30", "/staff/audit", "/staff/knowledge")  # fmt: skip
RECENT_SHARE = 0.01  # of the sessions, used within the live list's hour
POLL_S = 0.05  # how often the bench polls the live list, as a fast sessions.js would
# Conversations walked once and copied: a café page, a quiz with misses, one in Japanese.
SCRIPTS = {
    "en": [*cafe_walk(), "back", "help", "yes"],
    "en-quiz": ["", "4", "Animals", "1", "banana", "lots", "purple", "help", "2", "back", "5"],
    "ja": [*cafe_walk(language="ja"), "戻る", "ヘルプ", "はい"],
}


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


async def _templates(path: Path, turns_each: int) -> list[str]:
    """Walk each script for ``turns_each`` turns through the real manager; their keys."""
    store = SQLiteStore(path)
    await store.open()
    manager = DialogManager(
        jobs=load_jobs(PROJECT_ROOT / "dialogs" / "jobs"),
        phrases=load_phrases(PROJECT_ROOT / "dialogs" / "locales"),
        store=store,
        default_language="en",
    )
    keys = []
    try:
        for name, script in SCRIPTS.items():
            for extra in (0, 1):  # a template of each length the totals need
                key = f"template:{name}:{turns_each + extra}"
                language = "ja" if name == "ja" else "en"
                for n in range(turns_each + extra):
                    text = script[n % len(script)]
                    await manager.handle(Turn(key, text, language=language, channel="web"))
                keys.append(key)
    finally:
        await store.close()
    return keys


async def fill(data_dir: Path, sessions: int, turns: int) -> None:
    """``sessions`` sessions and ``turns`` turns in the store's schema, most days old."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True, mode=0o700)
    path = Settings(data_dir=data_dir).database_path
    turns_each, extra = divmod(turns, sessions)
    keys = await _templates(path, turns_each)
    await asyncio.to_thread(_copy, path, keys, sessions, extra)


def _copy(path: Path, keys: list[str], sessions: int, extra: int) -> None:
    """The templates' rows copied under new keys and times, in one transaction; the first
    ``extra`` sessions are copies of the templates one turn longer."""
    now = time.time()
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = {k: dict(db.execute("SELECT * FROM sessions WHERE key=?", (k,)).fetchone())
                for k in keys}  # fmt: skip
        history = {k: [dict(t) for t in db.execute(
            "SELECT * FROM turns WHERE session_key=? ORDER BY id", (k,))] for k in keys}  # fmt: skip
        db.execute("DELETE FROM turns")
        db.execute("DELETE FROM sessions")
        recent = max(1, int(sessions * RECENT_SHARE))
        session_rows, turn_rows = [], []
        for i in range(sessions):
            longer = i < extra  # the remainder of the turns, one more each
            key = keys[(i % len(SCRIPTS)) * 2 + longer]
            # The newest ``recent`` within the hour, the rest spread over 90 days.
            start = now - (60 + i * 30 if i < recent else DAY + (i * 7919 % (89 * 86400)))
            row = dict(rows[key], key=f"web:bench{i:06d}", code=f"B{i:07d}")
            last = history[key][-1]["at"] - history[key][0]["at"]
            row["created"], row["updated"] = start, start + last
            session_rows.append(row)
            first = history[key][0]["at"]
            for turn in history[key]:
                turn_rows.append({**turn, "id": None, "session_key": row["key"],
                                  "at": start + turn["at"] - first})  # fmt: skip
        columns = list(session_rows[0])
        db.executemany(
            f"INSERT INTO sessions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [tuple(r[c] for c in columns) for r in session_rows],
        )
        columns = list(turn_rows[0])
        db.executemany(
            f"INSERT INTO turns ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [tuple(r[c] for c in columns) for r in turn_rows],
        )
    for file in path.parent.iterdir():
        file.chmod(0o600)  # private, as the service makes its own files


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
