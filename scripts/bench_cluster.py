"""Issue 17's figures side by side from one run: one ``assistant serve`` on SQLite, and the
cluster (nginx, two instances, one worker, PostgreSQL, Redis; testing/cluster.py) on this
machine, under the same load.

1. Load: N websocket sessions (default 2,000) walk the café page at R turns/s overall
   (default 200), paced alike (testing/pacing.py). The single server is bench_web's
   ``measure`` (server on one core, client on the other); the cluster's users go through
   nginx, each from an address of its own, with testing/cluster_client.py's reconnecting
   walk, every process on both cores. Both run with the same settings (``SETTINGS``: the
   template floor without the model or the Chromium check, as tests/test_cluster.py).
   Turns/s, turn latency p50/p99, confirm → delivery p50, and the memory of every process.
2. Kills, in the cluster run: instance A gets SIGKILL at a quarter of the turns and the
   worker at half the confirms; each is started again at once, as systemd would. A session
   is lost when its user never gets its delivery or an answer it typed is not stored.
3. Follow: after the load, a page on instance A and a page of the same session on instance B
   (their own ports, past nginx); a change typed on A, timed until B's page has it.
4. Backup and restore of 10,000 sessions: scripts/bench_backup.py in the same run.

Run as ``scripts/bench --issue17`` (these options follow it). A build held by the killed
worker comes back after ``LEASE_S``, so the worker's death shows in the delivery figures.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_web import GOAL_P99_MS, GOAL_RATE, GOAL_RATE_SHARE, GOAL_SESSIONS, measure  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.cluster_client import Progress, Walked, answers_by_question, walk_cafe  # noqa: E402
from testing.pacing import Pace  # noqa: E402
from testing.process_memory import group_pids, memory_mb, tree_pids  # noqa: E402

LEASE_S = 10.0  # a killed worker's claim comes back after this (tests/test_cluster.py's)
GOAL_FOLLOW_P99_MS = 100.0
# A page may send 10 messages a second (channels/web/connection.py's budget): the follow
# samples are typed at 8 a second, faster than anyone types, within what a page is allowed.
FOLLOW_GAP_S = 0.125
SETTINGS = {
    "ASSISTANT_LANGUAGE": "en",
    "ASSISTANT_LLM_ENABLED": "false",
    "ASSISTANT_WARM_UP": "false",
    "ASSISTANT_WEB_VOICE": "false",
    "ASSISTANT_CHROMIUM": "/nonexistent/chromium",  # no browser check of each page
    "ASSISTANT_LOG_LEVEL": "warning",
}
CLUSTER_SETTINGS = {**SETTINGS, "ASSISTANT_GENERATION_LEASE_S": str(LEASE_S)}
PARTS = {"a": "instance_a", "b": "instance_b", "worker": "worker", "redis": "redis",
         "nginx": "nginx"}  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def part_memory(cluster: Cluster) -> dict[str, float]:
    """RSS of each part now (its process group), PostgreSQL's postmaster and backends summed,
    and their PSS (shared buffers shared out)."""
    found: dict[str, float] = {}
    for name, label in PARTS.items():
        process = cluster.parts[name].process
        if process is not None and process.returncode is None:
            found[label] = memory_mb(group_pids(process.pid))[0]
    if cluster.postgres is not None:
        postmaster = int((cluster.postgres.data / "postmaster.pid").read_text().split()[0])
        pids = tree_pids(postmaster)
        found["postgres"], found["postgres_pss"] = memory_mb(pids)
        found["postgres_processes"] = len(pids)
    return found


async def _kill_then_start(
    cluster: Cluster, name: str, progress: Progress, when: Callable[[Progress], bool]
) -> dict[str, float]:
    """SIGKILL ``name`` once ``when`` holds, then start it again; what the moment was."""
    await progress.until(when)
    running = 0
    if name == "worker":  # the builds the dying worker holds
        builds = await asyncio.to_thread(cluster.rows_by_session, "generations")
        running = sum(1 for rows in builds.values() for row in rows if row[1] == "running")
    moment: dict[str, float] = {
        "at": asyncio.get_running_loop().time(),
        "turns": progress.turns,
        "confirmed": progress.confirmed,
        "running": running,
    }
    await cluster.kill(name)
    started = time.monotonic()
    await cluster.start_part(name)
    moment["restart_s"] = time.monotonic() - started
    return moment


async def _unless_never(kill: asyncio.Task[dict[str, float]], due: bool) -> dict[str, float]:
    """A kill's moment once it is done; nothing when its moment never came (the users
    finished, or failed, before it), and then the kill is called off."""
    if due:
        return await kill
    kill.cancel()
    return {}


async def lost_sessions(cluster: Cluster, walks: list[Walked]) -> list[str]:
    """Each lost session, with why: no delivery reached its page, or the store misses one of
    the answers its user typed (or holds another shop's name, or is not delivered)."""
    stored = await cluster.stored_sessions([w.key for w in walks if w.key is not None])
    lost = []
    for walked in walks:
        session = stored.get(walked.key) if walked.key is not None else None
        answered = {q for q, text in walked.typed.items() if text != "skip"} - {"menu", "confirm"}
        if walked.error or not walked.delivered:
            lost.append(f"{walked.number}: no delivery ({walked.error})")
        elif session is None:
            lost.append(f"{walked.number}: its session is not stored")
        elif missing := sorted(answered - set(session.answers)):
            lost.append(f"{walked.number}: answers not stored: {missing}")
        elif session.answers.get("shop_name") != walked.shop or session.state != "delivered":
            lost.append(f"{walked.number}: stored {session.state}, {session.answers}")
    return lost


async def _next_replies(ws: aiohttp.ClientWebSocketResponse) -> float:
    """When the next replies arrive on ``ws`` (perf_counter)."""
    while True:
        try:
            message = await ws.receive(timeout=30)
        except TimeoutError as err:
            raise TimeoutError(f"no replies for 30 s on {ws.get_extra_info('peername')}") from err
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket ended: {message.type.name}")
        if message.json()["type"] == "replies":
            return time.perf_counter()


async def follow_times(cluster: Cluster, samples: int) -> tuple[list[float], list[float]]:
    """Milliseconds from an answer sent by a page on A to the replies on B's page of the same
    session, and to A's own page, ``samples`` times: the café job chosen, then its shop's
    name and "back" in turn (an answer the menu does not know would time the job-choice
    model, loaded on first use). The headers are those nginx passes on: an instance refuses
    its own port under the public name."""
    headers = {"Host": "127.0.0.1", "Origin": cluster.base}
    async with aiohttp.ClientSession() as http:
        page_a = await http.ws_connect(cluster.instance_url("a") + "/ws", headers=headers)
        await page_a.send_json({"type": "hello", "language": "en"})
        key = None
        while key is None:
            message = (await page_a.receive(timeout=30)).json()
            key = message.get("key") if message["type"] == "session" else None
        await _next_replies(page_a)
        page_b = await http.ws_connect(cluster.instance_url("b") + "/ws", headers=headers)
        await page_b.send_json({"type": "hello", "language": "en", "session": key})
        # B's resume is a change too: A's page is shown it before the first sample.
        await asyncio.gather(_next_replies(page_b), _next_replies(page_a))
        took: list[float] = []
        on_a: list[float] = []
        for number in range(-1, samples):  # -1: the menu's choice, not counted
            text = "1" if number < 0 else "back" if number % 2 else f"Cafe {number}"
            started = time.perf_counter()
            await page_a.send_json({"type": "say", "text": text})
            a, b = await asyncio.gather(_next_replies(page_a), _next_replies(page_b))
            if number >= 0:
                took.append((b - started) * 1000)
                on_a.append((a - started) * 1000)
            await asyncio.sleep(max(0.0, started + FOLLOW_GAP_S - time.perf_counter()))  # pacing
        await page_a.close()
        await page_b.close()
    return took, on_a


async def run_cluster(
    folder: Path, sessions: int, rate: float, follow_samples: int, patience: float
) -> dict[str, Any]:
    """The cluster under the load, with the kills; then the follow samples. A user without
    its delivery ``patience`` seconds after the last paced turn is lost."""
    cluster = Cluster(
        folder, settings=CLUSTER_SETTINGS, nginx_connections=max(2048, 2 * sessions + 512)
    )
    await cluster.start()
    try:
        progress = Progress()
        context = cluster.client_ssl()
        loop = asyncio.get_running_loop()
        connect_window = max(5.0, sessions / 100)  # TLS through nginx: slower than bench_web's
        pace = Pace.steady(sessions, rate, loop.time() + connect_window)
        turns_each = len(answers_by_question("Cafe 0")) + 2
        total_turns = sessions * turns_each
        deadline = pace.start_at + pace.interval * turns_each + patience
        kill_a = asyncio.create_task(
            _kill_then_start(cluster, "a", progress, lambda p: p.turns >= total_turns // 4)
        )
        kill_worker = asyncio.create_task(
            _kill_then_start(cluster, "worker", progress, lambda p: p.confirmed >= sessions // 2)
        )
        walks = []
        for number in range(sessions):
            walk = walk_cafe(number, cluster.base, context, progress, pace, deadline)
            walks.append(asyncio.create_task(walk))
            await asyncio.sleep(connect_window * 0.8 / sessions)
        everyone = asyncio.gather(*walks)
        connected = asyncio.create_task(progress.until(lambda p: p.connected >= sessions))
        either: list[asyncio.Future[Any]] = [connected, everyone]  # everyone: or failed
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        connected.cancel()
        memory_connected = part_memory(cluster)
        done: list[Walked] = await everyone
        memory_end = part_memory(cluster)
        a_moment = await _unless_never(kill_a, progress.turns >= total_turns // 4)
        worker_moment = await _unless_never(kill_worker, progress.confirmed >= sessions // 2)
        lost = await lost_sessions(cluster, done)
        builds = await asyncio.to_thread(cluster.rows_by_session, "generations")
        statuses = Counter(row[1] for rows in builds.values() for row in rows)
        follow, follow_on_a = await follow_times(cluster, follow_samples)
    finally:
        await cluster.stop()
    for reason in lost[:5]:
        print(f"# lost: {reason}", file=sys.stderr)
    killed_at = a_moment.get("at", math.inf)
    return {
        **progress.times.figures(),
        "p99_before_kill_ms": progress.times.p99_ms(until=killed_at),
        "p99_kill_to_10s_ms": progress.times.p99_ms(since=killed_at, until=killed_at + 10),
        "p99_after_10s_ms": progress.times.p99_ms(since=killed_at + 10),
        "sessions": sessions,
        "lost": len(lost),
        "builds": dict(statuses),
        "reconnected": sum(1 for w in done if w.connects > 1),
        "a_killed_after_turns": a_moment.get("turns", math.nan),
        "a_restart_s": a_moment.get("restart_s", math.nan),
        "worker_killed_after_confirms": worker_moment.get("confirmed", math.nan),
        "worker_builds_running": worker_moment.get("running", math.nan),
        "worker_restart_s": worker_moment.get("restart_s", math.nan),
        "memory_connected": memory_connected,
        "memory_end": memory_end,
        "follow": follow,
        "follow_on_a": follow_on_a,
    }


def _paired(name: str, single: float | None, cluster: float, unit: str, digits: int = 1) -> None:
    """The same figure of both setups on two lines, single first."""
    if single is not None:
        print(f"single_{name}: {single:.{digits}f} {unit}")
    print(f"cluster_{name}: {cluster:.{digits}f} {unit}")


def print_figures(single: dict[str, Any] | None, cluster: dict[str, Any]) -> None:
    """Every figure as ``name: value unit``, single and cluster side by side."""
    s = single or {}
    n = cluster["sessions"]
    print(f"sessions: {n} at {cluster['rate']:.0f} turns/s asked")
    if single is not None:
        print(f"single_session_failures: {s['failures']}")
    for name, key, unit, digits in (
        ("turns", "turns", "turns", 0),
        ("turns_per_second", "turns_per_second", "turns/s", 0),
        ("turn_latency_p50", "p50_ms", "ms", 1),
        ("turn_latency_p99", "p99_ms", "ms", 1),
        ("turn_latency_max", "max_ms", "ms", 1),
        ("confirm_to_delivery_p50", "delivery_p50_ms", "ms", 0),
    ):
        _paired(name, s.get(key) if single else None, cluster[key], unit, digits)
    for phase, words in (
        ("before_kill", "turns sent before A's SIGKILL"),
        ("kill_to_10s", "turns sent in the 10 s after it"),
        ("after_10s", "the rest"),
    ):
        print(f"cluster_turn_latency_p99_{phase}: {cluster[f'p99_{phase}_ms']:.1f} ms ({words})")
    if single is not None:
        print(f"single_rss_server_connected: {s['server_rss_connected']:.0f} MB")
        print(f"single_rss_server_end: {s['server_rss_end']:.0f} MB")
    for moment in ("connected", "end"):
        memory = cluster[f"memory_{moment}"]
        for label in (*PARTS.values(), "postgres"):
            if label not in memory:
                continue
            extra = (
                f" (PSS {memory['postgres_pss']:.0f} MB, {memory['postgres_processes']:.0f} "
                "processes: postmaster and backends)"
                if label == "postgres"
                else ""
            )
            print(f"cluster_rss_{label}_{moment}: {memory[label]:.0f} MB{extra}")
        total = sum(memory.get(label, 0.0) for label in (*PARTS.values(), "postgres"))
        print(f"cluster_rss_all_processes_{moment}: {total:.0f} MB")
    print(f"cluster_instance_a_killed_after_turns: {cluster['a_killed_after_turns']:.0f} "
          f"(started again in {cluster['a_restart_s']:.1f} s)")  # fmt: skip
    print(f"cluster_worker_killed_after_confirms: {cluster['worker_killed_after_confirms']:.0f} "
          f"({cluster['worker_builds_running']:.0f} builds running; started again in "
          f"{cluster['worker_restart_s']:.1f} s)")  # fmt: skip
    print(f"cluster_sessions_reconnected: {cluster['reconnected']}")
    builds = ", ".join(f"{status} {count}" for status, count in sorted(cluster["builds"].items()))
    print(f"cluster_sessions_lost: {cluster['lost']} (of {n}; builds: {builds})")
    follow = cluster["follow"]
    print(f"cluster_follow_a_to_b_p50: {percentile(follow, 0.5):.1f} ms (n={len(follow)})")
    print(f"cluster_follow_a_to_b_p99: {percentile(follow, 0.99):.1f} ms (n={len(follow)})")
    print(f"cluster_follow_a_to_b_max: {max(follow):.1f} ms (sample {follow.index(max(follow))})")
    on_a = cluster["follow_on_a"]
    print(f"cluster_follow_reply_on_a_p50: {percentile(on_a, 0.5):.1f} ms (A's own page)")
    print(f"cluster_follow_reply_on_a_max: {max(on_a):.1f} ms (sample {on_a.index(max(on_a))})")
    for line in goal_lines(single, cluster):
        print(line)


def _load_goal(figures: dict[str, Any], failures: int) -> str:
    p99, rate = float(figures["p99_ms"]), float(figures["turns_per_second"])
    sessions = int(figures["sessions"])
    loaded = sessions >= GOAL_SESSIONS and rate >= GOAL_RATE * GOAL_RATE_SHARE
    fast = p99 < GOAL_P99_MS and failures == 0
    verdict = "not met" if not fast else "met" if loaded else "not judged (a lighter load)"
    return f"{verdict} (p99 {p99:.1f} ms at {rate:.0f} turns/s, {sessions} sessions)"


def goal_lines(single: dict[str, Any] | None, cluster: dict[str, Any]) -> list[str]:
    """Whether each goal was met, with the figures it was judged on."""
    load = f"p99_under_{GOAL_P99_MS:.0f}ms_at_{GOAL_RATE:.0f}_turns_per_second"
    lines = []
    if single is not None:
        lines.append(f"single_goal_{load}: {_load_goal(single, int(single['failures']))}")
    lines.append(f"cluster_goal_{load}: {_load_goal(cluster, int(cluster['lost']))}")
    lost, n = int(cluster["lost"]), int(cluster["sessions"])
    killed = not math.isnan(cluster["a_killed_after_turns"]) and not math.isnan(
        cluster["worker_killed_after_confirms"]
    )
    verdict = "met" if lost == 0 and killed else "not met"
    lines.append(
        f"cluster_goal_no_session_lost_when_killed: {verdict} ({lost} lost of {n}; A killed "
        f"after {cluster['a_killed_after_turns']:.0f} turns, the worker after "
        f"{cluster['worker_killed_after_confirms']:.0f} confirms)"
    )
    p99 = percentile(cluster["follow"], 0.99)
    verdict = "met" if p99 <= GOAL_FOLLOW_P99_MS else "not met"
    lines.append(
        f"cluster_goal_follow_p99_within_{GOAL_FOLLOW_P99_MS:.0f}ms: {verdict} "
        f"(p99 {p99:.1f} ms over {len(cluster['follow'])} changes made on A)"
    )
    return lines


def _load_average(when: str) -> None:
    one, five, fifteen = os.getloadavg()
    print(f"load_average_{when}: {one:.2f} (5 min {five:.2f}, 15 min {fifteen:.2f})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2000, help="websocket sessions at once")
    parser.add_argument("--rate", type=float, default=200.0, help="turns per second, overall")
    parser.add_argument("--follow-samples", type=int, default=500, help="changes made on A")
    parser.add_argument("--backup-sessions", type=int, default=10_000)
    parser.add_argument("--backup-turns", type=int, default=100_000)
    parser.add_argument("--no-backup", action="store_true", help="no backup/restore figures")
    parser.add_argument("--no-single", action="store_true", help="the cluster's figures only")
    parser.add_argument(
        "--patience", type=float, default=180.0,
        help="seconds after the last paced turn a delivery may take before its session is lost",
    )  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep the cluster's folder (logs) here")
    args = parser.parse_args(argv)
    _load_average("start")
    started = time.monotonic()
    single = None
    if not args.no_single:
        single = measure(args.sessions, args.rate, 1, SETTINGS)
        print(f"single_run_time: {time.monotonic() - started:.0f} s")
        print(f"# single: {single}", flush=True)  # kept should the cluster's part go wrong
    _load_average("between")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        where = args.keep or Path(folder)
        cluster = asyncio.run(
            run_cluster(where, args.sessions, args.rate, args.follow_samples, args.patience)
        )
    cluster["rate"] = args.rate
    print(f"cluster_run_time: {time.monotonic() - started:.0f} s")
    print_figures(single, cluster)
    _load_average("after_load")
    if not args.no_backup:
        from scripts.bench_backup import main as backup_main

        backup_main(["--sessions", str(args.backup_sessions), "--turns", str(args.backup_turns)])
        _load_average("end")


if __name__ == "__main__":
    main()
