"""``assistant worker --metrics-port N``: the worker's own ``/metrics`` (issue 17).

A worker builds artifacts, so the generation outcomes, build times and model calls of a
cluster are counted in its process, into the registry ``Services.build`` made; no instance
sees them. This serves that registry on ``host``:N with the server's own route and access
rule (``assistant.server.metrics_app``: this machine, or the bearer ``metrics_token``), on
the worker's event loop, so a scrape never waits for a Celery pool thread.
"""

from __future__ import annotations

import errno
import logging

from aiohttp import web

from assistant.client_address import TrustedProxies
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.http_guard import GuardedRunner
from assistant.server import MetricsAccess, metrics_app

_LOGGER = logging.getLogger(__name__)


class WorkerMetricsSite:
    """``GET /metrics`` of one worker process; started and stopped on the worker's loop."""

    def __init__(self, access: MetricsAccess, settings: Settings, port: int) -> None:
        self.host = settings.host
        self.port = port
        app = metrics_app(
            access,
            body_timeout=settings.http_body_timeout_s,
            trusted_proxies=TrustedProxies(settings.trusted_proxies),
        )
        self._runner = GuardedRunner(
            app,
            header_timeout=settings.http_header_timeout_s,
            keepalive_timeout=settings.http_idle_timeout_s,
        )
        self._started = False

    @property
    def url(self) -> str:
        """Where Prometheus scrapes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    async def start(self) -> None:
        """Listen, or say in one sentence why not (a port in use is the usual reason)."""
        await self._runner.setup()
        self._started = True
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                reason = "is in use by another program"
            else:
                reason = f"cannot be listened on ({err.strerror or err})"
            raise ConfigError(
                f"worker_metrics_port: port {self.port} on {self.host} {reason}; choose a free "
                "one with --metrics-port or worker_metrics_port (0 turns the metrics off)"
            ) from err
        _LOGGER.info("worker metrics on %s", self.url)

    async def stop(self) -> None:
        """Close the socket and the connections open on it."""
        if self._started:
            self._started = False
            await self._runner.cleanup()
