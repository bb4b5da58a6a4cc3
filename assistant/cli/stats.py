"""``assistant stats``: the numbers behind the staff charts, as tables or JSON.

The same figures the console's charts draw (``assistant/staff/metrics.py``), for staff who
want them before the console exists, and for scripts (``--json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from assistant.compose_store import store_for
from assistant.config import Settings
from assistant.jobs.phrases import Phrases, load_phrases
from assistant.staff.metrics import Figures, Timing, compute


def add_stats_parser(commands: Any) -> None:
    """The ``stats`` command and its options."""
    stats = commands.add_parser("stats", help="completion funnels, re-asks, timings, failures")
    stats.add_argument("--days", type=float, help="only sessions started in the last N days")
    stats.add_argument("--json", action="store_true", help="print JSON instead of tables")
    stats.add_argument("--lang", choices=("ja", "en"), help="language of the tables")


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _share(value: float | None) -> str:
    """A 0–1 figure as a percentage ("-" when no answer was spoken)."""
    return "-" if value is None else f"{100 * value:.1f}%"


class Report:
    """The figures as plain-text tables, in one language's words (``staff.stats.*``)."""

    def __init__(self, phrases: Phrases, language: str) -> None:
        self.phrases = phrases
        self.language = language

    def say(self, key: str, **params: Any) -> str:
        """One phrase of the report."""
        return self.phrases.say(self.language, f"staff.stats.{key}", **params)

    def timing(self, timing: Timing) -> str:
        """A count with its median and 90th percentile."""
        return self.say(
            "timing", count=timing.count, p50=_seconds(timing.p50), p90=_seconds(timing.p90)
        )

    def table(self, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
        """A titled table; ``header`` names phrases, columns are as wide as their widest cell."""
        cells = [[self.say(key) for key in header], *[[str(c) for c in row] for row in rows]]
        widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
        lines = [title]
        for row in cells:
            padded = (
                cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)
            )
            lines.append(("  " + "  ".join(padded)).rstrip())
        if not rows:
            lines.append("  " + self.say("none"))
        return [*lines, ""]

    def text(self, figures: Figures) -> str:
        """Every figure, table by table."""
        summary = self.say("summary", sessions=figures.sessions, completions=figures.completions)
        lines = [summary, ""]
        lines += self.table(
            self.say("jobs"),
            ("job", "started", "confirmed", "delivered"),
            [
                (f.job_id or self.say("no_job"), f.started, f.confirmed, f.delivered)
                for f in figures.funnels
            ],
        )
        for funnel in figures.funnels:
            if funnel.questions:
                lines += self.table(
                    self.say("questions_of", job=funnel.job_id),
                    ("question", "reached", "stopped", "reasked", "spoken", "confidence",
                     "low_share"),
                    [(q.question_id, q.reached, q.stopped, q.reasks, q.spoken,
                      _share(q.mean_confidence), _share(q.low_share))
                     for q in funnel.questions],
                )  # fmt: skip
        lines += self.table(
            self.say("days"),
            ("day", "channel", "sessions", "delivered"),
            [(d.day, d.channel, d.sessions, d.completions) for d in figures.days],
        )
        lines += [f"{self.say('to_delivery')}: {self.timing(figures.to_delivery)}"]
        lines += [f"{self.say('generation')}: {self.timing(figures.generation)}"]
        lines += [f"  {job}: {self.timing(t)}" for job, t in figures.generation_by_job.items()]
        lines += [""]
        lines += self.table(
            self.say("models"),
            ("model", "outcome", "artifacts", "mean_time"),
            [
                (m.model or self.say("template_only"), m.outcome or "-", m.artifacts,
                 _seconds(m.mean_seconds))
                for m in figures.models
            ],
        )  # fmt: skip
        lines += self.table(
            self.say("failures"), ("code", "count"), [(f.code, f.count) for f in figures.failures]
        )
        return "\n".join(lines).rstrip() + "\n"


async def run_stats(settings: Settings, args: argparse.Namespace) -> int:
    """Print the figures of the window asked for."""
    store = store_for(settings)
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
        report = Report(load_phrases(settings.locales_dir), args.lang or settings.language)
        print(report.text(figures), end="")
    return 0
