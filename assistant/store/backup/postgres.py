"""The PostgreSQL side of a backup: ``pg_dump`` into the archive, ``pg_restore`` out of it.

With ``database_url`` the database is not a file in the data folder, so the archive holds a
``pg_dump --format=custom`` of it instead of ``data/assistant.db``. PostgreSQL's own tools, not
SQL of ours: they know every object of the schema, and a custom-format dump is compressed and
checked by ``pg_restore --list`` before anything is touched. The dump and the manifest's
counts read one snapshot (``pg_export_snapshot``), so the counts describe exactly the dump.

The password never reaches a command line (``ps`` shows every process's arguments to every
user) nor a log or the manifest: the tools get the address without it and the password as
``PGPASSWORD`` in their environment. ``pg_dump`` refuses a server of a newer major version
than its own, and reads older ones, so the newest Debian keeps (``/usr/lib/postgresql/N``)
is used. Restoring runs in one transaction: it lands whole or not at all. This module imports
psycopg (the ``postgres`` extra): it is imported only when a ``database_url`` is set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import conninfo

from assistant.store.backup.manifest import BackupError
from assistant.store.postgres.database import redacted
from assistant.store.postgres.migrate import discovered

DEBIAN_ROOT = Path("/usr/lib/postgresql")
COUNTED = ("sessions", "turns", "artifacts")
_VERSION = re.compile(r"\)\s+(\d+)(?:\.(\d+))?")
_CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True, slots=True)
class Tools:
    """``pg_dump`` and ``pg_restore`` of one major version."""

    pg_dump: Path
    pg_restore: Path
    version: str  # "15.13"

    @property
    def major(self) -> int:
        """The major version (15)."""
        return int(self.version.split(".")[0])


@dataclass(frozen=True, slots=True)
class Dump:
    """What ``dump`` wrote: the migrations and counts of its snapshot, and the versions."""

    migrations: tuple[str, ...]
    counts: dict[str, int]
    versions: dict[str, str] = field(default_factory=dict)
    address: str = ""  # the database's address without its password, for the manifest


def find_tools(root: Path = DEBIAN_ROOT) -> Tools:
    """The newest ``pg_dump``/``pg_restore`` pair on the machine: Debian's version folders
    first, then ``PATH``; ``BackupError`` naming the package when there is none."""
    pairs = [(folder / "pg_dump", folder / "pg_restore") for folder in root.glob("*/bin")]
    if (dump := shutil.which("pg_dump")) and (restore := shutil.which("pg_restore")):
        pairs.append((Path(dump), Path(restore)))
    found = [
        Tools(dump, restore, version)
        for dump, restore in pairs
        if dump.is_file() and restore.is_file() and (version := _version_of(dump))
    ]
    if not found:
        raise BackupError("pg_tool_missing", tool="pg_dump")
    return max(found, key=lambda tools: tuple(int(n) for n in tools.version.split(".")))


def _version_of(binary: Path) -> str:
    """``15.13`` from ``pg_dump (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)``; empty when the
    program does not answer as one of PostgreSQL's."""
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return ""
    match = _VERSION.search(done.stdout)
    return f"{match.group(1)}.{match.group(2) or 0}" if match and done.returncode == 0 else ""


def tool_address(url: str) -> tuple[str, dict[str, str]]:
    """The address for ``--dbname`` without the password, and the environment that carries
    it (``PGPASSWORD``): what a tool needs, with nothing secret among its arguments."""
    info = conninfo.conninfo_to_dict(url)
    password = info.pop("password", None)
    environment = {key: value for key, value in os.environ.items() if key != "PGPASSWORD"}
    if password:
        environment["PGPASSWORD"] = str(password)
    return conninfo.make_conninfo(**{k: str(v) for k, v in info.items()}), environment


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        password = str(conninfo.conninfo_to_dict(url).get("password") or "")
        return psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT_S)
    except psycopg.Error as err:
        if isinstance(err, psycopg.ProgrammingError):  # its message may quote the address
            detail = "the address cannot be read"
        else:
            detail = (str(err).strip().splitlines() or [type(err).__name__])[0]
            detail = detail.replace(password, "…") if password else detail
        raise BackupError("pg_unreachable", address=redacted(url), detail=detail) from err


def dump(url: str, target: Path) -> Dump:
    """``pg_dump --format=custom`` of the database into ``target``, and the migrations and
    counts of the very snapshot it dumped."""
    tools = find_tools()
    with _connect(url) as conn:
        server = conn.info.server_version // 10000
        if server > tools.major:
            raise BackupError(
                "pg_tool_too_old", tool="pg_dump", tool_major=tools.major, server_major=server
            )
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            row = conn.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = row.fetchone() or ("", "")
            migrations, counts = _describe(conn)
            address, environment = tool_address(url)
            _run(
                [str(tools.pg_dump), "--format=custom", f"--snapshot={snapshot}",
                 f"--file={target}", f"--dbname={address}"],
                environment,
            )  # fmt: skip
    versions = {"postgresql": str(server_version).split()[0], "pg_dump": tools.version}
    return Dump(migrations, counts, versions, redacted(url))


def _describe(
    conn: psycopg.Connection[tuple[object, ...]],
) -> tuple[tuple[str, ...], dict[str, int]]:
    """The migrations applied and the rows counted, as ``database.describe`` does for SQLite."""
    present = {
        str(name)
        for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    }
    migrations: tuple[str, ...] = ()
    if "schema_migrations" in present:
        rows = conn.execute("SELECT name FROM schema_migrations ORDER BY version")
        migrations = tuple(str(name) for (name,) in rows)
    counts = {}
    for table in COUNTED:
        if table in present:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (fixed names)
            counts[table] = int(str(row[0])) if row else 0
    return migrations, counts


def check_restorable(
    dump_file: Path, url: str, archive: Path, migrations: tuple[str, ...], *, force: bool
) -> Tools:
    """Everything a restore needs, asked before anything changes: the dump reads whole, the
    tools can read it, the schema is not newer than this version knows, the server answers,
    no other client (a running assistant) is connected, and the database holds no sessions
    unless ``force`` says to replace them."""
    tools = find_tools()
    listed = subprocess.run(
        [str(tools.pg_restore), "--list", str(dump_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        raise BackupError("damaged", file=archive, detail=f"pg_restore: {_last_line(listed)}")
    known = {migration.name for migration in discovered()}
    unknown = [name for name in migrations if name not in known]
    if unknown:
        raise BackupError("newer_schema", file=archive, migrations=", ".join(unknown))
    with _connect(url) as conn:
        others = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchone()
        if others and int(str(others[0])):
            raise BackupError("pg_in_use", address=redacted(url), count=others[0])
        _, counts = _describe(conn)
    if counts.get("sessions") and not force:
        raise BackupError("pg_not_empty", address=redacted(url), sessions=counts["sessions"])
    return tools


def restore(dump_file: Path, url: str, tools: Tools) -> None:
    """``pg_restore --clean --if-exists`` in one transaction: the database holds the dump's
    objects and rows afterwards, or, on any error, what it held before. Objects are owned by
    the restoring role (``--no-owner``): the service's role, whoever made the dump."""
    address, environment = tool_address(url)
    _run(
        [str(tools.pg_restore), "--clean", "--if-exists", "--no-owner", "--single-transaction",
         "--exit-on-error", f"--dbname={address}", str(dump_file)],
        environment,
    )  # fmt: skip


def relocate_artifacts(url: str, artifacts_dir: Path) -> int:
    """Point restored artifact rows at their folders under ``artifacts_dir`` (as
    ``database.relocate_artifacts`` does for SQLite); returns how many rows changed."""
    changed = 0
    with _connect(url) as conn, conn.transaction():
        for artifact_id, folder in conn.execute("SELECT id, folder FROM artifacts").fetchall():
            wanted = artifacts_dir / Path(str(folder)).name
            if str(folder) != str(wanted) and wanted.is_dir():
                conn.execute(
                    "UPDATE artifacts SET folder = %s WHERE id = %s", (str(wanted), artifact_id)
                )
                changed += 1
    return changed


def _run(command: list[str], environment: dict[str, str]) -> None:
    """One of the tools; its failure as one sentence (its last line of complaint)."""
    try:
        done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    except OSError as err:
        raise BackupError("pg_tool_missing", tool=Path(command[0]).name) from err
    if done.returncode != 0:
        raise BackupError("pg_failed", tool=Path(command[0]).name, detail=_last_line(done))


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    """The tool's first error line (what follows it is the statement it ran), else its last."""
    lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [f"exit status {done.returncode}"])[0 if errors else -1]
