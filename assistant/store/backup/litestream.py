"""Litestream: the database replicated continuously, and restored as it was at a moment.

``assistant serve`` runs ``litestream replicate`` as its child when ``litestream_replica_url``
is set (``litestream_with_serve``), and ``assistant litestream`` runs the same in the
foreground for a unit of its own. Why a child by default: one service to install and start on
a kiosk or a single box, one settings file (the Litestream configuration is generated from it,
so the two cannot drift), and replication that runs exactly while the service writes. The
child is supervised: restarted with a growing pause if it exits, stopped after the database is
closed so its last sync ships the last writes, and told by the kernel to stop
(``setpriv --pdeathsig``) if the service is killed, so no orphan holds the database.

Keys are never written to the generated file nor logged: they reach Litestream in its own
environment variables. ``AWS_CA_BUNDLE`` is left out of that environment: Litestream 0.5.17
refuses to start with it ("unable to add custom RootCAs").
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.config import Settings
from assistant.extras import MissingExtraError, missing_extra_message
from assistant.private_files import FILE_MODE
from assistant.store.backup.manifest import BackupError

_LOGGER = logging.getLogger(__name__)
EXTRA = "backup"
STOP_WAIT_S = 30.0  # Litestream's last sync on SIGTERM, before it is killed
RESTART_PAUSES_S = (1.0, 2.0, 5.0, 15.0, 60.0)  # between restarts of a child that exited
_LEFT_OUT = ("AWS_CA_BUNDLE",)


@dataclass(frozen=True, slots=True)
class Replica:
    """Where the database is replicated to, from the settings."""

    database: Path
    url: str
    endpoint: str = ""
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""
    sync_interval_s: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Replica | None:
        """The configured replica, or None when ``litestream_replica_url`` is empty."""
        if not settings.litestream_replica_url:
            return None
        return cls(
            database=settings.database_path.absolute(),
            url=settings.litestream_replica_url,
            endpoint=settings.litestream_s3_endpoint,
            region=settings.litestream_s3_region,
            access_key_id=settings.litestream_s3_access_key_id,
            secret_access_key=settings.litestream_s3_secret_access_key,
            sync_interval_s=settings.litestream_sync_interval_s,
        )

    def config_text(self) -> str:
        """Litestream's YAML configuration for this replica, without any key."""
        replica: dict[str, object] = {
            "url": self.url,
            "sync-interval": f"{round(self.sync_interval_s * 1000)}ms",
        }
        if self.url.startswith("s3://"):
            replica["region"] = self.region
            if self.endpoint:  # MinIO, SeaweedFS and the like name buckets in the path
                replica["endpoint"] = self.endpoint
                replica["force-path-style"] = True
        return yaml.safe_dump({"dbs": [{"path": str(self.database), "replica": replica}]})

    def environment(self) -> dict[str, str]:
        """The child's environment: ours, the keys in Litestream's variables."""
        env = {key: value for key, value in os.environ.items() if key not in _LEFT_OUT}
        if self.access_key_id:
            env["LITESTREAM_ACCESS_KEY_ID"] = self.access_key_id
        if self.secret_access_key:
            env["LITESTREAM_SECRET_ACCESS_KEY"] = self.secret_access_key
        return env


def litestream_binary() -> Path:
    """The ``litestream`` program: beside this Python (the venv's ``bin``), else on PATH."""
    beside = Path(sys.executable).parent / "litestream"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("litestream")
    if found is None:
        raise MissingExtraError(missing_extra_message("litestream_replica_url (Litestream)", EXTRA))
    return Path(found)


@contextlib.contextmanager
def _config_file(replica: Replica) -> Iterator[Path]:
    """The generated configuration in a private temporary file, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="assistant-litestream-") as folder:
        path = Path(folder) / "litestream.yml"
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(replica.config_text())
        yield path


def _timestamp(moment: datetime.datetime) -> str:
    """A moment as Litestream's ``-timestamp`` reads it (RFC 3339, UTC); naive = local."""
    utc = moment.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def restore_at(replica: Replica, moment: datetime.datetime, output: Path) -> None:
    """Write the database as it was at ``moment`` to ``output`` (``litestream restore``)."""
    binary = litestream_binary()
    with _config_file(replica) as config:
        command = [
            str(binary), "restore", "-config", str(config), "-o", str(output), "-force",
            "-timestamp", _timestamp(moment), str(replica.database),
        ]  # fmt: skip
        done = subprocess.run(
            command, env=replica.environment(), capture_output=True, text=True, check=False
        )
    if done.returncode != 0 or not output.is_file():
        lines = (done.stderr or done.stdout).strip().splitlines()
        detail = lines[-1] if lines else f"exit {done.returncode}"
        raise BackupError("litestream_failed", detail=detail, at=moment.isoformat())
    output.chmod(FILE_MODE)


class Replicator:
    """``litestream replicate`` as a supervised child process (see the module's docstring)."""

    def __init__(
        self, replica: Replica, *, binary: Path | None = None, quiet: bool = False
    ) -> None:
        self.replica = replica
        self.binary = binary or litestream_binary()
        # Litestream's log goes where the service's goes (standard output), unless quiet.
        self._output = subprocess.DEVNULL if quiet else None
        self.starts = 0  # how many times the child was started
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def pid(self) -> int | None:
        """The running child's process id."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def start(self) -> None:
        """Start the child and its supervisor; returns at once."""
        _LOGGER.info("litestream: replicating %s to %s", self.replica.database, self.replica.url)
        self._task = asyncio.create_task(self._supervise(), name="litestream")

    async def _supervise(self) -> None:
        pause = 0
        while not self._stopping.is_set():
            with _config_file(self.replica) as config:
                self._process = process = await self._spawn(config)
                self.starts += 1
                if self._stopping.is_set():  # stop() came while it was starting
                    await _end(process)
                code = await process.wait()
            if self._stopping.is_set():
                return
            wait = RESTART_PAUSES_S[min(pause, len(RESTART_PAUSES_S) - 1)]
            pause += 1
            _LOGGER.error("litestream exited (code %s): starting it again in %gs", code, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)

    async def _spawn(self, config: Path) -> asyncio.subprocess.Process:
        command = [str(self.binary), "replicate", "-config", str(config)]
        setpriv = shutil.which("setpriv")
        if setpriv is not None:  # the kernel stops the child if this process dies
            command = [setpriv, "--pdeathsig", "TERM", "--", *command]
        return await asyncio.create_subprocess_exec(
            *command, env=self.replica.environment(), stdin=subprocess.DEVNULL,
            stdout=self._output, stderr=self._output,
        )  # fmt: skip

    async def stop(self) -> None:
        """Stop the child (SIGTERM: it ships what it has not yet, then exits) and wait."""
        self._stopping.set()
        if self._process is not None:
            await _end(self._process)
        if self._task is not None:
            await self._task


async def _end(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, a wait for Litestream's last sync, and SIGKILL if it does not come."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_WAIT_S)
    except TimeoutError:
        _LOGGER.warning("litestream did not stop in %gs: killed", STOP_WAIT_S)
        process.kill()
        await process.wait()


def replication_for_serve(settings: Settings) -> Replicator | None:
    """The replicator ``assistant serve`` runs beside itself, or None (not configured, or
    run as its own service). A missing Litestream stops start-up: replication was asked for."""
    replica = Replica.from_settings(settings)
    if replica is None or not settings.litestream_with_serve:
        return None
    return Replicator(replica)
