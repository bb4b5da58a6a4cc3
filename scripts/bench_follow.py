"""Issue 17's follow figure: how long a change made on instance A takes to reach a page open
on instance B, by Redis pub/sub and, beside it, by today's polling (``page_poll_interval``
1 s, the default).

Two instances over one SQLite file, as two ``assistant serve`` share one data folder: A is a
dialog manager with its own store and Redis client; B is the web channel on a real port with
its own store, manager and Redis client; the page is a websocket client of B. Each sample is
one turn taken on A for the page's session (an answer the menu does not know, so the page is
told something each time), timed from the call on A to the replies on B's page; polling
samples start at a random point of the poller's second.

Run as ``scripts/bench --issue17-follow`` (``--samples``, ``--poll-samples`` follow it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from assistant.cluster.redis_changes import RedisSessionChanges
from assistant.cluster.redis_locks import RedisSessionLocks
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.loader import load_jobs
from assistant.jobs.phrases import Phrases, load_phrases
from assistant.server import init_app
from assistant.store.sqlite import SQLiteStore
from channels.web.channel import WebChannel
from testing.redis_server import redis_server
from testing.web_page import free_port

ROOT = Path(__file__).resolve().parent.parent


class Instance:
    """One instance's store and dialog manager; with ``url``, its Redis lock and news."""

    def __init__(self, path: Path, url: str | None, jobs: JobCatalog, phrases: Phrases) -> None:
        self.store = SQLiteStore(path)
        self.redis = Redis.from_url(url) if url else None
        self.changes = RedisSessionChanges(self.redis) if self.redis is not None else None
        self.manager = DialogManager(
            jobs=jobs, phrases=phrases, store=self.store, default_language="en",
            locks=RedisSessionLocks(self.redis) if self.redis is not None else None,
            changes=self.changes,
        )  # fmt: skip

    async def start(self) -> None:
        await self.store.open()
        if self.changes is not None:
            await self.changes.start()

    async def stop(self) -> None:
        if self.changes is not None:
            await self.changes.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.store.close()


async def _next_replies(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        message = json.loads((await socket.receive()).data)
        if message["type"] == "replies":
            return message


async def _timed(turn: Any) -> float:
    started = time.perf_counter()
    await turn
    return (time.perf_counter() - started) * 1000


async def measure(folder: Path, url: str | None, samples: int) -> tuple[list[float], list[float]]:
    """Milliseconds from a turn on A to its replies on B's page, and of the turn on A alone
    (the lock and the news cost it their round trips to Redis), ``samples`` times."""
    jobs, phrases = load_jobs(ROOT / "dialogs" / "jobs"), load_phrases(ROOT / "dialogs" / "locales")
    a = Instance(folder / "shared.db", url, jobs, phrases)
    b = Instance(folder / "shared.db", url, jobs, phrases)
    await a.start()
    await b.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    channel = WebChannel(b.manager, phrases, default_language="en", base_url=base)
    app = init_app(b.store, jobs, base_url=base)
    channel.add_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    took: list[float] = []
    turns: list[float] = []
    try:
        async with aiohttp.ClientSession() as http:
            socket = await http.ws_connect(f"http://127.0.0.1:{port}/ws")
            await socket.send_json({"type": "hello", "language": "en"})
            while True:
                message = json.loads((await socket.receive()).data)
                if message["type"] == "session":
                    key = message["key"]
                if message["type"] == "replies":
                    break
            for number in range(samples):
                if url is None:  # samples spread over the poller's phase, not aligned to it
                    await asyncio.sleep(random.uniform(0.0, 1.0))
                started = time.perf_counter()
                turn = Turn(session_key=key, text=f"zebra {number}", channel="web")
                turn_ms, _ = await asyncio.gather(
                    _timed(a.manager.handle(turn)), _next_replies(socket)
                )
                took.append((time.perf_counter() - started) * 1000)
                turns.append(turn_ms)
            await socket.close()
    finally:
        await runner.cleanup()
        await a.stop()
        await b.stop()
    return took, turns


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _report(name: str, took: list[float]) -> None:
    print(f"{name}: n={len(took)} p50 {_percentile(took, 0.5):.1f} ms, "
          f"p99 {_percentile(took, 0.99):.1f} ms, max {max(took):.1f} ms")  # fmt: skip


async def _run(samples: int, poll_samples: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with redis_server() as url:
            took, turns = await measure(Path(folder), url, samples)
            _report("follow_by_redis_pubsub", took)
            _report("turn_on_a_with_redis_lock_and_news", turns)
    with tempfile.TemporaryDirectory() as folder:
        took, turns = await measure(Path(folder), None, poll_samples)
        _report("follow_by_polling_1s", took)
        _report("turn_on_a_without_redis", turns)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=500, help="changes followed by pub/sub")
    parser.add_argument("--poll-samples", type=int, default=60, help="changes followed by polling")
    args = parser.parse_args(argv)
    asyncio.run(_run(args.samples, args.poll_samples))


if __name__ == "__main__":
    main()
