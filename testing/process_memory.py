"""Memory of a part made of several processes, read from ``/proc`` (Linux), for the benchmarks.

nginx is a master and its workers, PostgreSQL a postmaster and a backend per connection; a
part started in a session of its own (testing/cluster.py) is its process group. RSS summed
over processes counts shared pages once per process (PostgreSQL's shared buffers in every
backend), so PSS, which shares them out, is given beside it.
"""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str]:
    """``/proc/PID/stat`` after the command name (which may hold spaces): state, ppid, pgrp…"""
    return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()


def _pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def _kb(path: Path, field: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def group_pids(pgid: int) -> list[int]:
    """The processes of process group ``pgid``."""
    found = []
    for pid in _pids():
        try:
            if int(_stat_fields(pid)[2]) == pgid:
                found.append(pid)
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return found


def tree_pids(root: int) -> list[int]:
    """``root`` and every process descended from it."""
    parents: dict[int, int] = {}
    for pid in _pids():
        try:
            parents[pid] = int(_stat_fields(pid)[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def memory_mb(pids: list[int]) -> tuple[float, float]:
    """RSS and PSS of ``pids`` summed, in MB (a process gone meanwhile counts nothing)."""
    rss = pss = 0
    for pid in pids:
        try:
            rss += _kb(PROC / str(pid) / "status", "VmRSS:")
            pss += _kb(PROC / str(pid) / "smaps_rollup", "Pss:")
        except OSError:
            continue
    return rss / 1024, pss / 1024
