"""Unpaced audio benchmark (issue 12): four sockets stream noise as fast as TCP allows for 15 s
against a real ``assistant serve``, while another user takes text turns and a probe asks
``/healthz``.

Printed: that user's turn latency p50/p99/max and ``/healthz`` latency p99/max during the
flood and in the 10 s after it, the server's memory (RSS of the server process, and with its
worker processes) before, at its peak and after, and what the attackers sent and were told.
The goals are printed as met or not: turn p99 under 200 ms during and after, no outage (every
turn answered, ``/healthz`` never slower than 1 s), memory back within 20 MB of the start.
``--root`` runs the server from another source tree (an older commit, for the figure before).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.audio_flood import (  # noqa: E402
    FloodFigures,
    flood,
    press_talk,
    wait_until_serving,
)

GOAL_P99_MS = 200.0
GOAL_OUTAGE_S = 1.0  # a /healthz slower than this counts as an outage
GOAL_MEMORY_MB = 20.0


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found += [int(child), *_descendants(int(child))]
    return found


class Memory:
    """The server's RSS, alone and with its worker processes, with the peaks seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = self.peak_all = 0.0

    def sample(self) -> tuple[float, float]:
        own = _rss_mb(self.pid)
        everything = own + sum(_rss_mb(child) for child in _descendants(self.pid))
        self.peak = max(self.peak, own)
        self.peak_all = max(self.peak_all, everything)
        return own, everything


def _ms(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000


def _lines(label: str, figures: FloodFigures) -> list[str]:
    turns, health = figures.turns, figures.health
    return [
        f"audio_flood_turn_p50_{label}: {_ms(turns, 0.5):.1f} ms",
        f"audio_flood_turn_p99_{label}: {_ms(turns, 0.99):.1f} ms",
        f"audio_flood_turn_max_{label}: {_ms(turns, 1.0):.1f} ms",
        f"audio_flood_turns_{label}: {len(turns)} answered, {len(figures.turn_failures)} not",
        f"audio_flood_healthz_p99_{label}: {_ms(health, 0.99):.1f} ms",
        f"audio_flood_healthz_max_{label}: {_ms(health, 1.0):.1f} ms",
    ]


def run(root: Path, attackers: int, seconds: float, after: float, paced: bool) -> list[str]:
    """One server, measured quiet, under the flood, and after it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "PYTHONPATH": str(root),
            "ASSISTANT_DATA_DIR": folder,
            "ASSISTANT_LOG_LEVEL": "warning",
            "ASSISTANT_LANGUAGE": "en",
            "ASSISTANT_LLM_ENABLED": "false",
        }
        command = [sys.executable, "-m", "assistant", "serve", "--port", str(port)]
        if len(cores) >= 2:  # the server (and its workers) on one core, this client on another
            command = ["taskset", "-c", str(cores[0]), *command]
            os.sched_setaffinity(0, {cores[1]})
        process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL)
        try:
            wait_until_serving(base)
            memory = Memory(process.pid)
            asyncio.run(press_talk(base))  # a first user tries the microphone
            asyncio.run(flood(base, 0, 3.0))  # warm: first turns, first health answers
            start, start_all = memory.sample()
            during = asyncio.run(
                flood(base, attackers, seconds, on_tick=memory.sample, paced=paced)
            )
            settled = time.monotonic() + after
            later = asyncio.run(flood(base, 0, after, on_tick=memory.sample))
            time.sleep(max(0.0, settled - time.monotonic()))
            end, end_all = memory.sample()
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
            if process.poll() is None:
                process.kill()
            if cores:
                os.sched_setaffinity(0, set(cores))
    lines = [
        f"audio_flood_attackers: {attackers} sockets for {seconds:g} s"
        + (", paced at real time" if paced else ", unpaced"),
        f"audio_flood_audio_sent: {during.sent_bytes / 32_000:.0f} s of audio "
        f"in {during.connections} connections",
        f"audio_flood_refusals: {during.too_fast} sentences, {during.closed_flooded} closed",
        *_lines("during", during),
        *_lines("after", later),
        f"audio_flood_server_rss_start: {start:.0f} MB ({start_all:.0f} MB with workers)",
        f"audio_flood_server_rss_peak: {memory.peak:.0f} MB ({memory.peak_all:.0f} MB with workers)",
        f"audio_flood_server_rss_end: {end:.0f} MB ({end_all:.0f} MB with workers)",
    ]
    fast = all(_ms(f.turns, 0.99) < GOAL_P99_MS for f in (during, later))
    answered = not during.turn_failures and not later.turn_failures
    no_outage = answered and max(during.health + later.health, default=0.0) < GOAL_OUTAGE_S
    back = end_all - start_all <= GOAL_MEMORY_MB
    lines.append(f"audio_flood_goal_turn_p99_under_{GOAL_P99_MS:.0f}ms: {_met(fast)}")
    lines.append(f"audio_flood_goal_no_outage: {_met(no_outage)}")
    lines.append(
        f"audio_flood_goal_memory_back_within_{GOAL_MEMORY_MB:.0f}MB: {_met(back)} "
        f"({end_all - start_all:+.0f} MB)"
    )
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attackers", type=int, default=4, help="sockets streaming noise")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long they stream")
    parser.add_argument("--after", type=float, default=10.0, help="seconds measured after")
    parser.add_argument("--root", type=Path, default=ROOT, help="source tree to serve from")
    parser.add_argument(
        "--paced", action="store_true", help="attackers at real time: recognition kept busy"
    )
    args = parser.parse_args(argv)
    for line in run(args.root.resolve(), args.attackers, args.seconds, args.after, args.paced):
        print(line, flush=True)


if __name__ == "__main__":
    main()
