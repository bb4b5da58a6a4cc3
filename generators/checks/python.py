"""A generated Python program must compile, pass its own self-test and meet bad input calmly."""

from __future__ import annotations

import asyncio
import functools
import re
import time
from pathlib import Path

from generators.checks.result import CheckResult, output_tail, timed_result
from generators.sandbox import run_sandboxed, sandbox_python

_SELF_TEST_OK = re.compile(r"\bok\b", re.I)
_BAD_INPUT = b"abc\n\n-1\n"
_TRACEBACK = "Traceback (most recent call last)"


async def check_python(
    folder: Path,
    main: str = "main.py",
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 - the program's limit, also its CPU limit
) -> CheckResult:
    """A program must compile, pass its ``--self-test`` and meet bad input without a traceback."""
    started = time.monotonic()
    result = functools.partial(timed_result, "python", started)

    try:
        compile(await asyncio.to_thread((folder / main).read_bytes), main, "exec")
    except SyntaxError as error:
        return result(False, f"{main} line {error.lineno}: {error.msg}")
    except (OSError, ValueError) as error:
        return result(False, f"{main} cannot be read: {error}")
    # Not -I (it drops the program's folder from sys.path) nor -S (it drops exit() and quit()).
    python = [sandbox_python(), "-s", "-B", main]
    try:
        own, bad = await asyncio.gather(
            run_sandboxed([*python, "--self-test"], files_from=folder, timeout=timeout),
            run_sandboxed(python, files_from=folder, timeout=timeout, stdin=_BAD_INPUT),
        )
    except OSError as error:
        return result(False, f"could not start Python: {error}")
    if own.timed_out:
        return result(False, f"--self-test did not finish within {timeout:g} s")
    if own.returncode != 0:
        return result(
            False, f"--self-test exited with {own.returncode}:\n{output_tail(own.stderr)}"
        )
    if not _SELF_TEST_OK.search(own.stdout):
        return result(False, f"--self-test did not print ok:\n{output_tail(own.stdout)}")
    if bad.timed_out:
        return result(False, f"did not finish within {timeout:g} s on input {_BAD_INPUT!r}")
    if _TRACEBACK in bad.stderr or bad.returncode < 0:
        return result(False, f"crashed on input {_BAD_INPUT!r}:\n{output_tail(bad.stderr)}")
    return result(True)
