"""Benchmarks, one ``name: value unit`` line per figure.

Dialog: text turns through the manager with SQLite persistence, on one core. Users walk the
café job (choose it, answer, ask for help, go back, confirm) in a temporary data folder.
Generation: for every job, the time from the user's "yes" at confirm to the delivery reply
with its links, through the real queue, generators, checks, sandbox and browser.
Speech (scripts/bench_speech.py), Telegram (bench_telegram.py), the language model and the
knowledge base (bench_llm.py, bench_knowledge.py), the web chat under load (bench_web.py) and
under unpaced audio (bench_audio_flood.py, issue 12; ``--only-audio-flood`` runs it alone)
follow; then Kokoro and Open JTalk first audio, the confirm burst (at 200 turns/s with the
model off and busy, then all in one second, before/after) and memory (bench_startup.py,
issue 13; ``--only-voices``, ``--only-burst``, ``--only-memory``);
recognition of the spoken corpus (bench_recognition.py, issue 13) with ``--only-recognition``;
how long an enrichment waits while the real Qwen writes for someone else, before and after the
one model slot (bench_model_slot.py, issue 13 review part F) with ``--only-model-slot``;
job choice in one's own words without and with the model (bench_job_choice.py, issue 14)
with ``--only-job-choice``. ``--issue13`` runs every figure issue 13 names in one run;
``--issue15`` runs issue 15's figures per artifact (bench_artifacts.py): confirm → delivered
without and with the model, page and zip weight, the Chromium check, and the counts of jobs,
sections and layouts; its own options (``--no-model``, ``--jobs``, ``--repeats``) follow it.
``--issue16`` runs issue 16's figures (bench_console.py): console page loads with 10,000
sessions and 100,000 turns, "help" twice → flagged, a staff message → the web user's socket.
``--issue17-backup`` runs issue 17's backup figures (bench_backup.py): ``assistant backup`` and
``assistant restore`` with 10,000 sessions, Litestream's first sync and a restore to a time.
``--issue17-follow`` (bench_follow.py): a change on instance A reaching a page on instance B,
by Redis pub/sub and by polling, p50/p99. ``--issue17`` runs every figure issue 17 names in
one run (bench_cluster.py): the single SQLite server and the PostgreSQL/Redis cluster side by
side under the same websocket load (turns/s, p50/p99, confirm → delivery, every process's
memory), the sessions lost while instance A and the worker are killed, the follow time
between the cluster's two instances, then bench_backup.py's backup and restore times; its own
options (``--sessions``, ``--rate``, ``--follow-samples``, ``--backup-sessions``, …) follow.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from assistant.config import PROJECT_ROOT
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.loader import load_jobs
from assistant.jobs.phrases import load_phrases
from assistant.store.sqlite import SQLiteStore

SCRIPT_EN = ["", "1", "Blue Bakery", "bread, cake, coffee", "9 to 5", "help", "warm",
             "back", "cool", "#336699", "skip", "skip", "no", "1", "Green Diner"]  # fmt: skip
SCRIPT_JA = ["", "1", "ブルーベーカリー", "パン、ケーキ", "9時から17時", "ヘルプ", "あたたか",
             "戻る", "2番", "青", "スキップ", "スキップ", "いいえ", "1番", "みどり食堂"]  # fmt: skip


async def run(users: int, rounds: int, data_dir: Path) -> tuple[list[float], float]:
    store = SQLiteStore(data_dir / "bench.db")
    await store.open()
    manager = DialogManager(
        jobs=load_jobs(PROJECT_ROOT / "dialogs" / "jobs"),
        phrases=load_phrases(PROJECT_ROOT / "dialogs" / "locales"),
        store=store,
    )
    latencies: list[float] = []

    async def user(n: int) -> None:
        language = "ja" if n % 2 else "en"
        script = SCRIPT_JA if n % 2 else SCRIPT_EN
        for r in range(rounds):
            key = f"bench-{n}-{r}"
            for text in script:
                turn = Turn(session_key=key, text=text, language=language, channel="bench")
                start = time.perf_counter()
                await manager.handle(turn)
                latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(users)))
    elapsed = time.perf_counter() - start
    await store.close()
    return latencies, elapsed


async def generation_latency(data_dir: Path, repeats: int) -> dict[str, list[float]]:
    """Per job: from the user's "yes" at confirm to the delivery reply with its links, with
    the model off (the template path these figures always measured; ``--issue15`` gives the
    same walk with and without the model side by side)."""
    from assistant.compose import Services
    from assistant.config import load_settings
    from scripts.bench_delivery import DeliveryWalker

    settings = load_settings(
        environ={"ASSISTANT_LLM_ENABLED": "false"}, data_dir=str(data_dir / "gen")
    )
    services = Services.build(settings)
    await services.start()
    walker = DeliveryWalker(services)
    timings: dict[str, list[float]] = {}
    try:
        for job in services.jobs.ordered():
            for attempt in range(repeats + 1):  # the first round warms caches and the browser
                delivered = await walker.deliver(job, f"gen-{job.id}-{attempt}")
                if attempt:
                    timings.setdefault(job.id, []).append(delivered.seconds)
    finally:
        await services.stop()
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def llm_figures() -> None:
    """The language model: the service around a model of known speed (a fake Ollama), then
    the real Qwen in this process (issue 13, part C)."""
    from scripts.bench_llm import main as llm_main
    from scripts.bench_qwen import main as qwen_main

    llm_main(["--no-embeddings"])
    qwen_main([])


def model_slot_figures() -> None:
    """An enrichment asked while the embedded Qwen writes another answer: before, it waited on
    the model's thread; after, the model's slot answers "busy" at once (issue 13, part F)."""
    from scripts.bench_model_slot import main as model_slot_main

    model_slot_main([])


def issue13_figures(sessions: int, rate: float) -> None:
    """Issue 13 asks for its figures side by side from one run; this is that run."""
    from scripts.bench_recognition import main as recognition_main
    from scripts.bench_startup import main as startup_main

    recognition_main([])
    startup_main(
        ["--voices", "--memory", "--burst", "--sessions", str(sessions), "--rate", str(rate)]
    )
    llm_figures()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40, help="sessions walked per user")
    parser.add_argument("--users", type=int, default=8, help="users talking at once")
    parser.add_argument("--generation-repeats", type=int, default=5, help="artifacts per job")
    parser.add_argument("--no-speech", action="store_true", help="skip the speech figures")
    parser.add_argument("--no-web", action="store_true", help="skip the web chat figures")
    parser.add_argument("--no-telegram", action="store_true", help="skip the Telegram figures")
    parser.add_argument("--no-llm", action="store_true", help="skip the language-model figures")
    parser.add_argument("--web-sessions", type=int, default=2000, help="websocket sessions")
    parser.add_argument("--web-rate", type=float, default=200.0, help="web turns per second")
    parser.add_argument(
        "--no-audio-flood", action="store_true", help="skip the unpaced-audio figures"
    )
    parser.add_argument(
        "--only-audio-flood", action="store_true", help="only the unpaced-audio figures"
    )
    parser.add_argument(
        "--only-llm", action="store_true", help="only the language-model figures (real Qwen)"
    )
    # Issue 13, part B (scripts/bench_startup.py): voices, the confirm burst, memory.
    parser.add_argument("--only-voices", action="store_true", help="only Kokoro/Open JTalk")
    parser.add_argument("--only-burst", action="store_true", help="only the confirm burst")
    parser.add_argument("--only-memory", action="store_true", help="only the memory figures")
    parser.add_argument(
        "--only-recognition", action="store_true", help="only the recognition figures (issue 13)"
    )
    parser.add_argument(
        "--only-model-slot", action="store_true", help="only the busy-model figures (real Qwen)"
    )
    parser.add_argument(
        "--issue13",
        action="store_true",
        help="every figure issue 13 names, in one run: recognition, voices, memory, burst, model",
    )
    parser.add_argument(
        "--issue15",
        action="store_true",
        help="issue 15's figures per artifact (scripts/bench_artifacts.py; its options follow)",
    )
    parser.add_argument(
        "--issue16",
        action="store_true",
        help="issue 16's figures: the staff console (scripts/bench_console.py; its options follow)",
    )
    parser.add_argument(
        "--issue17",
        action="store_true",
        help="every figure issue 17 names, in one run (scripts/bench_cluster.py; its options)",
    )
    parser.add_argument(
        "--issue17-backup",
        action="store_true",
        help="issue 17's backup and restore times (scripts/bench_backup.py; its options follow)",
    )
    parser.add_argument(
        "--issue17-follow",
        action="store_true",
        help="issue 17's follow time across two instances (scripts/bench_follow.py; its options)",
    )
    parser.add_argument(
        "--only-job-choice",
        action="store_true",
        help="only job choice in one's own words, without and with the real model (issue 14)",
    )
    args, rest = parser.parse_known_args()
    passes_options = (args.issue15, args.issue16, args.issue17, args.issue17_backup)
    if rest and not (any(passes_options) or args.issue17_follow):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    sys.path.insert(0, str(PROJECT_ROOT))  # for testing.walk's answers
    if args.issue15:
        from scripts.bench_artifacts import main as artifacts_main

        artifacts_main(rest)
        return
    if args.issue16:
        from scripts.bench_console import main as console_main

        console_main(rest)
        return
    if args.issue17:
        from scripts.bench_cluster import main as cluster_main

        cluster_main(rest)
        return
    if args.issue17_backup:
        from scripts.bench_backup import main as backup_main

        backup_main(rest)
        return
    if args.issue17_follow:
        from scripts.bench_follow import main as follow_main

        follow_main(rest)
        return
    if args.only_model_slot:
        model_slot_figures()
        return
    if args.only_job_choice:
        from scripts.bench_job_choice import main as job_choice_main

        job_choice_main(["--model", "--verbose"])
        return
    if args.issue13:
        issue13_figures(args.web_sessions, args.web_rate)
        return
    if args.only_recognition:
        from scripts.bench_recognition import main as recognition_main

        recognition_main([])
        return
    if args.only_llm:
        llm_figures()
        return
    if args.only_audio_flood:
        from scripts.bench_audio_flood import main as audio_flood_main

        audio_flood_main([])
        return
    startup = [
        flag
        for flag, wanted in (
            ("--voices", args.only_voices),
            ("--burst", args.only_burst),
            ("--memory", args.only_memory),
        )
        if wanted
    ]
    if startup:
        from scripts.bench_startup import main as startup_main

        startup_main([*startup, "--sessions", str(args.web_sessions), "--rate", str(args.web_rate)])
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(1, 5, Path(folder)))  # warm-up: imports, caches, first file
        latencies, _ = asyncio.run(run(1, args.rounds, Path(folder)))
        print(f"dialog_turn_latency_p50: {statistics.median(latencies) * 1000:.3f} ms")
        print(f"dialog_turn_latency_p99: {percentile(latencies, 0.99) * 1000:.3f} ms")
        users = args.users
        concurrent, elapsed = asyncio.run(run(users, max(1, args.rounds // 4), Path(folder)))
        print(f"dialog_turns_per_second_{users}_users: {len(concurrent) / elapsed:.0f} turns/s")
        print(
            f"dialog_turn_latency_p50_{users}_users: {statistics.median(concurrent) * 1000:.3f} ms"
        )
        print(
            f"dialog_turn_latency_p99_{users}_users: {percentile(concurrent, 0.99) * 1000:.3f} ms"
        )
        timings = asyncio.run(generation_latency(Path(folder), args.generation_repeats))
        for job_id, values in timings.items():
            print(f"confirm_to_link_{job_id}_median: {statistics.median(values) * 1000:.0f} ms")
            print(f"confirm_to_link_{job_id}_max: {max(values) * 1000:.0f} ms")
    if hasattr(os, "sched_setaffinity"):  # speech runs as on a kiosk, on every core
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    if not args.no_speech:
        from scripts.bench_speech import main as speech_main

        speech_main([])
    if not args.no_telegram:
        from scripts.bench_telegram import main as telegram_main

        telegram_main([])
    if not args.no_llm:
        llm_figures()
        model_slot_figures()
    if not args.no_web:
        from scripts.bench_web import main as web_main

        web_main(["--sessions", str(args.web_sessions), "--rate", str(args.web_rate)])
    if not args.no_audio_flood:
        from scripts.bench_audio_flood import main as audio_flood_main

        audio_flood_main([])
    from scripts.bench_startup import main as startup_main

    startup_main(["--sessions", str(args.web_sessions), "--rate", str(args.web_rate)])
    from scripts.bench_recognition import main as recognition_main

    recognition_main([])
    from scripts.bench_job_choice import main as job_choice_main

    job_choice_main([] if args.no_llm else ["--model"])


if __name__ == "__main__":
    main()
