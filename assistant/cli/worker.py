"""``assistant worker``: a Celery worker that builds artifacts for every instance.

It builds with the same generators, jobs and store as ``assistant serve`` (the service's own
``Services``), but the queue's outcomes go out over Redis pub/sub instead of to a dialog in
this process: the instance that holds the session tells the user. Several workers, on this
machine or others sharing the data folder's database, share the work. With
``--metrics-port`` (``worker_metrics_port``) it serves its own ``/metrics``
(``assistant/cli/worker_metrics.py``): the builds are counted here, not in any instance.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable, Mapping
from typing import Any

from assistant.cli.worker_metrics import WorkerMetricsSite
from assistant.compose import Services
from assistant.compose_jobs import hold_started_versions
from assistant.config import Settings
from assistant.generation.celery_queue import QUEUE_NAME, celery_app, lease_seconds
from assistant.generation.celery_worker import WorkerRuntime, register_build
from assistant.generation.relay import RelayPublisher, redis_client
from assistant.ports import Generator
from assistant.private_files import private_folder

GeneratorWrapper = Callable[[Mapping[str, Generator]], Mapping[str, Generator]]


def add_worker_parser(commands: Any) -> None:
    """``assistant worker [--concurrency N] [--metrics-port N]``."""
    worker = commands.add_parser(
        "worker", help="build artifacts as a Celery worker (needs redis_url)"
    )
    worker.add_argument(
        "--concurrency", type=int, help="builds at once in this process (default: workers)"
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        help="serve this worker's /metrics on host:N (default: worker_metrics_port; 0: none)",
    )


def run_worker(
    settings: Settings, args: argparse.Namespace, *, wrap: GeneratorWrapper | None = None
) -> int:
    """Serve Celery's build tasks until stopped (SIGTERM: the builds under way finish).
    ``wrap`` puts something around the generators (tests hold a build with it)."""
    if not settings.redis_url:
        print(
            "error: redis_url is not set: the worker takes its tasks from Redis "
            "(assistant.toml or ASSISTANT_REDIS_URL)",
            file=sys.stderr,
        )
        return 2
    services = Services.build(settings)
    queue = services.queue
    if wrap is not None:
        queue.generators = wrap(queue.generators)
    client = redis_client(settings.redis_url)
    publisher = RelayPublisher(client)
    queue.on_delivered = publisher.delivered
    queue.on_failed = publisher.failed
    queue.on_progress = publisher.progress
    port = settings.worker_metrics_port  # --metrics-port is in it (assistant/cli/main.py)
    metrics = WorkerMetricsSite(services.metrics_access(), settings, port) if port else None

    async def open_() -> None:
        await services.store.open()
        await hold_started_versions(services.jobs, services.store.job_versions())
        private_folder(settings.artifacts_dir)

    async def close() -> None:
        if metrics is not None:
            await metrics.stop()
        await services.stop_warm_up()
        await services.manager.close()
        if services.browser is not None:
            await services.browser.close()
        await services.store.close()
        await client.aclose()

    runtime = WorkerRuntime(
        queue, services.store, lease_s=lease_seconds(settings), open_=open_, close=close
    )
    app = celery_app(settings)
    register_build(app, runtime)
    concurrency = args.concurrency or settings.workers
    runtime.start()
    try:
        if metrics is not None:  # a port in use: ConfigError, one sentence and exit 2
            runtime.run(metrics.start())
            print(f"facility-assistant worker: metrics on {metrics.url}", flush=True)
        print(f"facility-assistant worker: {concurrency} build(s) at once", flush=True)
        app.worker_main([
            "worker", "--pool=threads", f"--concurrency={concurrency}", "-Q", QUEUE_NAME,
            "-n", f"assistant-{os.getpid()}@{socket.gethostname()}",
            f"--loglevel={settings.log_level.upper()}",
            "--without-gossip", "--without-mingle",
        ])  # fmt: skip
    finally:
        runtime.stop()
    return 0
