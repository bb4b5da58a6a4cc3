"""What runs in the sandbox's child between fork and exec: namespaces, limits, privileges.

Kept apart from ``sandbox.py`` because this code runs in a forked copy of the service, where
only a few things are safe: every libc function is resolved at import, ``fork`` is libc's (no
Python at-fork handlers), and the processes that wait instead of exec-ing close every
descriptor they inherited. ``sandbox.py`` explains what each namespace is for.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import resource
import signal
from collections.abc import Callable
from typing import NoReturn

FILE_SIZE_LIMIT = 10 * 1024 * 1024
OPEN_FILES_LIMIT = 64
NOBODY_PROCESS_LIMIT = 128  # tasks (threads count) of uid 65534, across concurrent runs
NOBODY = 65534

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_PR_SET_PDEATHSIG = 1
_ALL_FDS = 1 << 20  # closerange's end: every descriptor a process of ours can hold

_LIBC = ctypes.CDLL(None, use_errno=True)
_UNSHARE = _LIBC.unshare  # resolved here: the child after fork should do as little as possible
_FORK = _LIBC.fork  # not os.fork: no at-fork handlers run in a child that is about to exec
_PRCTL = _LIBC.prctl
_MOUNT = _LIBC.mount


def _unshare(drop: bool, hidden: tuple[bytes, ...]) -> tuple[bool, bool, bool]:
    """New namespaces, as far as the kernel allows: (network, pids, folders hidden).

    As root the program becomes ``nobody``, which 0700 folders already keep out. Otherwise it
    keeps the service's uid, so a mount namespace lays an empty, closed folder over each
    folder in ``hidden`` (the data folder).
    """
    if drop:
        return _UNSHARE(CLONE_NEWNET) == 0, _UNSHARE(CLONE_NEWPID) == 0, True
    for flags in (
        CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS,
        CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID,
        CLONE_NEWUSER | CLONE_NEWNET,
    ):
        if _UNSHARE(flags) == 0:
            covered = bool(flags & CLONE_NEWNS) and all([_cover(path) for path in hidden])
            return True, bool(flags & CLONE_NEWPID), covered or not hidden
    return False, False, not hidden


def _cover(path: bytes) -> bool:
    """Mount an empty read-only tmpfs that nobody may enter over ``path``; a folder that does
    not exist has nothing to hide."""
    if _MOUNT(b"none", path, b"tmpfs", _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
              b"size=4k,mode=000") == 0:  # fmt: skip
        return True
    return ctypes.get_errno() == errno.ENOENT


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


def child_setup(
    report_fd: int,
    memory_mb: int | None,
    cpu_seconds: int,
    drop: bool,
    hidden: tuple[bytes, ...] = (),
) -> Callable[[], None]:
    """The preexec function: unshare, hide, set limits, drop privileges. It writes three
    bytes to ``report_fd`` (b"1" or b"0"): network isolated, tree contained, folders hidden."""

    def setup() -> None:
        report = _unshare(drop, hidden)
        os.write(report_fd, bytes(b"01"[flag] for flag in report))
        contained = report[1]
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
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            if contained:  # a change of uid clears it
                _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return setup
