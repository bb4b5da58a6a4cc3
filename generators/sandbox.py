"""Running generated programs in a sandboxed, time-limited subprocess.

Generated code is never trusted: it runs in a fresh temporary folder, with a minimal
environment, resource limits, no network and, when the service runs as root, as ``nobody``.

How the limits work here (Linux):

* network: the child calls ``unshare(CLONE_NEWNET)`` (as root) or
  ``unshare(CLONE_NEWUSER | CLONE_NEWNET)`` (otherwise) before ``exec``
  (``sandbox_child.py``). A new network
  namespace has only a loopback that is down, so every connect fails, even to 127.0.0.1.
  When neither call works the program still runs and ``network_isolated`` is False.
* privileges: as root the child drops to uid/gid 65534 after unsharing, so it cannot write
  outside its folder, read the service's files or signal the service.
* the data folder: 0700 (``assistant/private_files.py``), which keeps ``nobody`` out. A service
  that is not root runs programs as itself, so each run also gets a mount namespace with an
  empty, closed tmpfs over every folder given to ``hide_from_programs`` (the composition root
  gives the data folder); where the kernel refuses, a log line says the folder is visible.
* resources: ``RLIMIT_AS``/``CPU``/``FSIZE``/``NOFILE``/``CORE``. ``RLIMIT_NPROC`` counts every
  process of a uid, so it is set only for the ``nobody`` case (shared by concurrent runs), never
  for the service's own uid.
* the whole tree: each run gets its own PID namespace (``CLONE_NEWPID``, with the network's
  unshare). Only children enter a new PID namespace, so the started process forks twice: a
  small init (pid 1 of the namespace) and the program under it, which runs with ordinary
  signal handling. When the program ends, init reports its status and exits, and the kernel
  kills everything left in the namespace, even a grandchild that called ``setsid()``; at the
  timeout the process-group kill reaches init and has the same effect. Where the kernel
  refuses the namespace (``tree_contained`` False, logged once), the process-group kill is all
  there is and such a grandchild outlives the run (``RLIMIT_CPU`` still bounds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from generators.sandbox_child import (
    NOBODY,
    child_setup,
)

_LOGGER = logging.getLogger(__name__)

OUTPUT_CAP = 64 * 1024  # bytes kept per stream; the rest is read and dropped
# V8 reserves address space up front: `node --check` aborts below ~700 MB of RLIMIT_AS here.
NODE_MEMORY_MB = 1024
TRUNCATED_NOTE = "\n[output truncated]"

_GRACE_SECONDS = 1.0  # for pipes to reach EOF after the group is killed

_warned_no_network_isolation = False
_warned_no_pid_namespace = False
_warned_not_hidden = False
_hidden: tuple[bytes, ...] = ()  # folders a program must not see (hide_from_programs)


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """What a sandboxed run did; ``network_isolated`` False means it could reach the network."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    network_isolated: bool
    tree_contained: bool = False  # ran in its own PID namespace: nothing it started outlived it


def _drops_privileges() -> bool:
    """As root, the child becomes ``nobody``; otherwise it keeps the service's uid."""
    return os.geteuid() == 0


def _others_can_execute(path: str) -> bool:
    """Whether ``nobody`` could start ``path``: every folder on the way must be o+x."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in real.parents)
    except OSError:
        return False


def sandbox_python() -> str:
    """An interpreter the sandbox user can start: the venv's may live under a 0700 /root."""
    if not _drops_privileges() or _others_can_execute(sys.executable):
        return sys.executable
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system and _others_can_execute(system):
        return system
    return sys.executable


def hide_from_programs(*folders: Path) -> None:
    """Folders sandboxed programs must not see (the data folder), given by the composition
    root. Needed when the service is not root: its programs then keep its uid, which 0700
    does not keep out, so each run gets an empty, closed folder mounted in their place."""
    global _hidden
    paths = [os.fsencode(os.path.realpath(folder)) for folder in folders]
    _hidden = tuple(dict.fromkeys([*_hidden, *paths]))


def _prepare_folder(folder: Path, files_from: Path | None, drop: bool) -> None:
    """Copy the artifact in (symlinks stay links) and hand the folder to the sandbox user."""
    if files_from is not None:
        shutil.copytree(files_from, folder, symlinks=True, dirs_exist_ok=True)
    if drop:
        for root, dirs, files in os.walk(folder):
            for name in (root, *(os.path.join(root, n) for n in dirs + files)):
                os.chown(name, NOBODY, NOBODY, follow_symlinks=False)


async def _drain(stream: asyncio.StreamReader | None, into: bytearray, cut: list[bool]) -> None:
    """Read a pipe to its end, keeping at most ``OUTPUT_CAP`` bytes so no program can eat memory."""
    if stream is None:
        return
    while chunk := await stream.read(65536):
        room = OUTPUT_CAP - len(into)
        if len(chunk) > room:
            cut.append(True)
        if room > 0:
            into += chunk[:room]


async def _feed(stdin: asyncio.StreamWriter | None, data: bytes) -> None:
    """Give the program its input, then EOF; a program that stops reading is not an error."""
    if stdin is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            stdin.write(data)
            await stdin.drain()
        stdin.close()


async def _exits_within(proc: asyncio.subprocess.Process, seconds: float) -> bool:
    """Wait for the program itself to end; ``proc.wait()`` also waits for pipes children hold."""
    deadline = time.monotonic() + seconds
    while proc.returncode is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _kill_group(pid: int) -> None:
    """SIGKILL the program and everything it started in its process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _text(data: bytearray, cut: list[bool]) -> str:
    """Decode captured output, marking where it was cut off."""
    return data.decode("utf-8", errors="replace") + (TRUNCATED_NOTE if cut else "")


async def run_sandboxed(
    argv: list[str],
    *,
    files_from: Path | None = None,
    timeout: float = 5.0,  # noqa: ASYNC109 - the program's wall-clock limit, not ours
    memory_mb: int | None = 256,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
) -> SandboxResult:
    """Run ``argv`` (never through a shell) in a throwaway copy of ``files_from``, limited.

    ``memory_mb=None`` sets no address-space limit; node needs ``NODE_MEMORY_MB``.
    Raises ``OSError`` when the program cannot be started at all.
    """
    global _warned_no_network_isolation, _warned_no_pid_namespace, _warned_not_hidden
    drop = _drops_privileges()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sandbox-") as tmp:
        folder = Path(tmp)
        await asyncio.to_thread(_prepare_folder, folder, files_from, drop)
        child_env = {
            "PATH": "/usr/bin:/bin",
            "HOME": tmp,
            "TMPDIR": tmp,
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        }
        read_fd, write_fd = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=folder,
                env=child_env,
                start_new_session=True,
                preexec_fn=child_setup(write_fd, memory_mb, math.ceil(timeout) + 1, drop, _hidden),
            )
            os.close(write_fd)
            write_fd = -1
            os.set_blocking(read_fd, False)
            try:
                report = os.read(read_fd, 3)
            except BlockingIOError:
                report = b""
            isolated, contained, hidden = (report[i : i + 1] == b"1" for i in range(3))
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        if not isolated and not _warned_no_network_isolation:
            _warned_no_network_isolation = True
            _LOGGER.warning("sandboxed programs can reach the network: unshare() is not allowed")
        if not hidden and not _warned_not_hidden:
            _warned_not_hidden = True
            _LOGGER.warning(
                "sandboxed programs can read the data folder: no mount namespace to hide it "
                "(run the service as root, so they run as nobody, or allow user namespaces)"
            )
        if not contained and not _warned_no_pid_namespace:
            _warned_no_pid_namespace = True
            _LOGGER.warning(
                "sandboxed programs run without a PID namespace (unshare(CLONE_NEWPID) is not "
                "allowed): a child that calls setsid() can outlive its run"
            )

        out, err = bytearray(), bytearray()
        out_cut: list[bool] = []
        err_cut: list[bool] = []
        pumps = [
            asyncio.create_task(_drain(proc.stdout, out, out_cut)),
            asyncio.create_task(_drain(proc.stderr, err, err_cut)),
            asyncio.create_task(_feed(proc.stdin, stdin)),
        ]
        timed_out = True
        try:
            timed_out = not await _exits_within(proc, timeout)
        finally:
            _kill_group(proc.pid)  # also ends children left behind by a program that exited
            _, pending = await asyncio.wait(pumps, timeout=_GRACE_SECONDS)
            if pending:  # a process that left the group still holds the pipes: let go of them
                for task in pending:
                    task.cancel()
                proc._transport.close()  # type: ignore[attr-defined]  # noqa: SLF001
            await asyncio.gather(*pumps, return_exceptions=True)
            await proc.wait()
    return SandboxResult(
        returncode=proc.returncode if proc.returncode is not None else -signal.SIGKILL,
        stdout=_text(out, out_cut),
        stderr=_text(err, err_cut),
        timed_out=timed_out,
        seconds=time.monotonic() - started,
        network_isolated=isolated,
        tree_contained=contained,
    )
