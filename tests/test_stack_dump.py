"""``kill -USR1`` on a running ``assistant serve`` writes every thread's stack to its log and
the service goes on (``cli/logs.py``, README "Troubleshooting"): how staff see where a
process that stopped answering waits, as a cluster instance once did in issue 17's bench."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from testing.web_page import free_port

ROOT = Path(__file__).resolve().parent.parent


async def _until(stream: asyncio.StreamReader, text: str, seen: list[str]) -> None:
    while not any(text in line for line in seen):
        line = await asyncio.wait_for(stream.readline(), 120)
        assert line, "the service ended:\n" + "".join(seen)
        seen.append(line.decode(errors="replace"))


@pytest.mark.slow
async def test_usr1_writes_every_threads_stack_and_the_service_goes_on(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_DATA_DIR=str(tmp_path / "data"), ASSISTANT_LLM_ENABLED="false",
        ASSISTANT_WARM_UP="false", ASSISTANT_PORT=str(port),
    )  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "assistant", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    seen: list[str] = []
    try:
        assert process.stdout is not None
        await _until(process.stdout, "listening on", seen)
        process.send_signal(signal.SIGUSR1)
        await _until(process.stdout, "most recent call first", seen)
        await _until(process.stdout, "in run_forever", seen)  # the event loop's own thread
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as health,
        ):
            assert health.status == 200, "the service goes on after the dump"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
