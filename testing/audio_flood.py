"""Unpaced audio against a running ``assistant serve``, and what another user sees meanwhile.

Shared by ``tests/test_web_audio_serve.py`` and ``scripts/bench_audio_flood.py`` (issue 12):
attackers open the web chat, turn the microphone on (hands-free) and send noise as fast as
TCP allows, connecting again whenever the server closes them, as the page would; meanwhile one
ordinary user asks for the question again at a steady pace and a probe asks ``/healthz``. Each
latency is from sending to the answer; nothing here waits on the CPU being idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

NOISE_CHUNK = 9600  # 0.3 s of noise a frame, five times what the page sends at once


REFUSALS = ("flooded", "busy", "recognition_busy")
ATTACKER_ADDRESS = "127.0.0.2"


@dataclass
class FloodFigures:
    """What the attackers sent and heard back, and what the ordinary user waited."""

    sent_bytes: int = 0
    connections: int = 0
    too_fast: int = 0  # "audio_too_fast" sentences received
    closed_flooded: int = 0  # closes with code 1008
    other_errors: list[str] = field(default_factory=list)
    turns: list[float] = field(default_factory=list)  # the ordinary user's turns, seconds
    health: list[float] = field(default_factory=list)  # /healthz, seconds
    turn_failures: list[str] = field(default_factory=list)


async def _drain(socket: aiohttp.ClientWebSocketResponse, figures: FloodFigures) -> None:
    """Read what the server says to an attacker (refusals, the close)."""
    async for message in socket:
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        data = json.loads(message.data)
        if data.get("type") == "error":
            code = data.get("code", "")
            if code == "audio_too_fast":
                figures.too_fast += 1
            # Refusals too: an attacker that reconnects after each close soon meets the
            # address's limit on new sessions, and its audio then has no session to go to.
            elif code not in (*REFUSALS, "too_many_sessions", "binary_unexpected"):
                figures.other_errors.append(code)
    if socket.close_code == 1008:
        figures.closed_flooded += 1


async def attacker(
    http: aiohttp.ClientSession,
    url: str,
    until: float,
    figures: FloodFigures,
    paced: bool = False,
) -> None:
    """Noise as fast as TCP allows (or, ``paced``, at real time: the most the server
    accepts, so its recognition is kept busy), with the microphone on, until ``until``."""
    loop = asyncio.get_running_loop()
    noise = os.urandom(NOISE_CHUNK)
    seconds_per_chunk = NOISE_CHUNK / 32_000
    while loop.time() < until:
        with contextlib.suppress(aiohttp.ClientError, ConnectionError, asyncio.TimeoutError):
            async with http.ws_connect(url, heartbeat=None, max_msg_size=0) as socket:
                figures.connections += 1
                await socket.send_json({"type": "hello", "language": "en"})
                await socket.send_json({"type": "audio_start", "mode": "hands_free"})
                reader = asyncio.create_task(_drain(socket, figures))
                started, sent = loop.time(), 0
                try:
                    while loop.time() < until and not socket.closed:
                        await socket.send_bytes(noise)
                        figures.sent_bytes += len(noise)
                        sent += 1
                        # Paced: real time, a second ahead; else only let the others run.
                        ahead = started + sent * seconds_per_chunk - 1.0 - loop.time()
                        await asyncio.sleep(max(0.0, ahead) if paced else 0)
                finally:
                    if not socket.closed:
                        await socket.close()
                    await asyncio.wait({reader}, timeout=30)
                    reader.cancel()
        await asyncio.sleep(0.05)  # the page waits a moment before it connects again


async def _replies(socket: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    while True:
        message = await socket.receive()
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket ended: {message.type}")
        data = json.loads(message.data)
        if data["type"] == "replies":
            return data["replies"]


async def ordinary_user(
    http: aiohttp.ClientSession,
    url: str,
    until: float,
    figures: FloodFigures,
    interval: float = 0.25,
    limit: float = 60.0,
) -> None:
    """One person asking for the question again every ``interval`` s; each turn's latency."""
    loop = asyncio.get_running_loop()
    async with http.ws_connect(url, heartbeat=None, max_msg_size=0) as socket:
        await socket.send_json({"type": "hello", "language": "en"})
        await _replies(socket)
        while loop.time() < until:
            sent = loop.time()
            await socket.send_json({"type": "command", "name": "repeat"})
            try:
                async with asyncio.timeout(limit):
                    await _replies(socket)
            except TimeoutError:
                figures.turn_failures.append(f"no reply within {limit:g} s")
                return
            figures.turns.append(loop.time() - sent)
            await asyncio.sleep(max(0.0, sent + interval - loop.time()))


async def health_probe(
    http: aiohttp.ClientSession, base: str, until: float, figures: FloodFigures
) -> None:
    """``/healthz`` every 0.25 s; each answer's latency (a failure counts as its wait)."""
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        sent = loop.time()
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with http.get(f"{base}/healthz", timeout=aiohttp.ClientTimeout(60)) as answer:
                await answer.read()
        figures.health.append(loop.time() - sent)
        await asyncio.sleep(max(0.0, sent + 0.25 - loop.time()))


async def flood(
    base: str,
    attackers: int,
    seconds: float,
    *,
    on_tick: Callable[[], object] | None = None,
    grace: float = 120.0,
    paced: bool = False,
) -> FloodFigures:
    """``attackers`` sockets flooding for ``seconds`` while a user and a probe are timed;
    whatever is still waiting ``grace`` seconds after the end counts as not answered."""
    figures = FloodFigures()
    url = f"{base.replace('http', 'ws', 1)}/ws"
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    # The attackers come from an address of their own (any 127.x.y.z is this machine), as
    # they would from another device: the user measured is somebody else, whose own limits
    # (new sessions per address) the attackers must not use up.
    attackers_connector = aiohttp.TCPConnector(
        limit=0, force_close=True, local_addr=(ATTACKER_ADDRESS, 0)
    )
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        aiohttp.ClientSession(connector=attackers_connector) as hostile,
    ):
        tasks = [
            asyncio.create_task(attacker(hostile, url, until, figures, paced))
            for _ in range(attackers)
        ]
        tasks.append(asyncio.create_task(ordinary_user(http, url, until, figures)))
        tasks.append(asyncio.create_task(health_probe(http, base, until, figures)))
        if on_tick is not None:
            tasks.append(asyncio.create_task(_ticking(on_tick, until)))
        _, unfinished = await asyncio.wait(tasks, timeout=seconds + grace)
        for task in unfinished:  # a server frozen for longer than the grace: an outage
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if unfinished:
            figures.turn_failures.append(f"still waiting {grace:g} s after the flood ended")
    return figures


async def press_talk(base: str) -> None:
    """One page turns its microphone on and off, as a user trying "Talk" would (the server
    starts its recognition workers on the first such press)."""
    url = f"{base.replace('http', 'ws', 1)}/ws"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
        await socket.send_json({"type": "hello", "language": "en"})
        await socket.send_json({"type": "audio_start", "mode": "once"})
        async with asyncio.timeout(30):
            async for message in socket:
                if json.loads(message.data).get("type") == "listening":
                    break
        await socket.send_json({"type": "audio_end"})


async def _ticking(on_tick: Callable[[], object], until: float) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        on_tick()
        await asyncio.sleep(0.5)


async def quiet_figures(base: str, seconds: float) -> FloodFigures:
    """The same user and probe with nobody flooding: the figures after an attack."""
    return await flood(base, 0, seconds)


def wait_until_serving(base: str, limit: float = 60.0) -> None:
    """Block until ``/healthz`` answers (the server is starting in another process)."""

    async def poll() -> None:
        async with aiohttp.ClientSession() as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{base}/healthz") as answer:
                        if answer.status == 200:
                            return
                await asyncio.sleep(0.2)

    deadline = time.monotonic() + limit
    asyncio.run(asyncio.wait_for(poll(), max(0.1, deadline - time.monotonic())))
