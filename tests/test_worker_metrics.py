"""``assistant worker --metrics-port`` (issue 17): the worker's own ``/metrics``, read as
Prometheus reads it, after a real build.

With ``redis_url`` the builds run in the worker, so their outcomes and times are counted
there and nowhere else. A real ``redis-server`` and ``assistant worker`` as a real process
(the harness of ``tests/test_celery_generation.py``); the service's dialog in this process
confirms a café page and hears it delivered over pub/sub; then the worker's metrics are read
from this machine, from its network address without and with the token, and the worker is
stopped with SIGTERM. Then Debian's Prometheus scrapes a worker with the repository's cluster
configuration, and the dashboard's own generation panels show its build.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from assistant.cli.main import main
from assistant.config import Settings, load_settings
from assistant.events import ReplyKind
from assistant.metrics import CONTENT_TYPE
from testing import require
from testing.metrics_text import samples, value
from testing.network import lan_address
from testing.redis_server import redis_binary, redis_server
from testing.web_page import free_port
from tests.test_celery_generation import ROOT, WAIT_S, _confirm, _env, _service, _start, _stop
from tests.test_prometheus_live import (
    _drain,
    _evaluated_rules,
    _line_with,
    _process,
    _query,
    _until,
)

TOKEN = "worker-metrics-token-0123456789"
CLUSTER_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus-cluster.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
GENERATION_PANELS = ("Generation outcomes", "Generation task time", "Generation tasks per minute")
needs_redis = pytest.mark.skipif(redis_binary() is None, reason="needs Debian's redis-server")


async def _get(url: str, token: str = "", language: str = "en") -> tuple[int, str, str]:
    """Status, content type and text of one GET, as a scraper sends it."""
    headers = {"Accept-Language": language}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def _until_said(log: Path, words: str) -> None:
    """Until the worker's output (another process's file) holds ``words``."""
    async with asyncio.timeout(WAIT_S):
        while not (log.exists() and words in log.read_text(encoding="utf-8", errors="replace")):  # noqa: ASYNC110
            await asyncio.sleep(0.1)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


@pytest.mark.slow  # redis-server and a worker process
@needs_redis
async def test_the_worker_counts_its_build_and_shows_it_as_the_server_shows_its_own(
    tmp_path: Path,
) -> None:
    key = "test:metrics"
    port = free_port()
    log = tmp_path / "worker.log"
    async with redis_server() as url:
        env = _env(tmp_path, url)
        worker_env = {**env, "ASSISTANT_HOST": "0.0.0.0", "ASSISTANT_METRICS_TOKEN": TOKEN}
        command = ["-m", "assistant", "worker", "--concurrency", "1", "--metrics-port", str(port)]
        async with _service(env) as (services, heard):
            worker = await _start(command, worker_env, log)
            try:
                await _until_said(log, f"metrics on http://0.0.0.0:{port}/metrics")
                local = f"http://127.0.0.1:{port}/metrics"
                status, content_type, before = await _get(local)
                assert status == 200 and content_type == CONTENT_TYPE
                assert value(before, "assistant_generations_total") == 0
                delivered = [  # at 0 from the start, so Prometheus sees the first build
                    sample for sample in samples(before)
                    if sample.name == "assistant_generations_total"
                    and sample.labels == {"outcome": "delivered", "code": "none"}
                ]  # fmt: skip
                assert len(delivered) == 1
                await _confirm(services, key)
                await heard.until(lambda: bool(heard.of_kind(ReplyKind.DELIVERY)))
                # Counted before the worker published the delivery this process heard.
                status, _, text = await _get(local)
                assert status == 200
                assert value(text, "assistant_generations_total", outcome="delivered") == 1
                assert value(text, "assistant_generations_total", outcome="failed") == 0
                assert value(text, "assistant_generation_seconds_count", outcome="delivered") == 1
                assert value(text, "assistant_generation_seconds_sum", outcome="delivered") > 0
                assert value(text, "assistant_generation_queue_depth") == 0  # read from the store
                assert value(text, "assistant_build_info") == 1
                assert value(text, "assistant_turns_total") == 0  # the turns were this process's
                # Another address: refused in its language without the token, as the server's.
                other = f"http://{lan_address()}:{port}/metrics"
                status, _, refusal = await _get(other)
                assert status == 403 and "metrics token" in refusal
                status, _, refusal = await _get(other, language="ja")
                assert status == 403 and "メトリクス用のトークン" in refusal
                assert (await _get(other, token="wrong-token-0123456789"))[0] == 403
                status, _, text = await _get(other, token=TOKEN)
                assert status == 200
                assert value(text, "assistant_generations_total", outcome="delivered") == 1
            finally:
                await _stop(worker)
    assert worker.returncode == 0, log.read_text(encoding="utf-8")
    said = log.read_text(encoding="utf-8")
    assert "Traceback" not in said and "Unclosed" not in said, said[-3000:]
    assert not _listening(port)


@pytest.mark.slow  # a worker process
@needs_redis
async def test_a_metrics_port_in_use_is_said_in_one_sentence_and_the_worker_exits_2(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        async with redis_server() as url:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "assistant", "worker", "--metrics-port", str(port),
                cwd=ROOT, env=_env(tmp_path, url), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(process.communicate(), WAIT_S)
    said = err.decode()
    assert process.returncode == 2, said
    assert said.strip().splitlines()[-1] == (
        f"error: worker_metrics_port: port {port} on 127.0.0.1 is in use by another program; "
        "choose a free one with --metrics-port or worker_metrics_port (0 turns the metrics off)"
    )
    assert "Traceback" not in said
    assert "build(s) at once" not in out.decode()  # it never took a task


def test_the_worker_metrics_port_is_a_checked_setting_the_command_line_overrides(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert Settings().worker_metrics_port == 0  # off unless asked for
    settings = load_settings(environ={"ASSISTANT_WORKER_METRICS_PORT": "9464"})
    assert settings.worker_metrics_port == 9464
    assert main(["worker", "--metrics-port", "70000"]) == 2
    assert capsys.readouterr().err.startswith("error: worker_metrics_port: 70000 is not allowed")


def _panel_queries() -> dict[str, list[str]]:
    """The dashboard's generation panels' queries, as Grafana sends them with every instance
    chosen (``$instance`` = ``.*``; a rate window of many 1 s scrapes)."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return {
        panel["title"]: [
            target["expr"].replace("$instance", ".*").replace("$__rate_interval", "30s")
            for target in panel["targets"]
        ]
        for panel in dashboard["panels"]
        if panel["title"] in GENERATION_PANELS
    }


def _cluster_config(folder: Path, worker: str) -> Path:
    """The repository's cluster configuration scraping only its worker, now at ``worker``
    (no instance listens: the dialog runs in the test's process), every second."""
    config = yaml.safe_load(CLUSTER_CONFIG.read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(CLUSTER_CONFIG.parent / name) for name in config["rule_files"]]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [s for s in job["static_configs"] if s["labels"]["role"] == "worker"]
    job["static_configs"][0]["targets"] = [worker]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def _delivered_shown(http: aiohttp.ClientSession, api: str, queries: list[str]) -> None:
    """Until each query shows a positive, finite value for the delivered outcome."""

    def shown(result: list[dict[str, Any]]) -> bool:
        return any(
            series["metric"].get("outcome") == "delivered"
            and math.isfinite(number := float(series["value"][1]))
            and number > 0
            for series in result
        )

    async with asyncio.timeout(WAIT_S):
        for query in queries:
            while not shown(await _query(http, api, query)):  # noqa: ASYNC110 - Prometheus
                await asyncio.sleep(0.2)


@pytest.mark.slow  # redis-server, a worker process and Prometheus
@needs_redis
async def test_prometheus_scrapes_the_worker_and_the_dashboard_shows_its_build(
    tmp_path: Path,
) -> None:
    prometheus = require.program("prometheus", "apt-get install prometheus")
    port, prometheus_port = free_port(), free_port()
    api = f"http://127.0.0.1:{prometheus_port}"
    log = tmp_path / "worker.log"
    queries = _panel_queries()
    assert sorted(queries) == sorted(GENERATION_PANELS)
    async with redis_server() as url, aiohttp.ClientSession() as http:
        env = _env(tmp_path, url)
        command = ["-m", "assistant", "worker", "--concurrency", "1", "--metrics-port", str(port)]
        worker = await _start(command, env, log)
        try:
            await _until_said(log, f"metrics on http://127.0.0.1:{port}/metrics")
            async with _process(
                prometheus,
                f"--config.file={_cluster_config(tmp_path, f'127.0.0.1:{port}')}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ) as server:
                assert server.stderr is not None
                seen: list[str] = []
                async with asyncio.timeout(WAIT_S):
                    await _line_with(server.stderr, "Server is ready to receive web requests", seen)
                reading = asyncio.create_task(_drain(server.stderr, seen))
                await _until(http, api, 'up{job="assistant", role="worker"}', 1)
                await _until(http, api, 'assistant_generations_total{outcome="delivered"}', 0)
                async with _service(env) as (services, heard):
                    await _confirm(services, "test:scraped")
                    await heard.until(lambda: bool(heard.of_kind(ReplyKind.DELIVERY)))
                for title in GENERATION_PANELS:
                    await _delivered_shown(http, api, queries[title][:1])
                rules = await _evaluated_rules(http, api)
                assert len(rules) == 5 and all(rule["health"] == "ok" for rule in rules), rules
                reading.cancel()
        finally:
            await _stop(worker)
    assert worker.returncode == 0
