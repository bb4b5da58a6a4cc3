"""One slot knows the model is busy (issue 13, review part F): with the real Qwen writing a help
answer in this process, how long an enrichment waits before its delivery can go on.

Before (the baseline, measured in the same run): the generation queue's guard did not see the
embedded model's own queue, so the enrichment waited on the model's thread until the help
answer was written (measured as the time to the enrichment's first chunk, then stopped). After:
``OneAtATimeModel`` asks the model's ``ModelSlot``, which answers ``busy`` at once, and the
delivery is the template. The goal is the issue's: a template delivery ≤ 1 s whatever the
model is doing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.compose_models import model_file  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.errors import LanguageModelError  # noqa: E402
from assistant.llm.embedded import EmbeddedModel  # noqa: E402
from assistant.llm.model_slot import OneAtATimeModel  # noqa: E402

HELP = (
    "Answer in two short sentences, as JSON with the key answer.",
    "How do I open the page I downloaded?",
    {"type": "object", "properties": {"answer": {"type": "string"}}},
)
ENRICH = ("Answer with JSON.", "A slogan for a bakery.", {"type": "object"})


async def _help_running(model: EmbeddedModel) -> asyncio.Task[object]:
    """Another caller's answer (a help answer's length), once the model writes it."""
    writing = asyncio.Event()
    task = asyncio.create_task(model.complete_json(*HELP, on_chunk=lambda _n: writing.set()))
    await writing.wait()
    return task


async def measure() -> dict[str, float]:
    """Seconds an enrichment waits while a help answer is written: before and after."""
    path = model_file(load_settings())
    model = EmbeddedModel(path, threads=2, max_tokens=96, timeout=120.0)
    await model.warm()
    help_answer = await _help_running(model)
    first_chunk = asyncio.Event()
    asked = time.perf_counter()
    waiting = asyncio.create_task(
        model.complete_json(*ENRICH, on_chunk=lambda _count: first_chunk.set())
    )
    await first_chunk.wait()
    before = time.perf_counter() - asked
    waiting.cancel()
    await asyncio.gather(help_answer, waiting, return_exceptions=True)

    help_answer = await _help_running(model)
    asked = time.perf_counter()
    try:
        await OneAtATimeModel(model).complete_json(*ENRICH)
        code = "written"
    except LanguageModelError as err:
        code = err.code
    after = time.perf_counter() - asked
    await help_answer
    if code != "busy":
        raise SystemExit(f"the enrichment was not refused as busy ({code})")
    return {"before": before, "after": after}


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    figures = asyncio.run(measure())
    print("enrichment_wait_while_a_help_answer_is_written:")
    print(f"{'':24}{'before':>12}{'after':>12}")
    print(f"{'seconds to go on':24}{figures['before']:>12.3f}{figures['after']:>12.3f}")
    print("goal_template_delivery: <= 1 s whatever the model is doing")


if __name__ == "__main__":
    main()
