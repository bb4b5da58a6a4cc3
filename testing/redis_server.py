"""A real Redis for tests: Debian's ``redis-server`` on a free loopback port.

``async with redis_server() as url:`` starts one in a temporary folder with no persistence
(no RDB snapshots, no append-only file), waits until it answers PING, and stops it when the
block ends, so each test gets an empty server of its own and leaves nothing behind.
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

READY_S = 20.0


def redis_binary() -> str | None:
    """Where ``redis-server`` is (scripts/setup.sh installs it for the tests), or None."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _answers_ping(port: int) -> bool:
    """One PING in Redis's wire protocol on a fresh connection."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"*1\r\n$4\r\nPING\r\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 2.0)
        return line.startswith(b"+PONG")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """A running redis-server until the block ends; yields its URL (database 0)."""
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="redis-test-") as folder:
        port = _free_port()
        log = (Path(folder) / "redis.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", folder,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", "",
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + READY_S
            while not await _answers_ping(port):
                if process.returncode is not None:
                    log.flush()
                    output = (Path(folder) / "redis.log").read_text(errors="replace")
                    raise RuntimeError(f"redis-server ended at start: {output[-2000:]}")
                if loop.time() > deadline:
                    raise RuntimeError(f"redis-server did not answer PING in {READY_S:.0f} s")
                await asyncio.sleep(0.02)  # start-up of a child process: nothing to wait on
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
