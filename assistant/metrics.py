"""The service's Prometheus metrics: one registry per service, filled through ``Telemetry``.

Each ``ServiceMetrics`` owns its own ``CollectorRegistry`` rather than prometheus-client's
global default one: two services in one process (tests, a benchmark beside its server) would
otherwise count into each other, and registering a name twice raises. The names and their
meanings are listed in README.md ("Metrics and logs"); ``deploy/prometheus/alerts.yml`` and
``deploy/grafana/dashboard.json`` use them, and a test checks that every name they use is
here.

The queue's depth is not counted as it changes: it lives in the store, which several
instances may share, so it is read from the store when Prometheus scrapes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from assistant import __version__

_LOGGER = logging.getLogger(__name__)

# Prometheus's text format 0.0.4, which every Prometheus 2.x reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: a typed turn takes milliseconds, one the model reads takes seconds.
TURN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Seconds: a template build takes a fraction of a second, one the model writes up to minutes.
GENERATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
RECOGNITION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
MODEL_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)

QueueDepth = Callable[[], Awaitable[int]]


class ServiceMetrics:
    """The ``Telemetry`` of a running service, kept as Prometheus metrics in ``registry``."""

    def __init__(self, queue_depth: QueueDepth | None = None) -> None:
        self.registry = CollectorRegistry()
        self._queue_depth = queue_depth
        registry = self.registry
        ProcessCollector(registry=registry)  # process_resident_memory_bytes, CPU, open files
        PlatformCollector(registry=registry)
        Info("assistant_build", "The running service's version.", registry=registry).info(
            {"version": __version__}
        )
        self.turns = Counter(
            "assistant_turns",
            "Turns applied, by channel and the session state they were taken in.",
            ("channel", "state"),
            registry=registry,
        )
        self.turn_seconds = Histogram(
            "assistant_turn_seconds",
            "Time to apply one turn (load, understand, store), by channel.",
            ("channel",),
            buckets=TURN_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "assistant_generation_queue_depth",
            "Generation tasks waiting in the store, read when scraped.",
            registry=registry,
        )
        self.generations = Counter(
            "assistant_generations",
            "Generation tasks ended, by outcome (delivered, failed, discarded) and error code.",
            ("outcome", "code"),
            registry=registry,
        )
        self.generation_seconds = Histogram(
            "assistant_generation_seconds",
            "Time one generation task was built for, by outcome.",
            ("outcome",),
            buckets=GENERATION_BUCKETS,
            registry=registry,
        )
        # The outcomes known in advance start at 0: Prometheus sees no increase in a series
        # that first appears at 1, so a worker's first build would never move rate().
        for outcome in ("delivered", "discarded"):
            self.generations.labels(outcome, "none")
        for outcome in ("delivered", "failed", "discarded"):
            self.generation_seconds.labels(outcome)
        self.recognition_confidence = Histogram(
            "assistant_recognition_confidence",
            "The recogniser's confidence (0-1) in each utterance, by engine and language.",
            ("engine", "language"),
            buckets=CONFIDENCE_BUCKETS,
            registry=registry,
        )
        self.recognition_seconds = Histogram(
            "assistant_recognition_seconds",
            "Time to recognise one utterance, by engine and language.",
            ("engine", "language"),
            buckets=RECOGNITION_BUCKETS,
            registry=registry,
        )
        self.model_calls = Counter(
            "assistant_model_calls",
            "Language model calls, by model and outcome (ok or the error code).",
            ("model", "outcome"),
            registry=registry,
        )
        self.model_tokens = Counter(
            "assistant_model_tokens",
            "Tokens the language model read (prompt) and wrote (output), by model.",
            ("model", "kind"),
            registry=registry,
        )
        self.model_seconds = Histogram(
            "assistant_model_seconds",
            "Time of one language model call, stream included, by model.",
            ("model",),
            buckets=MODEL_BUCKETS,
            registry=registry,
        )
        self.websocket_connections = Gauge(
            "assistant_websocket_connections",
            "Open websockets, by channel.",
            ("channel",),
            registry=registry,
        )
        self.errors = Counter(
            "assistant_errors",
            "Errors with a stable code (errors.py, the web chat's refusals), by code.",
            ("code",),
            registry=registry,
        )

    # -- Telemetry ---------------------------------------------------------------------------

    def turn(self, channel: str, state: str, seconds: float) -> None:
        """Counted and timed."""
        self.turns.labels(channel, state).inc()
        self.turn_seconds.labels(channel).observe(seconds)

    def generation(self, outcome: str, code: str, seconds: float) -> None:
        """Counted and timed; a failure also counts as an error with its code."""
        self.generations.labels(outcome, code).inc()
        self.generation_seconds.labels(outcome).observe(seconds)
        if outcome == "failed":
            self.errors.labels(code).inc()

    def recognition(self, engine: str, language: str, confidence: float, seconds: float) -> None:
        """Its confidence and its time."""
        self.recognition_confidence.labels(engine, language).observe(confidence)
        self.recognition_seconds.labels(engine, language).observe(seconds)

    def model_call(
        self, model: str, outcome: str, seconds: float, prompt_tokens: int, output_tokens: int
    ) -> None:
        """Counted, timed and its tokens added; a failure also counts as an error."""
        self.model_calls.labels(model, outcome).inc()
        self.model_seconds.labels(model).observe(seconds)
        if prompt_tokens:
            self.model_tokens.labels(model, "prompt").inc(prompt_tokens)
        if output_tokens:
            self.model_tokens.labels(model, "output").inc(output_tokens)
        if outcome != "ok":  # the model's codes (timeout, unavailable) named as its own
            self.errors.labels(outcome if outcome.startswith("llm_") else f"llm_{outcome}").inc()

    def connections(self, channel: str, change: int) -> None:
        """The gauge moves by ``change``."""
        self.websocket_connections.labels(channel).inc(change)

    def error(self, code: str) -> None:
        """Counted by its code."""
        self.errors.labels(code).inc()

    # -- scraping ----------------------------------------------------------------------------

    async def exposition(self) -> bytes:
        """Everything in Prometheus's text format, with the queue's depth read now (a store
        that cannot answer leaves the last value and is logged: the scrape still answers).
        Written in a thread: about 4 ms of Python for a busy service's 400 lines."""
        if self._queue_depth is not None:
            try:
                self.queue_depth.set(await self._queue_depth())
            except Exception:
                _LOGGER.warning("metrics: could not read the queue's depth", exc_info=True)
        return await asyncio.to_thread(generate_latest, self.registry)
