"""``assistant serve`` under four sockets of unpaced audio (issue 12, part B): another user's
text turns and ``/healthz`` are still answered, and the flooding sockets are told why."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from testing.audio_flood import flood, wait_until_serving

GENEROUS_S = 5.0  # the goal is 0.2 s; a busy test machine gets room, a frozen server does not


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_four_unpaced_audio_streams_leave_another_user_and_healthz_answered(
    tmp_path: Path,
) -> None:
    assert find_spec("pocketsphinx") is not None, "the test needs the English recogniser"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_LLM_ENABLED": "false",
        "ASSISTANT_LANGUAGE": "en",
        "ASSISTANT_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_until_serving(base)
        figures = asyncio.run(flood(base, attackers=4, seconds=8.0))
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert figures.sent_bytes > 4 * 32_000 * 8, "the attackers sent faster than real time"
    assert figures.too_fast >= 1, (figures, output[-2000:])  # refused, and told so
    assert not figures.other_errors, figures.other_errors
    assert not figures.turn_failures, (figures.turn_failures, output[-2000:])
    assert len(figures.turns) >= 8, figures.turns  # the other user went on talking
    assert max(figures.turns) < GENEROUS_S, sorted(figures.turns)[-5:]
    assert len(figures.health) >= 8 and max(figures.health) < GENEROUS_S, figures.health
    print(
        f"turn p50 {statistics.median(figures.turns) * 1000:.0f} ms, max "
        f"{max(figures.turns) * 1000:.0f} ms; healthz max {max(figures.health) * 1000:.0f} ms; "
        f"{figures.too_fast} refusals, {figures.closed_flooded} closed, "
        f"{figures.sent_bytes / 32_000:.0f} s of audio sent"
    )
