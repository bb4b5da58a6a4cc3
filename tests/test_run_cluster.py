"""``scripts/run-cluster``'s program (scripts/run_cluster.py) as a user runs it: it starts
every part, says where to open the chat, answers there through nginx, and Ctrl-C (SIGINT)
stops every part and exits 0."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parent.parent


async def _line(stream: asyncio.StreamReader, pattern: str, seen: list[str]) -> re.Match[str]:
    """Read the program's output until a line matches ``pattern``."""
    while True:
        raw = await asyncio.wait_for(stream.readline(), 180)
        assert raw, "the program ended:\n" + "".join(seen)
        seen.append(raw.decode())
        found = re.search(pattern, seen[-1])
        if found:
            return found


async def test_run_cluster_starts_every_part_and_ctrl_c_stops_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_LLM_ENABLED="false", ASSISTANT_WARM_UP="false", ASSISTANT_LANGUAGE="en")
    program = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scripts.run_cluster", "--free-ports", "--folder", str(tmp_path),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    seen: list[str] = []
    try:
        assert program.stdout is not None
        base = (await _line(program.stdout, r"open\s+(https://127\.0\.0\.1:\d+)/", seen))[1]
        cert = (await _line(program.stdout, r"^\s+(/\S+\.pem)\)", seen))[1]
        instance = (await _line(program.stdout, r"instance a\s+(http://\S+)/", seen))[1]
        await _line(program.stdout, r"Ctrl-C stops it", seen)
        context = ssl.create_default_context(cafile=cert)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz", ssl=context) as health:
                assert health.status == 200 and (await health.json())["status"] == "ok"
            async with http.get(f"{base}/", ssl=context) as page:
                assert page.status == 200
        program.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(program.wait(), 120) == 0, "".join(seen)
        async with aiohttp.ClientSession() as http:
            for url in (f"{base}/healthz", f"{instance}/healthz"):
                with pytest.raises(aiohttp.ClientConnectionError):
                    await http.get(url, ssl=context)
        for name in ("a", "b", "worker", "nginx", "redis"):
            assert (tmp_path / "logs" / f"{name}.log").stat().st_size > 0
    finally:
        if program.returncode is None:
            program.kill()
            await program.wait()
