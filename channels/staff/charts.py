"""The console's charts (issue 16): the figures of ``assistant stats`` for 7, 30 or 90 days.

Each chart is drawn by Chart.js (served by the console, ``vendor.py``) on a ``<canvas>`` from a
``<script type="application/json">`` block of the page: data, never run, so the CSP that allows
scripts only from the console holds, and ``static/charts.js`` reads it. The canvas is an image
whose label is written here, on the server; the same numbers stand in a table beside it, which
is what a screen reader reads, what a test compares, and all there is when Chart.js is not
installed. The numbers are ``metrics.compute`` of the stored turns, the truth ``assistant
stats`` prints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from assistant.staff.metrics import Figures, JobFunnel, Timing, compute
from channels.staff.app import render
from channels.staff.guard import require_role, say
from channels.staff.parts import parts
from channels.staff.vendor import chart_js_url

WINDOWS = (7, 30, 90)
SUMMARISED = 12  # data points an image's label reads out; the table holds them all

Series = tuple[str, Sequence[float | None]]


def chart(
    kind: str, title: str, labels: Sequence[str], series: Sequence[Series], unit: str = ""
) -> dict[str, Any]:
    """One chart's data for ``charts.js`` (``kind`` is "bar" or "line") and its image label."""
    parts_ = []
    for index, label in enumerate(labels[:SUMMARISED]):
        values = ", ".join(f"{name} {_shown(data[index], unit)}" for name, data in series)
        parts_.append(f"{label}: {values}")
    more = " …" if len(labels) > SUMMARISED else ""
    return {
        "kind": kind,
        "title": title,
        "labels": list(labels),
        "series": [{"name": name, "data": list(data)} for name, data in series],
        "unit": unit,
        "summary": f"{title}. {'; '.join(parts_)}{more}",
    }


def _shown(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:g}{unit}"


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


def percent(share: float | None) -> float | None:
    """A share (0–1) as a percentage to one decimal; None stays None (nothing spoken)."""
    return None if share is None else round(100.0 * share, 1)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _number(shown: str) -> float | None:
    """A figure as shown in a table ("-" for none) back as a number for its chart."""
    return None if shown == "-" else float(shown)


def _timing_row(name: str, timing: Timing) -> tuple[str, int, str, str]:
    return (name, timing.count, _seconds(timing.p50), _seconds(timing.p90))


def job_charts(s: Callable[..., str], funnel: JobFunnel) -> dict[str, Any]:
    """A job's two per-question charts: where people stop and are asked again, and how well
    the spoken answers were heard (mean confidence and share read back, in percent)."""
    ids = [q.question_id for q in funnel.questions]
    steps = chart(
        "bar", s("charts.funnel_chart", job=funnel.job_id), ids,
        [(s("stats.stopped"), [q.stopped for q in funnel.questions]),
         (s("stats.reasked"), [q.reasks for q in funnel.questions])],
    )  # fmt: skip
    heard = chart(
        "bar", s("charts.heard_chart", job=funnel.job_id), ids,
        [(s("stats.confidence"), [percent(q.mean_confidence) for q in funnel.questions]),
         (s("stats.low_share"), [percent(q.low_share) for q in funnel.questions])],
        "%",
    )  # fmt: skip
    return {"funnel": funnel, "steps": steps, "heard": heard}


@require_role("viewer")
async def charts_page(request: web.Request) -> web.Response:
    """Every chart of the chosen window (``?days=7|30|90``, 7 by default)."""
    try:
        days = int(request.query.get("days", "7"))
    except ValueError:
        days = 7
    days = days if days in WINDOWS else 7
    figures = await compute(parts(request).store, days=days)

    def s(key: str, **params: Any) -> str:
        return say(request, key, **params)

    no_job = s("stats.no_job")
    daily = per_day(figures)
    rates = [
        (f.job_id or no_job, f.started, f.delivered, completion_rate(f.started, f.delivered))
        for f in figures.funnels
    ]
    timings = [
        _timing_row(s("stats.to_delivery"), figures.to_delivery),
        _timing_row(s("stats.generation"), figures.generation),
        *(_timing_row(job, t) for job, t in figures.generation_by_job.items()),
    ]
    models = [
        (m.model or s("stats.template_only"), m.outcome or "-", m.artifacts,
         _seconds(m.mean_seconds))
        for m in figures.models
    ]  # fmt: skip
    charts = {
        "per-day-data": chart(
            "line", s("charts.per_day_chart"), [day for day, _, _ in daily],
            [(s("stats.sessions"), [n for _, n, _ in daily]),
             (s("stats.delivered"), [n for _, _, n in daily])],
        ),
        "rates-data": chart(
            "bar", s("charts.rates_chart"), [job for job, *_ in rates],
            [(s("charts.rate"), [rate for *_, rate in rates])], "%",
        ),
        "models-data": chart(
            "bar", s("stats.models"), [f"{m[0]} {m[1]}" for m in models],
            [(s("stats.artifacts"), [m[2] for m in models])],
        ),
        "timings-data": chart(
            "bar", s("charts.timings_chart"), [name for name, *_ in timings],
            [(s("charts.p50"), [_number(p50) for _, _, p50, _ in timings]),
             (s("charts.p90"), [_number(p90) for *_, p90 in timings])],
        ),
        "failures-data": chart(
            "bar", s("stats.failures"), [f.code for f in figures.failures],
            [(s("stats.count"), [f.count for f in figures.failures])],
        ),
    }  # fmt: skip
    return render(
        request,
        "charts.html",
        title=s("part_charts"),
        days=days,
        windows=WINDOWS,
        figures=figures,
        daily=daily,
        rates=rates,
        jobs=[job_charts(s, f) for f in figures.funnels if f.questions],
        timings=timings,
        models=models,
        failures=figures.failures,
        charts=charts,
        chart_js=chart_js_url(),
        percent=percent,
    )


def add_routes(app: web.Application) -> None:
    """The charts screen's route, on the console app."""
    app.router.add_get("/charts", charts_page)
