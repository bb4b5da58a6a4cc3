"""A real Redis for tests: Debian's ``redis-server`` on a free port of 127.0.0.1.

``async with redis_server() as url:`` starts one with no persistence (no RDB snapshots, no
append-only file, its working folder a temporary one), waits until it answers PING and stops
it after the block. Broker, pub/sub and locks are tested against the server they will meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

READY_S = 30.0


def redis_binary() -> str | None:
    """``redis-server`` on PATH (Debian's ``redis-server`` package), or None."""
    return shutil.which("redis-server")


def redis_command(binary: str, port: int, folder: str | Path) -> list[str]:
    """The server on 127.0.0.1:``port``, no persistence, ``folder`` as its working folder."""
    return [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(folder), "--protected-mode", "yes",
    ]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def answers_ping(port: int, process: asyncio.subprocess.Process) -> None:
    """Until the server answers PING with PONG over its own protocol."""
    async with asyncio.timeout(READY_S):
        while True:
            assert process.returncode is None, "redis-server exited (see redis.log)"
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            try:
                writer.write(b"PING\r\n")
                await writer.drain()
                if (await reader.readline()).startswith(b"+PONG"):
                    return
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """A running ``redis-server``; yields its URL (``redis://127.0.0.1:PORT/0``)."""
    binary = redis_binary()
    assert binary is not None, "redis-server is not installed (scripts/setup.sh installs it)"
    with tempfile.TemporaryDirectory(prefix="redis-") as folder:
        port = _free_port()
        log = (Path(folder) / "redis.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            *redis_command(binary, port, folder),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await answers_ping(port, process)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            log.close()
