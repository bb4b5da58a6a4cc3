"""The real language model: Qwen2.5-Coder-1.5B in this process through llama.cpp (issue 13).

Load time, time to the first token and tokens per second of a plain answer, then, for every
job, confirm → first progress, → "writing" (the model started), → enriched delivery, through
the real dialog, generation queue and enriching generators with the embedded backend, side by
side with the template-only delivery of the same answers (the baseline: no model, as before
issue 13). Goals: first enriched delivery ≤ 20 s, progress within the first second.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.compose_models import model_file  # noqa: E402
from assistant.config import PROJECT_ROOT, load_settings  # noqa: E402
from assistant.dialog.manager import DialogManager  # noqa: E402
from assistant.events import ReplyKind, Turn  # noqa: E402
from assistant.generation.queue import GenerationQueue  # noqa: E402
from assistant.jobs.loader import load_jobs  # noqa: E402
from assistant.jobs.phrases import load_phrases  # noqa: E402
from assistant.llm.embedded import EmbeddedModel  # noqa: E402
from assistant.store.sqlite import SQLiteStore  # noqa: E402
from generators.enrich import Enricher, EnrichingGenerator, Enrichment  # noqa: E402
from generators.registry import build_generators  # noqa: E402
from generators.template import TemplateRenderer  # noqa: E402
from testing.walk import good_answer  # noqa: E402


class RecordingEnricher(Enricher):
    """The production enricher, remembering what each job's model call came to."""

    outcomes: dict[str, dict[str, Any]]

    async def enrich(self, job: Any, request: Any, progress: Any = None) -> Enrichment:
        enrichment = await super().enrich(job, request, progress)
        self.outcomes[job.id] = enrichment.record
        return enrichment


async def speed(model: EmbeddedModel) -> dict[str, float]:
    """Load, first token and tokens per second of one plain answer."""
    started = time.perf_counter()
    await model.warm()
    figures = {"load_s": time.perf_counter() - started}
    from langchain_core.messages import HumanMessage, SystemMessage

    messages = [SystemMessage("You answer briefly."), HumanMessage("Name five kinds of bread.")]
    started = time.perf_counter()
    first = 0.0
    count = 0
    async for chunk in model.chat.astream(messages, max_tokens=64):
        if chunk.content:
            count += 1
            first = first or time.perf_counter() - started
    figures["first_token_s"] = first
    figures["tokens_per_s"] = (count - 1) / max(1e-6, time.perf_counter() - started - first)
    return figures


async def deliveries(model: EmbeddedModel | None, folder: Path) -> dict[str, dict[str, Any]]:
    """Per job: seconds from "yes" to the first progress, to "writing", to the delivery."""
    store = SQLiteStore(folder / f"qwen-{time.monotonic_ns()}.db")
    await store.open()
    jobs = load_jobs(PROJECT_ROOT / "dialogs" / "jobs")
    manager = DialogManager(
        jobs=jobs, phrases=load_phrases(PROJECT_ROOT / "dialogs" / "locales"), store=store
    )
    generators = build_generators(TemplateRenderer(), None)
    enricher = RecordingEnricher(model) if model is not None else None
    if enricher is not None:
        enricher.outcomes = {}
        generators = {kind: EnrichingGenerator(g, enricher) for kind, g in generators.items()}
    queue = GenerationQueue(
        store=store, jobs=jobs, generators=generators, artifacts_dir=folder / "artifacts",
        on_delivered=manager.deliver, on_failed=manager.generation_failed,
        on_progress=manager.progress,
    )  # fmt: skip
    manager.on_enqueue = queue.wake
    await queue.start()
    loop = asyncio.get_running_loop()
    results: dict[str, dict[str, Any]] = {}
    for number, job in enumerate(jobs.ordered(), start=1):
        key = f"bench-{job.id}"
        heard: list[tuple[float, Any]] = []
        delivered = asyncio.Event()

        async def listen(
            session_key: str,
            replies: list,
            key: str = key,
            heard: list[tuple[float, Any]] = heard,
            delivered: asyncio.Event = delivered,
        ) -> None:
            if session_key == key:
                heard.extend((loop.time(), reply) for reply in replies)
                # The delivery, or the plain sentence of a generation that failed.
                if any(r.kind in (ReplyKind.DELIVERY, ReplyKind.PROBLEM) for r in replies):
                    delivered.set()

        manager.add_listener("bench", listen)
        for text in ["", str(number)] + [good_answer(q, "en")[0] for q in job.questions]:
            await manager.handle(Turn(key, text=text, language="en", channel="bench"))
        started = loop.time()
        await manager.handle(Turn(key, text="yes", language="en", channel="bench"))
        await asyncio.wait_for(delivered.wait(), 300)
        progress = [at for at, r in heard if r.kind == ReplyKind.PROGRESS]
        writing = [at for at, r in heard if r.progress and r.progress.stage == "writing"]
        results[job.id] = {
            "first_progress": progress[0] - started if progress else None,
            "writing": writing[0] - started if writing else None,
            "delivery": next(
                (at - started for at, r in heard if r.kind == ReplyKind.DELIVERY), None
            ),
            "outcome": (enricher.outcomes.get(job.id, {}) if enricher else {}).get(
                "outcome", "template" if enricher is None or job.enrich == "none" else "failed"
            ),
        }
    await queue.stop()
    await store.close()
    return results


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    settings = load_settings()  # ASSISTANT_LLM_THREADS=1 on a machine busy with other work
    parser.add_argument("--threads", type=int, default=settings.llm_threads)
    args = parser.parse_args(argv)
    path = model_file(settings)
    if not path.is_file():
        sys.exit(
            f"{path} is missing: scripts/fetch-models assemble qwen2.5-coder-1.5b-instruct-q4_k_m"
        )
    model = EmbeddedModel(
        path, num_ctx=settings.llm_num_ctx, threads=args.threads, timeout=settings.llm_timeout_s
    )
    figures = asyncio.run(speed(model))
    print(f"llm_embedded_load: {figures['load_s']:.1f} s ({path.name}, {args.threads} threads)")
    print(f"llm_embedded_first_token: {figures['first_token_s'] * 1000:.0f} ms (short prompt)")
    print(f"llm_embedded_tokens_per_second: {figures['tokens_per_s']:.1f} tokens/s")
    with tempfile.TemporaryDirectory() as folder:
        baseline = asyncio.run(deliveries(None, Path(folder)))
        enriched = asyncio.run(deliveries(model, Path(folder)))
    print(
        "| job | template only: confirm → delivery | Qwen: first progress | Qwen: writing | "
        "Qwen: enriched delivery | outcome |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for job_id, row in enriched.items():
        print(
            f"| {job_id} | {_s(baseline[job_id]['delivery'])} | {_s(row['first_progress'])} | "
            f"{_s(row['writing'])} | {_s(row['delivery'])} | {row['outcome']} |"
        )
    times = [row["delivery"] for row in enriched.values() if row["outcome"] == "used"]
    times = [value for value in times if value is not None]
    if times:
        print(f"llm_enriched_delivery_median: {statistics.median(times):.1f} s (goal ≤ 20 s)")


if __name__ == "__main__":
    main()
