"""The Prometheus configuration, alert rules and Grafana dashboard in ``deploy/``, checked.

``promtool`` (Debian's ``prometheus`` package) checks the configurations and rules as
Prometheus loads them, and runs ``alerts_test.yml``, where each alert fires on made-up series
and stays quiet where it should. Grafana is not installable here, so its dashboard is checked
against what it reads: every metric name in every panel's expression (and every alert's) must
be one our registry writes, and every metric of ours must be shown by some panel.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.config import load_settings
from assistant.metrics import ServiceMetrics
from testing import require
from testing.metrics_text import samples

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
COMPOSE_CLUSTER = ROOT / "deploy" / "compose" / "prometheus-cluster.yml"
CONFIGS = [
    *sorted(PROMETHEUS.glob("prometheus*.yml")),
    *sorted(COMPOSE_CLUSTER.parent.glob("*.yml")),
]
PROMETHEUS_OWN = {"up"}  # series Prometheus makes itself for every target
KEYWORDS = {"and", "or", "unless", "bool", "offset", "on", "ignoring", "group_left", "group_right"}


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    tool = require.program("promtool", "apt-get install prometheus")
    return subprocess.run(
        [tool, *arguments], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-cluster.yml"])
def test_promtool_accepts_each_configuration_and_its_rules(config: str) -> None:
    done = promtool("check", "config", config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


def test_each_alert_fires_on_its_series_and_only_there() -> None:
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = {rule["alert"] for rule in _rules()}
    assert alerts == {
        "AssistantDown",
        "AssistantTurnLatencyHigh",
        "AssistantGenerationFailuresRising",
        "AssistantQueueDepthGrowing",
        "AssistantErrorRateHigh",
    }
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text(encoding="utf-8"))
    fired = {
        case["alertname"]
        for test in tests["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert fired == alerts  # every alert is shown firing, not only parsed


def test_the_cluster_configuration_scrapes_two_instances_and_the_worker_directly() -> None:
    """The worker alone counts builds with redis_url: it is scraped in the instances' job,
    so the dashboard's generation panels (which sum over instances) include it."""
    config = yaml.safe_load((PROMETHEUS / "prometheus-cluster.yml").read_text(encoding="utf-8"))
    targets = {
        role: [t for s in _static_configs(config) if s["labels"]["role"] == role
               for t in s["targets"]]
        for role in ("instance", "worker")
    }  # fmt: skip
    assert targets == {"instance": ["127.0.0.1:8081", "127.0.0.1:8082"],
                       "worker": ["127.0.0.1:9464"]}  # fmt: skip
    single = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    assert single["scrape_configs"][0]["static_configs"][0]["targets"] == ["127.0.0.1:8080"]


def test_the_compose_prometheus_scrapes_the_worker_where_compose_makes_it_listen() -> None:
    cluster = yaml.safe_load((ROOT / "compose.cluster.yaml").read_text(encoding="utf-8"))
    worker = cluster["services"]["worker"]
    command = worker["command"]
    port = command[command.index("--metrics-port") + 1]
    environment = {k: str(v) for k, v in worker["environment"].items() if k.endswith("_HOST")}
    assert load_settings(environ=environment).host == "0.0.0.0"  # the compose network too
    assert port in worker["expose"]
    config = yaml.safe_load(COMPOSE_CLUSTER.read_text(encoding="utf-8"))
    (scraped,) = [s for s in _static_configs(config) if s["labels"]["role"] == "worker"]
    assert scraped["targets"] == [f"worker:{port}"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.parent.name + "/" + path.name)
def test_every_configuration_names_its_job_as_the_dashboard_and_the_alerts_read_it(
    config: Path,
) -> None:
    """A job named otherwise leaves every panel empty and AssistantDown silent."""
    dashboard = DASHBOARD.read_text(encoding="utf-8")
    rules = (PROMETHEUS / "alerts.yml").read_text(encoding="utf-8")
    (read,) = set(re.findall(r'job=\\?"([^"\\]+)', dashboard + rules))
    jobs = [job["job_name"] for job in yaml.safe_load(config.read_text("utf-8"))["scrape_configs"]]
    assert jobs == [read]


async def test_every_metric_a_panel_or_an_alert_reads_is_one_we_write() -> None:
    written = await _written_names()
    for title, expression in _panel_expressions():
        unknown = _metric_names(expression) - written - PROMETHEUS_OWN
        assert not unknown, f"panel {title!r} reads {sorted(unknown)}"
    for rule in _rules():
        unknown = _metric_names(rule["expr"]) - written - PROMETHEUS_OWN
        assert not unknown, f"alert {rule['alert']} reads {sorted(unknown)}"


async def test_every_metric_of_ours_has_a_panel() -> None:
    shown = {name for _, expression in _panel_expressions() for name in _metric_names(expression)}
    families = {
        family.name
        for family in ServiceMetrics().registry.collect()
        if family.name.startswith("assistant_")
    }
    missing = {f for f in families if not any(name.startswith(f) for name in shown)}
    assert not missing, f"no panel shows {sorted(missing)}"


def test_the_dashboard_is_a_grafana_dashboard_with_its_data_source_chosen_on_import() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "facility-assistant" and dashboard["schemaVersion"] >= 36
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"] and panel["description"], panel["title"]
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, panel["title"]


def test_the_metric_name_reader_itself() -> None:
    expression = (
        "histogram_quantile(0.99, sum by (channel, le) (rate(assistant_turn_seconds_bucket"
        '{job="assistant", instance=~"$instance"}[$__rate_interval]))) > 2 and up == 0'
    )
    assert _metric_names(expression) == {"assistant_turn_seconds_bucket", "up"}


# -- helpers ------------------------------------------------------------------------------


async def _written_names() -> set[str]:
    """The sample names a registry writes once each kind of measurement has been made."""
    metrics = ServiceMetrics()
    metrics.turn("web", "ask", 0.01)
    metrics.generation("failed", "generation_timeout", 1.0)
    metrics.recognition("whisper", "ja", 0.8, 0.5)
    metrics.model_call("ollama:qwen2.5:3b", "ok", 2.0, 100, 50)
    metrics.connections("web", 1)
    metrics.error("busy")
    text = (await metrics.exposition()).decode()
    return {sample.name for sample in samples(text)}


def _panel_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def _static_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [static for job in config["scrape_configs"] for static in job["static_configs"]]


def _rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in rules["groups"] for rule in group["rules"]]


def _metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers outside label matchers,
    ranges and ``by (...)`` lists that are not functions, aggregations or keywords."""
    bare = re.sub(r'"[^"]*"', "", expression)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", bare)
    names = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", bare)
    return {name for name in names if name not in KEYWORDS}
