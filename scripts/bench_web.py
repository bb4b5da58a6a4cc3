"""Web chat benchmark: many websocket sessions at once, each completing a job, against a real
``assistant serve`` process.

Every session connects (all stay connected to the end), walks the café page job by typed
answers at a steady overall rate, confirms, and waits for its delivery. A turn's latency is
from sending the answer to receiving its replies. The server runs on one core and this client
on the other, so the client's own work does not slow the server. Memory is the server's RSS:
before anyone connects, when everyone is connected, and at the end.

Turns per second are counted over the turns' own window (first answer sent to last reply
received), not the wait for generation after them. The goals are printed as met or not:
p99 under 100 ms at 200 turns/s with 2,000 sessions, and memory flat (the end of round 2
within 10 MB or 5% of the end of round 1).

``BENCH_PROFILE=FILE`` runs the server under cProfile (its event loop's thread) and writes the
profile to FILE when it stops: where a turn's or a delivery's CPU goes (issue 13, part E).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.cafe_walk import cafe_walk  # noqa: E402
from testing.metrics_text import histogram_quantile  # noqa: E402
from testing.pacing import Pace, TurnTimes  # noqa: E402

# The café page typed from the menu on, built from its questions: a question added to the job
# lengthens the walk by itself (a hand-written list stopped at "page layout").
ANSWERS = cafe_walk(greet=False)
GOAL_P99_MS = 100.0
GOAL_RATE = 200.0
GOAL_SESSIONS = 2000
GOAL_RATE_SHARE = 0.95  # the rate reached must be this close to the goal's
FLAT_MB = 10.0  # memory growth from round 1 to round 2 that still counts as flat...
FLAT_SHARE = 0.05  # ...or this share of round 1's end, whichever is larger


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system, every thread) a process has used: the server's cost, which
    other work on a shared machine does not inflate as it does latencies."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Results(TurnTimes):
    def __init__(self) -> None:
        super().__init__()
        self.failures: list[str] = []
        self.connected = 0
        self.all_connected = asyncio.Event()
        self.all_finished = asyncio.Event()

    def finished(self, sessions: int) -> None:
        if len(self.deliveries) + len(self.failures) >= sessions:
            self.all_finished.set()


async def next_replies(ws: aiohttp.ClientWebSocketResponse) -> list[dict]:
    """The next replies the server sends (progress and other messages skipped)."""
    while True:
        message = await ws.receive()
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket ended: {message.type}")
        data = json.loads(message.data)
        if data["type"] == "replies":
            return data["replies"]
        if data["type"] == "error":
            raise RuntimeError(data["message"])


async def _session(
    http: aiohttp.ClientSession,
    url: str,
    n: int,
    sessions: int,
    pace: Pace,
    results: Results,
    done: asyncio.Event,
) -> None:
    loop = asyncio.get_running_loop()
    try:
        async with http.ws_connect(url, heartbeat=None, max_msg_size=0) as ws:
            await ws.send_json({"type": "hello", "language": "en"})
            await next_replies(ws)
            results.connected += 1
            if results.connected == sessions:
                results.all_connected.set()
            next_at = pace.first_turn_at(n)  # spread evenly over one interval: a steady rate
            for text in ANSWERS:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                sent = loop.time()
                await ws.send_json({"type": "say", "text": text})
                replies = await next_replies(ws)
                if replies[-1]["state"] == "describe":  # hybrid mode: a model is configured
                    await ws.send_json({"type": "say", "text": "one by one"})
                    replies = await next_replies(ws)  # the questions, as without a model
                results.answered(sent, loop.time())
                next_at += pace.interval
            if replies[-1]["state"] != "generating":
                raise RuntimeError(f"confirm did not start generation: {replies[-1]['text']}")
            while not any(r["kind"] == "delivery" for r in replies):
                replies = await next_replies(ws)
            results.deliveries.append(loop.time() - sent)
            results.finished(sessions)
            await done.wait()  # stay connected until every session is finished
    except Exception as err:  # reported, not raised: one failure must not hide the figures
        results.failures.append(f"session {n}: {type(err).__name__}: {err}")
        results.finished(sessions)
        if results.connected < sessions and not results.all_connected.is_set():
            results.connected += 1
            if results.connected == sessions:
                results.all_connected.set()


async def _round(
    http: aiohttp.ClientSession, url: str, sessions: int, rate: float, pid: int
) -> tuple[Results, dict[str, float]]:
    """Every session connects, walks its job, waits for delivery; then all disconnect."""
    results = Results()
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    connect_window = max(5.0, sessions / 200)
    pace = Pace.steady(sessions, rate, loop.time() + connect_window)
    tasks = []
    for n in range(sessions):
        tasks.append(asyncio.create_task(_session(http, url, n, sessions, pace, results, done)))
        await asyncio.sleep(connect_window * 0.8 / sessions)
    await results.all_connected.wait()
    memory = {"connected": rss_mb(pid)}
    await results.all_finished.wait()
    memory["end"] = rss_mb(pid)
    done.set()
    await asyncio.gather(*tasks)
    return results, memory


async def _drive(
    port: int, sessions: int, rate: float, pid: int, rounds: int
) -> dict[str, float | int]:
    url = f"http://127.0.0.1:{port}/ws"
    connector = aiohttp.TCPConnector(limit=0)
    memory: dict[str, float] = {"server_rss_start": rss_mb(pid)}
    cpu = cpu_seconds(pid)
    async with aiohttp.ClientSession(connector=connector) as http:
        results, first = await _round(http, url, sessions, rate, pid)
        memory["server_cpu_round_1_s"] = cpu_seconds(pid) - cpu
        memory["server_rss_connected"] = first["connected"]
        memory["server_rss_end"] = first["end"]
        async with http.get(url.replace("/ws", "/metrics")) as response:
            metrics = _server_quantiles(await response.text())
        for number in range(2, rounds + 1):  # the same load again: does memory keep growing?
            again, later = await _round(http, url, sessions, rate, pid)
            results.failures += again.failures
            memory[f"server_rss_end_round_{number}"] = later["end"]
    figures: dict[str, float | int] = {
        "sessions": sessions,
        "failures": len(results.failures),
        **results.figures(),
        **memory,
        **metrics,
    }
    for failure in results.failures[:5]:
        print(f"# {failure}", file=sys.stderr)
    return figures


def _server_quantiles(text: str) -> dict[str, float]:
    """The server's own time for a web turn (the dialog manager's, turn in to state stored),
    from its /metrics histogram, interpolated within a bucket as Prometheus does."""
    return {
        name: histogram_quantile(text, "assistant_turn_seconds", q, channel="web") * 1000
        for q, name in ((0.5, "server_p50_ms"), (0.99, "server_p99_ms"))
    }


def _wait_ready(port: int, process: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.2)
    raise RuntimeError("the server did not start within a minute")


def measure(
    sessions: int, rate: float, rounds: int, environ: dict[str, str] | None = None
) -> dict[str, float | int]:
    """One run against a fresh ``assistant serve`` (``environ``: its extra settings)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "ASSISTANT_DATA_DIR": folder,
            "ASSISTANT_LOG_LEVEL": "warning",
            "ASSISTANT_LANGUAGE": "en",
            "ASSISTANT_NEW_SESSIONS_PER_ADDRESS": "0",  # thousands of sessions from one address
            **(environ or {}),
        }
        profile = os.environ.get("BENCH_PROFILE")  # a file: the server's event loop profiled
        python = [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else [])]
        command = [*python, "-m", "assistant", "serve", "--port", str(port)]
        if len(cores) >= 2:  # the server on one core, this client on another
            command = ["taskset", "-c", str(cores[0]), *command]
            os.sched_setaffinity(0, {cores[1]})
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        try:
            _wait_ready(port, process)
            random.seed(1)
            gc.disable()  # the client's own pauses would be counted as the server's latency
            try:
                return asyncio.run(_drive(port, sessions, rate, process.pid, rounds))
            finally:
                gc.enable()
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30 if profile else 10)
            if process.poll() is None:
                process.kill()
            if cores:
                os.sched_setaffinity(0, set(cores))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2000, help="websocket sessions at once")
    parser.add_argument("--rate", type=float, default=200.0, help="turns per second, overall")
    parser.add_argument(
        "--rounds", type=int, default=2, help="repeat the load to see whether memory stays flat"
    )
    args = parser.parse_args(argv)
    figures = measure(args.sessions, args.rate, args.rounds)
    n = figures["sessions"]
    print(f"web_sessions: {n}")
    print(f"web_session_failures: {figures['failures']}")
    print(f"web_turns: {figures['turns']}")
    print(f"web_turns_per_second_{n}_sessions: {figures['turns_per_second']:.0f} turns/s")
    print(f"web_turn_latency_p50_{n}_sessions: {figures['p50_ms']:.1f} ms")
    print(f"web_turn_latency_p99_{n}_sessions: {figures['p99_ms']:.1f} ms")
    print(f"web_turn_latency_max_{n}_sessions: {figures['max_ms']:.1f} ms")
    print(f"web_server_turn_time_p50: {figures.get('server_p50_ms', float('nan')):.1f} ms")
    print(f"web_server_turn_time_p99: {figures.get('server_p99_ms', float('nan')):.1f} ms")
    print(f"web_confirm_to_delivery_p50: {figures['delivery_p50_ms']:.0f} ms")
    print(f"web_server_rss_start: {figures['server_rss_start']:.0f} MB")
    print(f"web_server_rss_connected: {figures['server_rss_connected']:.0f} MB")
    print(f"web_server_rss_end: {figures['server_rss_end']:.0f} MB")
    for name, value in figures.items():
        if name.startswith("server_rss_end_round_"):
            print(f"web_{name}: {value:.0f} MB")
    for line in goal_lines(figures):
        print(line)


def goal_lines(figures: dict[str, float | int]) -> list[str]:
    """Whether the run met the goals, each with the figures it was judged on."""
    p99 = float(figures["p99_ms"])
    rate = float(figures["turns_per_second"])
    sessions = int(figures["sessions"])
    loaded = sessions >= GOAL_SESSIONS and rate >= GOAL_RATE * GOAL_RATE_SHARE
    fast = p99 < GOAL_P99_MS and int(figures["failures"]) == 0
    if fast and loaded:
        verdict = "met"
    elif fast:
        verdict = "not judged (a lighter load than the goal's)"
    else:
        verdict = "not met"
    lines = [
        f"web_goal_p99_under_{GOAL_P99_MS:.0f}ms_at_{GOAL_RATE:.0f}_turns_per_second_"
        f"with_{GOAL_SESSIONS}_sessions: {verdict} (p99 {p99:.1f} ms at {rate:.0f} turns/s, "
        f"{sessions} sessions, {figures['failures']} failures)"
    ]
    first = float(figures["server_rss_end"])
    second = figures.get("server_rss_end_round_2")
    if second is None:
        lines.append("web_goal_memory_flat: not judged (one round; use --rounds 2)")
    else:
        growth = float(second) - first
        flat = growth <= max(FLAT_MB, FLAT_SHARE * first)
        lines.append(f"web_server_rss_growth_round_1_to_2: {growth:+.1f} MB")
        lines.append(
            f"web_goal_memory_flat: {'met' if flat else 'not met'} "
            f"({first:.0f} MB after round 1, {float(second):.0f} MB after round 2)"
        )
    return lines


if __name__ == "__main__":
    main()
