"""A whole cluster on this machine, each part a real subprocess (issue 17): Redis, optionally
PostgreSQL, two ``assistant serve`` instances, one ``assistant worker`` and Debian's nginx
running the repository's configuration in front of both instances.

Used by ``scripts/run-cluster`` (fixed ports, in the foreground) and ``tests/test_cluster.py``
(free ports, SIGKILL of one part at a time). Every part has its own log in ``folder/logs``,
is started in a process group of its own (so Ctrl-C in a terminal reaches only the harness,
which stops the parts in order) and is waited for by what it serves: Redis by PING,
an instance by ``/healthz``, nginx by ``/healthz`` through it, the worker by Celery's "ready"
line. The parts are configured by ``ASSISTANT_*`` variables (``settings``) and optionally
one TOML file (``config_file``); the variables the cluster wires come first and win.

The database is a parameter: ``"sqlite"`` puts both instances and the worker on one SQLite
file in ``folder/data`` (the SQLite store serves several processes on one file),
``"postgres"`` starts a throw-away PostgreSQL cluster (testing/postgres.py) and hands its
address to every part as ``ASSISTANT_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from testing.nginx import prepare
from testing.redis_server import answers_ping, redis_binary, redis_command

if TYPE_CHECKING:
    from assistant.session import Session
    from testing.postgres import PostgresServer

# The cluster of issue 17 keeps everything in PostgreSQL (a throw-away cluster of
# ``testing/postgres.py``); "sqlite" puts both instances on one shared SQLite file instead.
DATABASE = "postgres"
ROOT = Path(__file__).resolve().parent.parent
READY_S = 120.0  # a busy two-core machine: an instance imports and opens everything
STOP_S = 30.0  # a part asked to stop (SIGTERM) gets this long before SIGKILL
POLL_S = 0.1  # between two readiness probes
WORKER_READY = b"ready."  # what Celery logs once it consumes (celery.apps.worker)
INSTANCES = ("a", "b")


@dataclass(frozen=True, slots=True)
class ClusterPorts:
    """Where each part listens, all on 127.0.0.1."""

    https: int  # nginx: the address users open
    http: int  # nginx: redirects to https
    redis: int
    instances: tuple[int, int]
    postgres: int = 0  # 0: a free one, chosen when PostgreSQL starts

    @classmethod
    def free(cls) -> ClusterPorts:
        """Ports nobody listens on now (tests)."""
        https, http, redis, a, b = (_free_port() for _ in range(5))
        return cls(https=https, http=http, redis=redis, instances=(a, b))


# scripts/run-cluster's ports, documented in the README ("Running a cluster on one machine").
FIXED_PORTS = ClusterPorts(https=8443, http=8088, redis=6390, instances=(8091, 8092), postgres=5433)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Part:
    """One process of the cluster: how to start it and how to know it is ready."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[Part], Awaitable[None]]
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    log_offset: int = 0  # where this start's lines begin in the log

    @property
    def running(self) -> bool:
        """Started and not exited."""
        return self.process is not None and self.process.returncode is None

    def check_alive(self) -> None:
        """Raise with the log's tail when the process has exited."""
        if self.process is None or self.process.returncode is not None:
            code = None if self.process is None else self.process.returncode
            raise RuntimeError(f"{self.name} exited ({code}):\n{tail(self.log)}")


def tail(log: Path, lines: int = 40) -> str:
    """The last ``lines`` of a log, or a note that there is none."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {log})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Cluster:
    """The parts, their folder and their ports; ``start`` and ``stop`` them as a whole."""

    folder: Path
    ports: ClusterPorts = field(default_factory=ClusterPorts.free)
    database: str = DATABASE
    settings: Mapping[str, str] = field(default_factory=dict)
    config_file: Path | None = None  # a TOML file every part reads (ASSISTANT_CONFIG)
    worker_command: Sequence[str] = ("-m", "assistant", "worker")
    python: str = sys.executable
    nginx_connections: int = 2048  # two per proxied websocket: 2,000 users need 4,000 and some
    parts: dict[str, Part] = field(default_factory=dict)
    postgres: PostgresServer | None = None
    database_url: str = ""
    # scripts/run-cluster keeps its PostgreSQL in ``folder/postgres`` (durable, kept between
    # runs, like the data folder); a test's is thrown away with its folder.
    keep_database: bool = False
    cert: Path | None = None

    @property
    def base(self) -> str:
        """The address users open: nginx's https listener."""
        return f"https://127.0.0.1:{self.ports.https}"

    @property
    def data(self) -> Path:
        """The data folder every instance and the worker share."""
        return self.folder / "data"

    def instance_url(self, name: str) -> str:
        """An instance's own address, past nginx (``a`` or ``b``)."""
        return f"http://127.0.0.1:{self.ports.instances[INSTANCES.index(name)]}"

    def client_ssl(self) -> ssl.SSLContext:
        """A TLS context that trusts nginx's certificate and nothing else."""
        assert self.cert is not None, "start the cluster first"
        return ssl.create_default_context(cafile=str(self.cert))

    # -- starting and stopping ----------------------------------------------------------------

    async def start(self) -> None:
        """Start every part in order, each ready before the next; on failure stop what runs."""
        try:
            (self.folder / "logs").mkdir(parents=True, exist_ok=True)
            self.data.mkdir(parents=True, exist_ok=True)
            if self.database == "postgres":
                await asyncio.to_thread(self._start_postgres)
            elif self.database != "sqlite":
                raise ValueError(f"database is 'sqlite' or 'postgres', not {self.database!r}")
            self._define_parts()
            for name in ("redis", "a", "b", "worker", "nginx"):
                await self.start_part(name)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop the parts in the reverse order (SIGTERM, then SIGKILL), then PostgreSQL."""
        for name in ("nginx", "a", "b", "worker", "redis"):
            part = self.parts.get(name)
            if part is not None and part.running:
                await self._end(part, signal.SIGTERM)
        if self.postgres is not None:
            server, self.postgres = self.postgres, None
            await asyncio.to_thread(server.stop)
            if not self.keep_database:
                await asyncio.to_thread(shutil.rmtree, server.folder, True)

    async def kill(self, name: str) -> None:
        """SIGKILL one part (its whole process group), as a crash would end it."""
        part = self.parts[name]
        assert part.running, f"{name} is not running"
        await self._end(part, signal.SIGKILL)

    async def start_part(self, name: str) -> None:
        """Start (or start again) one part and wait until it is ready."""
        part = self.parts[name]
        assert not part.running, f"{name} runs already"
        part.starts += 1
        with part.log.open("ab") as log:
            part.log_offset = log.tell()
            log.write(f"=== start {part.starts}: {' '.join(part.command)}\n".encode())
            log.flush()
            part.process = await asyncio.create_subprocess_exec(
                *part.command, cwd=ROOT, env=part.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        async with asyncio.timeout(READY_S):
            await part.ready(part)

    async def _end(self, part: Part, how: signal.Signals) -> None:
        process = part.process
        assert process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, how)
        try:
            await asyncio.wait_for(process.wait(), STOP_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    def tails(self, lines: int = 40) -> str:
        """Every part's log tail, for a failure's report."""
        return "\n".join(
            f"----- {part.name} ({part.log}) -----\n{tail(part.log, lines)}"
            for part in self.parts.values()
        )

    # -- the parts ----------------------------------------------------------------------------

    def _start_postgres(self) -> None:
        from testing.postgres import PostgresServer, server_binaries, temporary_folder

        if self.keep_database:
            folder = self.kept_postgres_folder()
            folder.mkdir(mode=0o700, exist_ok=True)
            server = PostgresServer(folder, server_binaries())
            if not (server.data / "PG_VERSION").exists():
                server.init(durable=True)
            server.start(port=self.ports.postgres, durable=True)
            self.postgres = server
            self.database_url = server.url(server.ensure_database("assistant"))
            return
        server = PostgresServer(temporary_folder(), server_binaries())
        server.init()
        server.start(port=self.ports.postgres)
        self.postgres = server
        name = server.create_database()
        self.database_url = server.url(name)

    def kept_postgres_folder(self) -> Path:
        """Where a kept PostgreSQL lives: ``folder/postgres``; under root, whose server runs as
        the ``postgres`` user, in /var/tmp when that user could not reach ``folder``."""
        from testing.postgres import reachable_by_others

        if os.geteuid() == 0 and not reachable_by_others(self.folder):
            digest = hashlib.sha256(str(self.folder).encode()).hexdigest()[:12]
            return Path("/var/tmp") / f"facility-assistant-cluster-{digest}"
        return self.folder / "postgres"

    def _environment(self, port: int | None = None) -> dict[str, str]:
        """This environment without its ``ASSISTANT_*``, then ``settings``, then what the
        cluster wires (which wins: the parts must find each other)."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("ASSISTANT_")}
        env.update(self.settings)
        env.update(
            ASSISTANT_DATA_DIR=str(self.data), ASSISTANT_SITE_DIR=str(self.folder / "site"),
            ASSISTANT_REDIS_URL=f"redis://127.0.0.1:{self.ports.redis}/0",
            ASSISTANT_PUBLIC_BASE_URL=self.base,
            # nginx on this machine forwards for the clients (deploy/systemd's example).
            ASSISTANT_TRUSTED_PROXIES="127.0.0.1",
        )  # fmt: skip
        if self.database_url:
            env["ASSISTANT_DATABASE_URL"] = self.database_url
        if self.config_file is not None:
            env["ASSISTANT_CONFIG"] = str(self.config_file)
        if port is not None:
            env["ASSISTANT_PORT"] = str(port)
            env["ASSISTANT_HOST"] = "127.0.0.1"
        return env

    def _define_parts(self) -> None:
        logs = self.folder / "logs"
        binary = redis_binary()
        assert binary is not None, "redis-server is not installed (scripts/setup.sh installs it)"
        redis_folder = self.folder / "redis"
        redis_folder.mkdir(exist_ok=True)
        self._add("redis", redis_command(binary, self.ports.redis, redis_folder), {}, _redis_ready)
        for name, port in zip(INSTANCES, self.ports.instances, strict=True):
            command = [self.python, "-m", "assistant", "serve"]
            self._add(name, command, self._environment(port), self._http_ready(port))
        worker = [self.python, *self.worker_command]
        worker_env = self._environment()
        if worker_env.get("ASSISTANT_LOG_LEVEL", "info") != "debug":
            worker_env["ASSISTANT_LOG_LEVEL"] = "info"  # Celery's "ready" line is info
        self._add("worker", worker, worker_env, _worker_ready)
        nginx_ports = {"https": self.ports.https, "http": self.ports.http}
        command, self.cert = prepare(
            self.folder / "nginx",
            nginx_ports,
            self.folder / "site",
            self.ports.instances,
            self.nginx_connections,
        )
        self._add("nginx", command, dict(os.environ), self._nginx_ready)
        assert all(part.log.parent == logs for part in self.parts.values())

    def _add(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        ready: Callable[[Part], Awaitable[None]],
    ) -> None:
        log = self.folder / "logs" / f"{name}.log"
        self.parts[name] = Part(name, command, env or dict(os.environ), log, ready)

    def _http_ready(self, port: int) -> Callable[[Part], Awaitable[None]]:
        return _health_ready(f"http://127.0.0.1:{port}/healthz", None)

    async def _nginx_ready(self, part: Part) -> None:
        await _health_ready(f"{self.base}/healthz", self.client_ssl())(part)

    # -- what the store holds, for checks -----------------------------------------------------

    async def stored_sessions(self, keys: Sequence[str]) -> dict[str, Session]:
        """The sessions as the cluster's store holds them, read through the store the
        composition root builds from the parts' own settings (SQLite or PostgreSQL alike)."""
        from assistant.compose import Services
        from assistant.config import load_settings

        services = Services.build(load_settings(None, environ=self._environment()))
        await services.store.open()
        try:
            loaded = {key: await services.store.load(key) for key in keys}
        finally:
            await services.store.close()
        return {key: session for key, session in loaded.items() if session is not None}

    def rows_by_session(self, table: str) -> dict[str, list[tuple[Any, ...]]]:
        """Each session's rows of ``artifacts`` (id, token) or ``generations`` (id,
        status, attempts): the store's ports ask by id, a check asks by session."""
        columns = {"artifacts": "id, token", "generations": "id, status, attempts"}[table]
        query = f"SELECT session_key, {columns} FROM {table}"  # noqa: S608 - fixed names
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url) as conn:
                rows = conn.execute(query).fetchall()
        else:
            with contextlib.closing(sqlite3.connect(self.data / "assistant.db")) as conn:
                rows = conn.execute(query).fetchall()
        found: dict[str, list[tuple[Any, ...]]] = {}
        for key, *values in rows:
            found.setdefault(str(key), []).append(tuple(values))
        return found


async def _redis_ready(part: Part) -> None:
    assert part.process is not None
    port = int(part.command[part.command.index("--port") + 1])
    await answers_ping(port, part.process)


async def _worker_ready(part: Part) -> None:
    """Until Celery says the worker consumes (a task sent before waits in Redis anyway)."""
    while True:
        part.check_alive()
        with part.log.open("rb") as log:
            log.seek(part.log_offset)
            if WORKER_READY in log.read():
                return
        await asyncio.sleep(POLL_S)


def _health_ready(url: str, context: ssl.SSLContext | None) -> Callable[[Part], Awaitable[None]]:
    async def ready(part: Part) -> None:
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                part.check_alive()
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(url, ssl=context if context else True) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(POLL_S)

    return ready
