"""Issue 15's figures per artifact, one ``name: value unit`` line each.

For every job (``--jobs`` picks some), through the real ``Services``: confirm → delivered at
p50 with the model off (one warm-up delivery, then ``--repeats``) and with the default
settings' model (the embedded Qwen, loaded before timing; ``--model-repeats`` deliveries, and
the enrichment's outcome from the artifact's manifest: ``used`` means the model wrote the
words, anything else that the template's own words were delivered); the page weight (the
client's files of the manifest) and the download zip; the time to open the delivered main
file in Chromium and do what the pre-delivery check does with it (a program is used as a
person would, ``generators/interactions.py``; a page is loaded). Then the totals: jobs, the
page section components and the layouts the jobs offer. ``--no-model`` skips the model.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.compose import Services  # noqa: E402
from assistant.config import PROJECT_ROOT, Settings, load_settings  # noqa: E402
from assistant.jobs.catalog import Job, JobCatalog  # noqa: E402
from assistant.jobs.loader import load_jobs  # noqa: E402
from assistant.session import Artifact  # noqa: E402
from generators.browser import BrowserChecker  # noqa: E402
from generators.interactions import interaction_for  # noqa: E402
from generators.program import web_twin  # noqa: E402
from scripts.bench_delivery import DeliveryWalker  # noqa: E402

SECTIONS_DIR = PROJECT_ROOT / "generators" / "templates" / "sections"
MODEL_TIMEOUT_S = 600.0  # one enrichment can take a minute on 2 busy cores; a bound, not a goal


@dataclass(slots=True)
class JobFigures:
    """What one job's deliveries came to."""

    seconds: list[float] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    page_kb: float = 0.0
    zip_kb: float = 0.0
    chromium: list[float] = field(default_factory=list)
    chromium_failed: str = ""


def progress(text: str) -> None:
    """A line for the person waiting (stderr: stdout is the figures)."""
    print(text, file=sys.stderr, flush=True)


def selected(catalog: JobCatalog, wanted: list[str]) -> list[Job]:
    """The jobs in menu order, or only the wanted ones (unknown ids are an error)."""
    jobs = catalog.ordered()
    unknown = set(wanted) - {job.id for job in jobs}
    if unknown:
        sys.exit(f"unknown jobs: {', '.join(sorted(unknown))}")
    return [job for job in jobs if not wanted or job.id in wanted]


def main_file(artifact: Artifact) -> str:
    """The file a person opens first: ``index.html``, else the program's own page."""
    pages = [name for name in artifact.files if name.endswith(".html") and name != "preview.html"]
    return "index.html" if "index.html" in pages else pages[0]


def client_kb(artifact: Artifact) -> tuple[float, float]:
    """KB of the client's files in the manifest (no manifest.json), and of the download zip."""
    folder = Path(artifact.folder)
    names = [name for name in artifact.manifest.get("files", []) if name != "manifest.json"]
    page = sum((folder / name).stat().st_size for name in names)
    return page / 1024, Path(artifact.zip_path).stat().st_size / 1024


def outcome(job: Job, artifact: Artifact) -> str:
    """The enrichment's outcome as the manifest recorded it (``used``: the model wrote)."""
    if job.enrich == "none":
        return "template_only"  # the job asks the model for nothing
    return str((artifact.manifest.get("llm") or {}).get("outcome", "not_recorded"))


async def chromium_check(
    browser: BrowserChecker, job: Job, artifact: Artifact, repeats: int, figures: JobFigures
) -> None:
    """Open the delivered main file and use it as the pre-delivery check does; the first
    round only warms the browser."""
    index = Path(artifact.folder) / main_file(artifact)
    interact = interaction_for(web_twin(job.template) or job.template)
    for attempt in range(repeats + 1):
        started = time.perf_counter()
        result = await browser.check(index, interact=interact)
        if attempt:
            figures.chromium.append(time.perf_counter() - started)
        if not result.passed:
            figures.chromium_failed = result.detail[:200] or "failed"


async def measure(
    settings: Settings,
    wanted: list[str],
    repeats: int,
    *,
    warm_up: bool,
    with_browser: bool,
    timeout_s: float,
) -> dict[str, JobFigures]:
    """Deliver each job ``repeats`` times (after one untimed delivery when ``warm_up``)."""
    services = Services.build(settings)
    if settings.llm_enabled and services.model is None:
        sys.exit("the language model would not load (the llm extra, models/qwen2.5-coder-1.5b)")
    await services.start()
    walker = DeliveryWalker(services, timeout_s=timeout_s)
    results: dict[str, JobFigures] = {}
    try:
        await _warm(services)
        for job in selected(services.jobs, wanted):
            figures = results[job.id] = JobFigures()
            label = "with the model" if services.model is not None else "without the model"
            progress(f"{job.id}: {repeats} deliveries {label}…")
            if warm_up:
                await walker.deliver(job, f"{job.id}-warm")
            for attempt in range(repeats):
                delivered = await walker.deliver(job, f"{job.id}-{attempt}")
                figures.seconds.append(delivered.seconds)
                figures.outcomes.append(outcome(job, delivered.artifact))
            figures.page_kb, figures.zip_kb = client_kb(delivered.artifact)
            if with_browser:
                if services.browser is None:
                    sys.exit("Chromium is not installed: apt-get install chromium")
                await chromium_check(services.browser, job, delivered.artifact, repeats, figures)
    finally:
        await services.stop()
    return results


async def _warm(services: Services) -> None:
    """What a server's start-up opens before its first delivery: the model's weights and the
    knowledge base its enrichments read examples from; then Chromium."""
    if services.model is not None:
        warm = getattr(services.model, "warm", None)
        if warm is not None:
            progress("loading the model…")
            started = time.perf_counter()
            await warm()
            progress(f"the model loaded in {time.perf_counter() - started:.1f} s")
        if services.knowledge is not None:
            await services.knowledge.ready()
    if services.browser is not None:
        await services.browser.browser()


def section_count() -> int:
    """The section components pages are built from (partials, named ``_*``, are not)."""
    return sum(1 for path in SECTIONS_DIR.rglob("*.html.j2") if not path.name.startswith("_"))


def layouts(catalog: JobCatalog) -> dict[str, int]:
    """Per job that offers a choice of layout, how many it offers."""
    return {
        job.id: len(question.choices)
        for job in catalog.ordered()
        for question in job.questions
        if question.id == "layout" and question.type == "choice"
    }


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def lines(results: dict[str, JobFigures], model: dict[str, JobFigures]) -> Iterator[str]:
    """The figures, job by job, in the order they were measured."""
    for job_id, figures in results.items():
        yield f"confirm_to_delivered_{job_id}_p50_no_model: {_ms(figures.seconds)}"
        if job_id in model:
            yield f"confirm_to_delivered_{job_id}_p50_model: {_ms(model[job_id].seconds)}"
            yield f"confirm_to_delivered_{job_id}_model_outcome: {','.join(model[job_id].outcomes)}"
        yield f"page_weight_{job_id}: {figures.page_kb:.1f} KB"
        yield f"download_zip_{job_id}: {figures.zip_kb:.1f} KB"
        failed = f" (check failed: {figures.chromium_failed})" if figures.chromium_failed else ""
        yield f"chromium_check_{job_id}: {_ms(figures.chromium)}{failed}"


def _model_environ() -> dict[str, str]:
    """The default settings, but a machine busy with other work may give the model fewer
    threads (``ASSISTANT_LLM_THREADS``), as ``scripts/bench_qwen.py`` allows."""
    return {k: v for k, v in os.environ.items() if k == "ASSISTANT_LLM_THREADS"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed deliveries per job")
    parser.add_argument(
        "--model-repeats", type=int, default=1, help="timed deliveries per job with the model"
    )
    parser.add_argument("--no-model", action="store_true", help="skip the model's deliveries")
    parser.add_argument("--jobs", default="", help="comma-separated job ids (default: all)")
    args = parser.parse_args(argv)
    wanted = [job_id for job_id in args.jobs.split(",") if job_id]
    with tempfile.TemporaryDirectory() as folder:
        without = load_settings(
            environ={"ASSISTANT_LLM_ENABLED": "false"}, data_dir=str(Path(folder) / "no-model")
        )
        results = asyncio.run(
            measure(without, wanted, args.repeats, warm_up=True, with_browser=True, timeout_s=60.0)
        )
        model: dict[str, JobFigures] = {}
        if not args.no_model:
            settings = load_settings(environ=_model_environ(), data_dir=str(Path(folder) / "model"))
            model = asyncio.run(
                measure(
                    settings,
                    wanted,
                    args.model_repeats,
                    warm_up=False,
                    with_browser=False,
                    timeout_s=MODEL_TIMEOUT_S,
                )
            )
    for line in lines(results, model):
        print(line, flush=True)
    catalog = load_jobs(PROJECT_ROOT / "dialogs" / "jobs")
    print(f"jobs: {len(catalog.ordered())} jobs")
    print(f"page_sections: {section_count()} sections")
    offered = layouts(catalog)
    detail = ", ".join(f"{job_id} {count}" for job_id, count in offered.items())
    print(f"page_layouts: {sum(offered.values())} layouts ({detail})")


if __name__ == "__main__":
    main()
