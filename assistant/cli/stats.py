"""``assistant stats``: the numbers behind the staff charts, as tables or JSON.

The same figures the console's charts draw (``assistant/staff/metrics.py``), for staff who
want them before the console exists, and for scripts (``--json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from assistant.config import Settings
from assistant.staff.metrics import Figures, Timing, compute
from assistant.store.sqlite import SQLiteStore


def add_stats_parser(commands: Any) -> None:
    """The ``stats`` command and its options."""
    stats = commands.add_parser("stats", help="completion funnels, re-asks, timings, failures")
    stats.add_argument("--days", type=float, help="only sessions started in the last N days")
    stats.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _timing(timing: Timing) -> str:
    return f"{timing.count} cases, p50 {_seconds(timing.p50)}, p90 {_seconds(timing.p90)}"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A titled plain-text table with columns as wide as their widest cell."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title]
    for row in cells:
        lines.append(
            ("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip()
        )
    if not rows:
        lines.append("  (none)")
    return [*lines, ""]


def report(figures: Figures) -> str:
    """Every figure as plain-text tables."""
    lines = [f"{figures.sessions} sessions, {figures.completions} delivered", ""]
    lines += table(
        "Jobs",
        ("job", "started", "read back", "delivered"),
        [(f.job_id or "(none)", f.started, f.confirmed, f.delivered) for f in figures.funnels],
    )
    for funnel in figures.funnels:
        if funnel.questions:
            lines += table(
                f"Questions of {funnel.job_id}",
                ("question", "reached", "stopped here", "re-asked"),
                [(q.question_id, q.reached, q.stopped, q.reasks) for q in funnel.questions],
            )
    lines += table(
        "Days",
        ("day", "channel", "sessions", "delivered"),
        [(d.day, d.channel, d.sessions, d.completions) for d in figures.days],
    )
    lines += [f"Start to delivery: {_timing(figures.to_delivery)}"]
    lines += [f"Generation: {_timing(figures.generation)}"]
    lines += [f"  {job}: {_timing(t)}" for job, t in figures.generation_by_job.items()]
    lines += [""]
    lines += table(
        "Models",
        ("model", "outcome", "artifacts", "mean model time"),
        [
            (m.model or "(template only)", m.outcome or "-", m.artifacts, _seconds(m.mean_seconds))
            for m in figures.models
        ],
    )
    lines += table(
        "Failed generations", ("code", "count"), [(f.code, f.count) for f in figures.failures]
    )
    return "\n".join(lines).rstrip() + "\n"


async def run_stats(settings: Settings, args: argparse.Namespace) -> int:
    """Print the figures of the window asked for."""
    store = SQLiteStore(settings.database_path)
    await store.open()
    try:
        figures = await compute(store, days=args.days)
    finally:
        await store.close()
    if args.json:
        data = dataclasses.asdict(figures)
        data.update(sessions=figures.sessions, completions=figures.completions)
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(report(figures), end="")
    return 0
