"""A real PostgreSQL for tests: a throw-away cluster from Debian's ``postgresql`` package.

``initdb`` makes a cluster in a temporary folder and ``pg_ctl`` starts it on a free port of
127.0.0.1; each test gets a database of its own (``CREATE DATABASE``), and the cluster is
stopped and its folder removed at the end. ``initdb`` refuses to run as root, and tests run
as root here and in CI, so under root the cluster belongs to the ``postgres`` system user
(which the Debian package creates) and every server command runs through ``runuser``.

No mock: the store's port suite (``tests/test_store_ports.py``) talks to this server over TCP
exactly as ``assistant serve`` talks to a facility's PostgreSQL.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

MISSING = (
    "PostgreSQL's server is not installed: apt-get install postgresql "
    "(scripts/test installs it with the other test servers)"
)
SYSTEM_USER = "postgres"  # the cluster's owner when the tests run as root
SUPERUSER = "postgres"  # the role initdb makes, which the tests connect as
PREFERRED_VERSION = "15"  # Debian 12's


def server_binaries() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: Debian keeps them out of PATH, one folder per
    major version; 15 when present, else the newest."""
    root = Path("/usr/lib/postgresql")
    folders = sorted(
        (p / "bin" for p in root.glob("*") if (p / "bin" / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for folder in folders:
        if folder.parent.name == PREFERRED_VERSION:
            return folder
    if folders:
        return folders[-1]
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(MISSING)


def free_port() -> int:
    """A port nobody listens on now (the server may still lose it to a race: start retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One cluster in ``folder`` on ``port``, owned by the user the commands run as."""

    def __init__(self, folder: Path, binaries: Path) -> None:
        self.folder = folder
        self.binaries = binaries
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.port = 0
        self._numbers = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(SYSTEM_USER)
            except KeyError as err:
                raise RuntimeError(
                    f"tests run as root, and initdb refuses root: the system user "
                    f"{SYSTEM_USER!r} is missing ({MISSING})"
                ) from err
            os.chown(folder, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", SYSTEM_USER, "--"]

    def run_as_owner(self, *command: str) -> subprocess.CompletedProcess[str]:
        """A command as the cluster's user (``postgres`` under root), as its files need."""
        return self._run(*command)

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as_user, *command], capture_output=True, text=True, check=False, timeout=120
        )

    def init(self, *, durable: bool = False) -> None:
        """Make the cluster: trust on 127.0.0.1 only, UTF-8, no fsync unless ``durable`` (a
        throw-away one; scripts/run-cluster keeps its own)."""
        done = self._run(
            str(self.binaries / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--no-locale", *(() if durable else ("--no-sync",)),
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")

    def start(self, *, port: int = 0, durable: bool = False) -> None:
        """Start on ``port`` (0: a free one) and return once it accepts connections (``pg_ctl
        -w``); without ``durable``, with no fsync (a test's cluster is thrown away)."""
        fast = () if durable else ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
        for _ in range(1 if port else 5):
            self.port = port or free_port()
            options = " ".join(
                f"-c {setting}"
                for setting in (
                    f"port={self.port}", "listen_addresses=127.0.0.1",
                    f"unix_socket_directories={self.folder}", "max_connections=200", *fast,
                )
            )  # fmt: skip
            done = self._run(
                str(self.binaries / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                "-o", options, "-w", "-t", "60", "start",
            )  # fmt: skip
            if done.returncode == 0:
                self._wait_until_it_answers()
                return
            if "could not bind" not in self._log_text():  # not a lost race for the port
                break
        raise RuntimeError(
            f"PostgreSQL did not start: {done.stdout}{done.stderr}\n{self._log_text()}"
        )

    def _log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # pg_ctl said ready; the listener follows within moments

    def stop(self) -> None:
        """Stop the server (fast: open connections are closed)."""
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        """The address a store is given (``database_url``)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its name. ``FILE_COPY`` copies the template's few
        files at once (measured here: 0.13 s against 0.45 s through the WAL)."""
        name = f"test_{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} STRATEGY FILE_COPY").format(sql.Identifier(name))
            )
        return name

    def ensure_database(self, name: str) -> str:
        """The database ``name``, made when it does not exist yet; returns its name."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Remove a test's database, closing whatever it left connected."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def reachable_by_others(folder: Path) -> bool:
    """Whether another user may pass through every folder above ``folder`` (o+x)."""
    return all(os.stat(part).st_mode & 0o001 for part in (folder, *folder.parents))


def temporary_base() -> str:
    """The temporary folder, unless the cluster's user could not reach into it (a TMPDIR
    inside root's home): then /tmp, which every user can."""
    base = Path(tempfile.gettempdir())
    if os.geteuid() == 0 and not reachable_by_others(base):
        return "/tmp"
    return str(base)


def temporary_folder() -> Path:
    """A new folder for a cluster, where its user can reach it (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix="assistant-pg-", dir=temporary_base()))


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A fresh cluster, started, for the length of the block; its folder is removed after."""
    binaries = server_binaries()
    folder = temporary_folder()
    try:
        server = PostgresServer(folder, binaries)
        server.init()
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL for the whole run (each xdist worker starts its own)."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The address of an empty database of this test's own, dropped afterwards."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
