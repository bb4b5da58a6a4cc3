"""The sandbox keeps generated programs off the network, inside their folder, and in bounds."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generators.sandbox import TRUNCATED_NOTE, SandboxResult, run_sandboxed, sandbox_python


async def run_code(code: str, **kwargs: Any) -> SandboxResult:
    """Run a Python snippet in the sandbox."""
    return await run_sandboxed([sandbox_python(), "-c", textwrap.dedent(code)], **kwargs)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False  # gone, or going while its stat was read
    return state != "Z"


def wait_until_gone(pids: list[int]) -> list[int]:
    """The pids still alive after giving the kernel a moment to finish killing them."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A real socket on the loopback that accepts connections."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


CONNECT = """
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).close()
print("connected")
"""


async def test_a_program_cannot_reach_a_listening_socket_from_the_sandbox(
    listening_port: int,
) -> None:
    # The same code outside the sandbox connects, so the assertion below can fail.
    outside = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CONNECT, str(listening_port), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await outside.communicate()
    assert outside.returncode == 0
    assert b"connected" in out

    inside = await run_sandboxed([sandbox_python(), "-c", CONNECT, str(listening_port)])
    assert inside.network_isolated
    assert inside.returncode != 0
    assert "connected" not in inside.stdout
    assert "OSError" in inside.stderr


async def test_an_endless_loop_is_stopped_at_the_timeout() -> None:
    result = await run_code("while True: pass", timeout=1.0)
    assert result.timed_out
    assert result.returncode != 0


async def test_a_program_that_finishes_is_not_marked_timed_out() -> None:
    result = await run_code("print('done')")
    assert (result.returncode, result.stdout, result.timed_out) == (0, "done\n", False)


async def test_allocating_a_gigabyte_fails() -> None:
    result = await run_code("block = bytearray(1024 ** 3)\nprint('allocated')")
    assert result.returncode != 0
    assert "allocated" not in result.stdout
    assert "MemoryError" in result.stderr


async def test_writes_stay_in_the_throwaway_folder(tmp_path: Path) -> None:
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "data.txt").write_text("original")
    before = {p.name: p.read_bytes() for p in artifact.iterdir()}
    code = """
    import os
    with open("data.txt", "a") as f:
        f.write(" changed")
    os.mkdir("made")
    with open("made/new.txt", "w") as f:
        f.write("new")
    print(open("data.txt").read())
    print(os.getcwd())
    """
    result = await run_code(code, files_from=artifact)
    assert result.returncode == 0, result.stderr
    seen, cwd = result.stdout.splitlines()
    assert seen == "original changed"  # the program had its own copy of the artifact
    assert {p.name: p.read_bytes() for p in artifact.iterdir()} == before
    assert not await asyncio.to_thread(os.path.exists, cwd)  # the throwaway folder is gone


@pytest.mark.skipif(os.geteuid() != 0, reason="privileges are dropped only when run as root")
async def test_as_root_a_program_cannot_write_outside_its_folder(tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    result = await run_code(f"open({str(target)!r}, 'w').write('x')")
    assert result.returncode != 0
    assert "PermissionError" in result.stderr
    assert not target.exists()


async def test_ten_megabytes_of_output_are_cut_short() -> None:
    result = await run_code("import sys\nsys.stdout.write('x' * 10_000_000)")
    assert result.returncode == 0
    assert result.stdout.endswith(TRUNCATED_NOTE)
    assert len(result.stdout) < 100_000


# Each child says its pid as the machine knows it (``/proc/self`` is the host's view), not as
# the sandbox's own PID namespace numbers it: that pid is what the test checks.
HOST_PID = "import os; print(os.readlink('/proc/self'), flush=True)"
SPAWNER = f"""
import subprocess, sys, time
for _ in range(5):
    child = subprocess.Popen(
        [sys.executable, "-c", "{HOST_PID}; import time; time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    print(child.stdout.readline().strip(), flush=True)
{{end}}
"""


async def test_children_are_killed_with_their_group_at_the_timeout() -> None:
    result = await run_code(SPAWNER.format(end="time.sleep(60)"), timeout=2.0)
    assert result.timed_out
    pids = [int(line) for line in result.stdout.split()]
    assert len(pids) == 5
    assert wait_until_gone(pids) == []


async def test_children_left_behind_by_a_finished_program_are_killed() -> None:
    result = await run_code(SPAWNER.format(end="print('bye')"), timeout=10.0)
    assert not result.timed_out
    assert result.returncode == 0
    pids = [int(line) for line in result.stdout.split()[:-1]]
    assert len(pids) == 5
    assert wait_until_gone(pids) == []


async def test_the_program_gets_its_input_and_a_minimal_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVICE_SECRET", "hunter2")
    code = """
    import os, sys
    print(sys.stdin.read().upper())
    print(sorted(os.environ))
    print(os.environ["GREETING"])
    """
    result = await run_code(code, stdin=b"hello", env={"GREETING": "hi"})
    assert result.returncode == 0, result.stderr
    text, names, greeting = result.stdout.splitlines()
    assert text == "HELLO"
    assert "SERVICE_SECRET" not in names
    assert "'PATH'" in names
    assert greeting == "hi"


async def test_a_missing_program_raises() -> None:
    with pytest.raises(OSError):
        await run_sandboxed(["/nonexistent/program"])


GRANDCHILD = f"""
import subprocess, sys
child = subprocess.Popen(
    [sys.executable, "-c", "{HOST_PID}; import time; time.sleep({{sleep}}); "
     "open({{marker!r}}, 'w').write('still here')"],
    start_new_session=True, stdout=subprocess.PIPE, text=True,
)
print(child.stdout.readline().strip(), flush=True)
"""


async def test_a_setsid_grandchild_dies_with_the_run(tmp_path: Path) -> None:
    # A grandchild in its own session escapes a process-group kill; the run's PID namespace
    # ends it anyway when the program ends, so it never writes its file.
    outside = tmp_path / "shared"
    outside.mkdir(mode=0o777)
    outside.chmod(0o777)  # the sandbox user may write here, so only death stops the write
    marker = outside / "written-later.txt"
    result = await run_code(GRANDCHILD.format(sleep=1.0, marker=str(marker)), timeout=10.0)
    pid = int(result.stdout)
    try:
        assert not result.timed_out
        assert result.returncode == 0, result.stderr
        assert result.tree_contained
        assert wait_until_gone([pid]) == []
        await asyncio.sleep(1.5)  # past the moment it would have written
        assert not marker.exists()
    finally:
        if alive(pid):
            os.kill(pid, 9)


async def test_a_setsid_grandchild_dies_at_the_timeout(tmp_path: Path) -> None:
    code = (
        GRANDCHILD.format(sleep=60, marker=str(tmp_path / "never")) + "import time\ntime.sleep(60)"
    )
    result = await run_code(code, timeout=1.5)
    pid = int(result.stdout)
    try:
        assert result.timed_out
        assert wait_until_gone([pid]) == []
    finally:
        if alive(pid):
            os.kill(pid, 9)


async def test_an_exit_status_and_a_signal_are_the_programs_own() -> None:
    assert (await run_code("import sys; sys.exit(3)")).returncode == 3
    killed = await run_code("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert killed.returncode == -11
