"""Running generated programs in a sandboxed, time-limited subprocess.

Generated code is never trusted: it runs in a fresh temporary folder, with a minimal
environment, resource limits, no network and, when the service runs as root, as ``nobody``.

How the limits work here (Linux):

* network: the child calls ``unshare(CLONE_NEWNET)`` (as root) or
  ``unshare(CLONE_NEWUSER | CLONE_NEWNET)`` (otherwise) before ``exec``. A new network
  namespace has only a loopback that is down, so every connect fails, even to 127.0.0.1.
  When neither call works the program still runs and ``network_isolated`` is False.
* privileges: as root the child drops to uid/gid 65534 after unsharing, so it cannot write
  outside its folder, read the service's files or signal the service.
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
import ctypes
import logging
import math
import os
import resource
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

_LOGGER = logging.getLogger(__name__)

OUTPUT_CAP = 64 * 1024  # bytes kept per stream; the rest is read and dropped
FILE_SIZE_LIMIT = 10 * 1024 * 1024
OPEN_FILES_LIMIT = 64
NOBODY_PROCESS_LIMIT = 128  # tasks (threads count) of uid 65534, across concurrent runs
# V8 reserves address space up front: `node --check` aborts below ~700 MB of RLIMIT_AS here.
NODE_MEMORY_MB = 1024
TRUNCATED_NOTE = "\n[output truncated]"

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_ALL_FDS = 1 << 20  # closerange's end: every descriptor a process of ours can hold
_NOBODY = 65534
_GRACE_SECONDS = 1.0  # for pipes to reach EOF after the group is killed

_LIBC = ctypes.CDLL(None, use_errno=True)
_UNSHARE = _LIBC.unshare  # resolved here: the child after fork should do as little as possible
_FORK = _LIBC.fork  # not os.fork: no at-fork handlers run in a child that is about to exec
_PRCTL = _LIBC.prctl
_warned_no_network_isolation = False
_warned_no_pid_namespace = False


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


def _unshare(drop: bool) -> tuple[bool, bool]:
    """New network and PID namespaces, as far as the kernel allows: (network, pids)."""
    if drop:
        return _UNSHARE(_CLONE_NEWNET) == 0, _UNSHARE(_CLONE_NEWPID) == 0
    if _UNSHARE(_CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWPID) == 0:
        return True, True
    return _UNSHARE(_CLONE_NEWUSER | _CLONE_NEWNET) == 0, False


def _mirror(status: int) -> NoReturn:
    """End this process as the program ended: the same exit code or the same signal."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _enter_pid_namespace() -> None:
    """Fork init (pid 1 of the new namespace) and the program under it; only the program
    returns from here, to exec. The started process waits for init's report and ends as the
    program did; init's exit makes the kernel kill whatever the program left behind.

    Both waiting processes close every descriptor but their report pipe: the service learns
    that exec worked from a close-on-exec pipe that only the program may hold.
    """
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)  # the service gone: no run outlives it
    report_read, report_write = os.pipe()
    init = _FORK()
    if init > 0:  # the started process, outside the namespace
        os.closerange(0, report_read)
        os.closerange(report_read + 1, _ALL_FDS)
        raw = b""
        while len(raw) < 4 and (piece := os.read(report_read, 4 - len(raw))):
            raw += piece
        os.waitpid(init, 0)
        _mirror(int.from_bytes(raw, "little") if len(raw) == 4 else 1 << 8)
    if init < 0:
        os._exit(127)
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
    program = _FORK()
    if program == 0:  # the program: on to its limits and exec
        os.close(report_read)
        os.close(report_write)
        return
    os.closerange(0, report_write)  # init
    os.closerange(report_write + 1, _ALL_FDS)
    status = 1 << 8 if program < 0 else os.waitpid(program, 0)[1]
    os.write(report_write, status.to_bytes(4, "little"))
    os._exit(0)


def _child_setup(
    report_fd: int, memory_mb: int | None, cpu_seconds: int, drop: bool
) -> Callable[[], None]:
    """The preexec function: unshare the network and the pids, set limits, drop privileges."""

    def setup() -> None:
        isolated, contained = _unshare(drop)
        os.write(report_fd, (b"1" if isolated else b"0") + (b"1" if contained else b"0"))
        if contained:
            _enter_pid_namespace()
        if memory_mb is not None:
            size = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES_LIMIT, OPEN_FILES_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if drop:
            resource.setrlimit(resource.RLIMIT_NPROC, (NOBODY_PROCESS_LIMIT, NOBODY_PROCESS_LIMIT))
            os.setgroups([])
            os.setgid(_NOBODY)
            os.setuid(_NOBODY)
            if contained:  # a change of uid clears it
                _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return setup


def _prepare_folder(folder: Path, files_from: Path | None, drop: bool) -> None:
    """Copy the artifact in (symlinks stay links) and hand the folder to the sandbox user."""
    if files_from is not None:
        shutil.copytree(files_from, folder, symlinks=True, dirs_exist_ok=True)
    if drop:
        for root, dirs, files in os.walk(folder):
            for name in (root, *(os.path.join(root, n) for n in dirs + files)):
                os.chown(name, _NOBODY, _NOBODY, follow_symlinks=False)


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
    global _warned_no_network_isolation, _warned_no_pid_namespace
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
                preexec_fn=_child_setup(write_fd, memory_mb, math.ceil(timeout) + 1, drop),
            )
            os.close(write_fd)
            write_fd = -1
            os.set_blocking(read_fd, False)
            try:
                report = os.read(read_fd, 2)
            except BlockingIOError:
                report = b""
            isolated, contained = report[:1] == b"1", report[1:2] == b"1"
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        if not isolated and not _warned_no_network_isolation:
            _warned_no_network_isolation = True
            _LOGGER.warning("sandboxed programs can reach the network: unshare() is not allowed")
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
