"""``scripts/run-cluster``'s program (scripts/run_cluster.py) as a user runs it: it starts
every part, says where to open the chat, answers there through nginx, and Ctrl-C (SIGINT)
stops every part and exits 0; started again, it has kept what it had (its PostgreSQL lives
in the folder, like the data)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from testing.cluster import Cluster

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


async def _started(folder: Path, seen: list[str]) -> tuple[asyncio.subprocess.Process, str, str]:
    """The program started on free ports in ``folder``, ready: (it, nginx's address, the
    certificate nginx shows)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_LLM_ENABLED="false", ASSISTANT_WARM_UP="false", ASSISTANT_LANGUAGE="en")
    program = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scripts.run_cluster", "--free-ports", "--folder", str(folder),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert program.stdout is not None
    base = (await _line(program.stdout, r"open\s+(https://127\.0\.0\.1:\d+)/", seen))[1]
    cert = (await _line(program.stdout, r"^\s+(/\S+\.pem)\)", seen))[1]
    return program, base, cert


async def _hello(base: str, context: ssl.SSLContext, **hello: str) -> dict[str, Any]:
    """A page says hello through nginx; the session it is given."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(base.replace("https", "wss") + "/ws", ssl=context) as socket,
    ):
        await socket.send_json({"type": "hello", "language": "en", **hello})
        while True:
            message = json.loads((await socket.receive(timeout=60)).data)
            if message["type"] == "session":
                return dict(message)


async def test_run_cluster_starts_every_part_and_ctrl_c_stops_them(tmp_path: Path) -> None:
    seen: list[str] = []
    program, base, cert = await _started(tmp_path, seen)
    try:
        assert program.stdout is not None
        instance = (await _line(program.stdout, r"instance a\s+(http://\S+)/", seen))[1]
        await _line(program.stdout, r"database\s+postgresql://", seen)
        await _line(program.stdout, r"Ctrl-C stops it", seen)
        context = ssl.create_default_context(cafile=cert)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz", ssl=context) as health:
                assert health.status == 200 and (await health.json())["status"] == "ok"
            async with http.get(f"{base}/", ssl=context) as page:
                assert page.status == 200
        first = await _hello(base, context)
        program.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(program.wait(), 120) == 0, "".join(seen)
        async with aiohttp.ClientSession() as http:
            for url in (f"{base}/healthz", f"{instance}/healthz"):
                with pytest.raises(aiohttp.ClientConnectionError):
                    await http.get(url, ssl=context)
        for name in ("a", "b", "worker", "nginx", "redis"):
            assert (tmp_path / "logs" / f"{name}.log").stat().st_size > 0
        # Started again, the cluster has what it had: PostgreSQL is kept in the folder.
        program, base, cert = await _started(tmp_path, seen)
        await _line(program.stdout, r"Ctrl-C stops it", seen)  # type: ignore[arg-type]
        context = ssl.create_default_context(cafile=cert)
        again = await _hello(base, context, code=first["code"])
        assert again["key"] == first["key"]
        program.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(program.wait(), 120) == 0, "".join(seen)
    finally:
        if program.returncode is None:
            program.kill()
            await program.wait()
        shutil.rmtree(Cluster(tmp_path).kept_postgres_folder(), ignore_errors=True)
