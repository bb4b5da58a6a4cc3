"""Debian's Prometheus scraping a live ``assistant serve`` with the repository's configuration.

The service runs as the operator runs it (a subprocess, JSON logs, a metrics token set);
Prometheus runs from ``deploy/prometheus/prometheus.yml`` and its ``alerts.yml``, with only
the target and the intervals changed for a test (one second, on free ports). The test waits
until Prometheus has scraped the service, takes a few turns over the web chat's websocket,
and waits until Prometheus's own HTTP API shows the turn counter moved by exactly that many;
the alert rules must have been evaluated against the live series without an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from testing import require

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
TOKEN = "metrics-token-never-logged-0123"
WAIT_S = 60.0  # for a start or a scrape on two busy shared cores


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _line_with(stream: asyncio.StreamReader, words: str, seen: list[str]) -> None:
    """Read ``stream`` until a line holds ``words`` (every line is kept in ``seen``)."""
    while True:
        line = await stream.readline()
        if not line:
            raise AssertionError(f"the stream ended before {words!r}: {''.join(seen)[-2000:]}")
        seen.append(line.decode())
        if words in seen[-1]:
            return


async def _drain(stream: asyncio.StreamReader, seen: list[str]) -> None:
    while line := await stream.readline():
        seen.append(line.decode())


@contextlib.asynccontextmanager
async def _process(*command: str, **kwargs: Any) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, **kwargs
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)


async def _query(http: aiohttp.ClientSession, api: str, query: str) -> list[dict[str, Any]]:
    async with http.get(f"{api}/api/v1/query", params={"query": query}) as response:
        body = await response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


async def _value(http: aiohttp.ClientSession, api: str, query: str) -> float | None:
    """The query's one value now (None: no series yet)."""
    result = await _query(http, api, query)
    return float(result[0]["value"][1]) if result else None


async def _until(http: aiohttp.ClientSession, api: str, query: str, wanted: float) -> None:
    """Ask Prometheus again until the query gives ``wanted`` (each ask is a round trip; a
    scrape lands every second)."""
    async with asyncio.timeout(WAIT_S):
        while await _value(http, api, query) != wanted:  # noqa: ASYNC110 - another process's
            await asyncio.sleep(0.2)


def _test_config(folder: Path, target: str) -> Path:
    """The repository's configuration with the test's target, intervals and rule path."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(CONFIG.parent / name) for name in config["rule_files"]]
    (job,) = config["scrape_configs"]
    job["static_configs"][0]["targets"] = [target]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def test_prometheus_scrapes_a_live_service_and_sees_its_turns(tmp_path: Path) -> None:
    prometheus = require.program("prometheus", "apt-get install prometheus")
    port, prometheus_port = _free_port(), _free_port()
    environ = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_LANGUAGE": "en",
        "ASSISTANT_WEB_VOICE": "false",
        "ASSISTANT_WARM_UP": "false",
        "ASSISTANT_LOG_FORMAT": "json",
        "ASSISTANT_METRICS_TOKEN": TOKEN,
    }
    out: list[str] = []
    logs: list[str] = []
    prometheus_log: list[str] = []
    api = f"http://127.0.0.1:{prometheus_port}"
    serve = (sys.executable, "-m", "assistant", "serve", "--port", str(port))
    async with (
        _process(*serve, cwd=tmp_path, env=environ) as service,
        aiohttp.ClientSession() as http,
    ):
        assert service.stdout is not None and service.stderr is not None
        draining = asyncio.create_task(_drain(service.stderr, logs))
        async with asyncio.timeout(WAIT_S):
            await _line_with(service.stdout, "listening on", out)
        config = _test_config(tmp_path, f"127.0.0.1:{port}")
        async with _process(
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ) as server:
            assert server.stderr is not None
            async with asyncio.timeout(WAIT_S):
                await _line_with(
                    server.stderr, "Server is ready to receive web requests", prometheus_log
                )
            reading = asyncio.create_task(_drain(server.stderr, prometheus_log))
            await _until(http, api, 'up{job="assistant"}', 1)
            await _until(http, api, "assistant_generation_queue_depth", 0)
            before = await _value(http, api, "sum(assistant_turns_total)") or 0.0
            page = await http.ws_connect(f"http://127.0.0.1:{port}/ws")
            await page.send_json({"type": "hello", "language": "en"})
            for text in ("4", "Animal quiz", "help"):
                await page.send_json({"type": "say", "text": text})
                while (await page.receive_json(timeout=WAIT_S))["type"] != "replies":
                    pass
            await _until(http, api, "sum(assistant_turns_total)", before + 3)
            await _until(http, api, 'assistant_websocket_connections{channel="web"}', 1)
            turns = await _query(http, api, "assistant_turn_seconds_count")
            assert {r["metric"]["channel"] for r in turns} == {"web"}
            await page.close()
            await _until(http, api, 'assistant_websocket_connections{channel="web"}', 0)
            rules = await _evaluated_rules(http, api)
            assert len(rules) == 5 and all(rule["health"] == "ok" for rule in rules), rules
            reading.cancel()
        service.terminate()
        assert await asyncio.wait_for(service.wait(), 30) == 0
        await asyncio.wait_for(draining, 30)
    everything = "".join(out + logs)
    assert TOKEN not in everything
    lines = [json.loads(line) for line in logs if line.strip()]  # every line is JSON
    assert any(line["message"].startswith("serving on http://") for line in lines), logs
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)


async def _evaluated_rules(http: aiohttp.ClientSession, api: str) -> list[dict[str, Any]]:
    """The loaded alert rules once each has been evaluated against the live series."""
    async with asyncio.timeout(WAIT_S):
        while True:
            async with http.get(f"{api}/api/v1/rules") as response:
                body = await response.json()
            rules = [rule for group in body["data"]["groups"] for rule in group["rules"]]
            if rules and all(rule.get("lastEvaluation", "").startswith("2") for rule in rules):
                return rules
            await asyncio.sleep(0.2)
