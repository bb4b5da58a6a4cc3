"""Reading ``/metrics`` as Prometheus would, for tests and benchmarks.

The text is parsed with prometheus-client's own parser (the format's reference reader in
Python), never with string matching, so a test passes only if Prometheus could read it.
"""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def samples(text: str) -> list[Sample]:
    """Every sample of an exposition."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (0 when none:
    a labelled metric has no sample until its first observation, and Prometheus reads that
    as no series)."""
    return sum(
        sample.value
        for sample in samples(text)
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def histogram_quantile(text: str, name: str, q: float, **labels: str) -> float:
    """The ``q`` quantile of histogram ``name`` (its buckets summed over other labels),
    interpolated within a bucket as PromQL's ``histogram_quantile`` does; NaN when empty."""
    buckets: dict[float, float] = {}
    for sample in samples(text):
        if sample.name != f"{name}_bucket":
            continue
        if not all(sample.labels.get(k) == v for k, v in labels.items()):
            continue
        bound = float(sample.labels["le"])
        buckets[bound] = buckets.get(bound, 0.0) + sample.value
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] == 0:
        return math.nan
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its bound, as PromQL does
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return lower
