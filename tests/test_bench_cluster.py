"""``scripts/bench --issue17`` (scripts/bench_cluster.py) at a small size, as a process of its own:
the single server and the cluster under the same paced load, the kills, the follow time, the
backup. Every figure line carries a number, and no session was lost although instance A and
the worker were killed and pages really moved (a lost session fails this test: the count is
the bench's own check of deliveries and stored answers).
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = 20
BACKUP_SESSIONS = 200
NUMBER = r"(-?\d+(?:\.\d+)?)"
PAIRED = ("turns", "turns_per_second", "turn_latency_p50", "turn_latency_p99",
          "turn_latency_max", "confirm_to_delivery_p50")  # fmt: skip
CLUSTER_PARTS = ("instance_a", "instance_b", "worker", "redis", "nginx", "postgres",
                 "all_processes")  # fmt: skip
OTHERS = (
    "single_session_failures", "single_rss_server_connected", "single_rss_server_end",
    "cluster_instance_a_killed_after_turns", "cluster_worker_killed_after_confirms",
    "cluster_sessions_reconnected", "cluster_sessions_lost", "cluster_follow_a_to_b_p50",
    "cluster_follow_a_to_b_p99", "cluster_follow_a_to_b_max",
    f"backup_time_{BACKUP_SESSIONS}_sessions", f"restore_time_{BACKUP_SESSIONS}_sessions",
    f"postgres_backup_time_{BACKUP_SESSIONS}_sessions",
    f"postgres_restore_time_{BACKUP_SESSIONS}_sessions",
)  # fmt: skip


def _figure(output: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)}: {NUMBER}", output, re.MULTILINE)
    assert found, f"no number for {name}:\n{output}"
    value = float(found.group(1))
    assert not math.isnan(value), name
    return value


def test_issue17_prints_every_figure_and_loses_no_session() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scripts.bench_cluster", "--sessions", str(SESSIONS),
         "--rate", "40", "--follow-samples", "50", "--backup-sessions", str(BACKUP_SESSIONS),
         "--backup-turns", "2000"],
        cwd=ROOT, capture_output=True, text=True, timeout=85, check=False,
    )  # fmt: skip
    output = done.stdout
    assert done.returncode == 0, f"{output}\n{done.stderr[-4000:]}"
    names = [f"{setup}_{name}" for setup in ("single", "cluster") for name in PAIRED]
    names += [
        f"cluster_rss_{part}_{when}" for part in CLUSTER_PARTS for when in ("connected", "end")
    ]
    for name in (*names, *OTHERS):
        _figure(output, name)
    assert _figure(output, "cluster_turns") >= SESSIONS * 11, output
    assert _figure(output, "single_session_failures") == 0, output
    assert _figure(output, "cluster_sessions_lost") == 0, f"{output}\n{done.stderr[-4000:]}"
    assert _figure(output, "cluster_sessions_reconnected") >= 1, "A's death moved no page"
    assert "cluster_goal_no_session_lost_when_killed: met" in output, output
    for goal in ("single_goal_p99", "cluster_goal_p99", "cluster_goal_follow_p99"):
        assert re.search(rf"^{goal}\S*: (met|not met|not judged)", output, re.MULTILINE), goal
