"""The console's charts (issue 16): the figures of ``assistant stats`` for 7, 30 or 90 days.

Each chart is a horizontal bar chart drawn on the server as inline SVG (geometry here, markup
in ``charts.html``), so nothing is fetched from elsewhere and no script is needed; the SVG is
an image with a title for screen readers, and the same numbers stand in a table beside it,
which is what a screen reader reads and what a test compares. The numbers are
``metrics.compute`` of the stored turns, the same truth ``assistant stats`` prints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from assistant.staff.metrics import Figures, Timing, compute
from channels.staff.app import render
from channels.staff.guard import require_role, say
from channels.staff.parts import parts

WINDOWS = (7, 30, 90)
BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 180
PLOT_WIDTH = 360


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, its value as shown, and where it is drawn."""

    label: str
    value: str
    y: int
    width: int


@dataclass(frozen=True, slots=True)
class BarChart:
    """A horizontal bar chart's geometry; ``height`` fits its bars."""

    bars: tuple[Bar, ...]
    height: int
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH


def bar_chart(items: Sequence[tuple[str, float]], unit: str = "") -> BarChart:
    """Bars scaled to the largest value (a zero value draws no bar but keeps its row)."""
    top = max((value for _, value in items), default=0) or 1
    bars = tuple(
        Bar(
            label=label[:28],
            value=f"{value:g}{unit}",
            y=index * (BAR_HEIGHT + GAP),
            width=round(PLOT_WIDTH * value / top),
        )
        for index, (label, value) in enumerate(items)
    )
    return BarChart(bars, max(1, len(bars)) * (BAR_HEIGHT + GAP))


def per_day(figures: Figures) -> list[tuple[str, int, int]]:
    """(day, sessions, completions) over every channel, by day."""
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in figures.days:
        days[row.day][0] += row.sessions
        days[row.day][1] += row.completions
    return [(day, sessions, done) for day, (sessions, done) in sorted(days.items())]


def completion_rate(started: int, delivered: int) -> float:
    """Delivered sessions as a percentage of started ones, to one decimal."""
    return round(100.0 * delivered / started, 1) if started else 0.0


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _timing_row(name: str, timing: Timing) -> tuple[str, int, str, str]:
    return (name, timing.count, _seconds(timing.p50), _seconds(timing.p90))


@require_role("viewer")
async def charts_page(request: web.Request) -> web.Response:
    """Every chart of the chosen window (``?days=7|30|90``, 7 by default)."""
    try:
        days = int(request.query.get("days", "7"))
    except ValueError:
        days = 7
    days = days if days in WINDOWS else 7
    figures = await compute(parts(request).store, days=days)
    no_job = say(request, "stats.no_job")
    daily = per_day(figures)
    rates = [
        (f.job_id or no_job, f.started, f.delivered, completion_rate(f.started, f.delivered))
        for f in figures.funnels
    ]
    timings = [
        _timing_row(say(request, "stats.to_delivery"), figures.to_delivery),
        _timing_row(say(request, "stats.generation"), figures.generation),
        *(_timing_row(job, t) for job, t in figures.generation_by_job.items()),
    ]
    models = [
        (m.model or say(request, "stats.template_only"), m.outcome or "-", m.artifacts,
         _seconds(m.mean_seconds))
        for m in figures.models
    ]  # fmt: skip
    return render(
        request,
        "charts.html",
        title=say(request, "part_charts"),
        days=days,
        windows=WINDOWS,
        figures=figures,
        daily=daily,
        daily_chart=bar_chart([(day[5:], sessions) for day, sessions, _ in daily]),
        rates=rates,
        rates_chart=bar_chart([(job, rate) for job, _, _, rate in rates], "%"),
        funnels=[f for f in figures.funnels if f.questions],
        funnel_chart=lambda funnel: bar_chart(
            [(q.question_id, q.stopped) for q in funnel.questions]
        ),
        timings=timings,
        models=models,
        models_chart=bar_chart([(f"{m[0]} {m[1]}", m[2]) for m in models]),
        failures=figures.failures,
        failures_chart=bar_chart([(f.code, f.count) for f in figures.failures]),
    )


def add_routes(app: web.Application) -> None:
    """The charts screen's route, on the console app."""
    app.router.add_get("/charts", charts_page)
