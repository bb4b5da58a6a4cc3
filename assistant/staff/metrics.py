"""The numbers behind the staff charts, from the turn history that is already stored.

Where people give up (a completion funnel per job and per question), how many sessions start
and finish each day on each channel, which questions are asked again after a problem, how
long a user waits from the first word to the delivery, how long generation takes and which
model wrote what, and why generations fail. The store aggregates (``FiguresStore``, SQL in
``assistant/store/stats.py``); this module only shapes its rows into dataclasses and takes
percentiles, so the console's charts and tables and ``assistant stats`` show one truth.

How well each question is heard: a spoken turn stores the recogniser's confidence (typed
ones store none), so each question has its spoken answers' mean confidence and the share of
them below the read-back threshold, next to its re-asks: a question people must repeat, or
that is often read back, needs other words or other expected phrases.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

DAY = 86400.0


class FiguresStore(Protocol):
    """The store's side: named rows of aggregated numbers for a window."""

    async def figures(self, since: float) -> dict[str, list[tuple[Any, ...]]]:
        """The raw figures of the sessions started since ``since``."""
        ...


@dataclass(frozen=True, slots=True)
class QuestionStep:
    """One question of a job's funnel: sessions that reached it, stopped at it, re-asks."""

    question_id: str
    reached: int
    stopped: int
    reasks: int
    spoken: int = 0  # spoken answers to it (the ones with a recogniser's confidence)
    mean_confidence: float | None = None  # None when no answer was spoken
    low_share: float | None = None  # share of spoken answers below the read-back threshold


@dataclass(frozen=True, slots=True)
class JobFunnel:
    """A job's sessions from the start to the read-back and the delivery."""

    job_id: str  # "" for sessions that never chose a job
    started: int
    confirmed: int  # reached the read-back of every answer
    delivered: int
    questions: tuple[QuestionStep, ...]  # in the order they were first asked


@dataclass(frozen=True, slots=True)
class DayCount:
    """Sessions started on one (local) day on one channel, and how many got a delivery."""

    day: str
    channel: str
    sessions: int
    completions: int


@dataclass(frozen=True, slots=True)
class Timing:
    """How long something took, over ``count`` cases (``None`` when there are none)."""

    count: int
    p50: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class ModelUse:
    """Artifacts by the model that wrote their creative parts ("" for the template alone)."""

    model: str
    outcome: str  # used, timeout, invalid_output… ("" when no model was asked)
    artifacts: int
    mean_seconds: float | None


@dataclass(frozen=True, slots=True)
class FailureCount:
    """Failed generations with one error code."""

    code: str
    count: int


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything the charts show, for the sessions started since ``since``."""

    since: float
    funnels: tuple[JobFunnel, ...]
    days: tuple[DayCount, ...]
    to_delivery: Timing
    generation: Timing
    generation_by_job: dict[str, Timing]
    models: tuple[ModelUse, ...]
    failures: tuple[FailureCount, ...]

    @property
    def sessions(self) -> int:
        """Sessions started in the window."""
        return sum(funnel.started for funnel in self.funnels)

    @property
    def completions(self) -> int:
        """Sessions of the window that got a delivery."""
        return sum(funnel.delivered for funnel in self.funnels)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` of 0.5 is the median); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return float(ordered[rank - 1])


def timing(values: Sequence[float]) -> Timing:
    """The count, median and 90th percentile of ``values``."""
    return Timing(len(values), percentile(values, 0.5), percentile(values, 0.9))


def _funnels(rows: dict[str, list[tuple[Any, ...]]]) -> tuple[JobFunnel, ...]:
    heard = {
        (job, question): (count, mean, low)
        for job, question, count, mean, low in rows["confidence"]
    }
    steps: dict[str, list[tuple[int, QuestionStep]]] = defaultdict(list)
    for job, question, reached, reasks, first, stopped in rows["questions"]:
        count, mean, low = heard.get((job, question), (0, None, 0))
        step = QuestionStep(
            question, reached, stopped, reasks or 0, count,
            None if mean is None else round(float(mean), 3),
            round((low or 0) / count, 3) if count else None,
        )  # fmt: skip
        steps[job].append((first, step))
    return tuple(
        JobFunnel(
            job_id=job,
            started=started,
            confirmed=confirmed or 0,
            delivered=delivered or 0,
            questions=tuple(step for _, step in sorted(steps[job], key=lambda s: s[0])),
        )  # fmt: skip
        for job, started, confirmed, delivered in rows["jobs"]
    )


def shape(rows: dict[str, list[tuple[Any, ...]]], since: float) -> Figures:
    """The store's raw rows (``assistant/store/stats.py``) as ``Figures``."""
    by_job: dict[str, list[float]] = defaultdict(list)
    for job, seconds in rows["generation"]:
        by_job[job or ""].append(seconds)
    return Figures(
        since=since,
        funnels=_funnels(rows),
        days=tuple(DayCount(*row) for row in rows["days"]),
        to_delivery=timing([seconds for (seconds,) in rows["to_delivery"]]),
        generation=timing([seconds for values in by_job.values() for seconds in values]),
        generation_by_job={job: timing(values) for job, values in sorted(by_job.items())},
        models=tuple(ModelUse(*row) for row in rows["models"]),
        failures=tuple(FailureCount(*row) for row in rows["failures"]),
    )


async def compute(
    store: FiguresStore, *, days: float | None = None, clock: Callable[[], float] = time.time
) -> Figures:
    """The figures of the sessions started in the last ``days`` (all of them when None)."""
    since = clock() - days * DAY if days else 0.0
    return shape(await store.figures(since), since)
