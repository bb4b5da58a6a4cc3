"""Generated JavaScript, in files or inline in a page, must at least parse (node --check)."""

from __future__ import annotations

import asyncio
import functools
import re
import shutil
import tempfile
import time
from pathlib import Path

from generators.checks.html import scan_page
from generators.checks.result import CheckResult, timed_result
from generators.sandbox import NODE_MEMORY_MB, SandboxResult, run_sandboxed

_NODE_MISSING = "node is not installed: apt-get install nodejs"


def _node_message(run: SandboxResult, name: str) -> str:
    """Node's complaint without the sandbox's paths and node's own stack."""
    if run.timed_out:
        return "node --check did not finish"
    keep = [
        re.sub(r"\S*/" + re.escape(name), name, line)
        for line in run.stderr.splitlines()
        if line.strip() and not line.lstrip().startswith("at ") and not line.startswith("Node.js")
    ]
    return "\n".join(keep[-8:])


def _write_files(folder: Path, files: dict[str, str]) -> None:
    """Put each script in its own file, because ``node --check`` takes one file."""
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


async def check_javascript(source: Path) -> CheckResult:
    """JavaScript, in a file or inline in a page, must at least parse (``node --check``)."""
    started = time.monotonic()
    result = functools.partial(timed_result, "javascript", started)

    node = shutil.which("node")
    if node is None:
        return result(False, _NODE_MISSING)
    try:
        text = await asyncio.to_thread(source.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return result(False, f"{source.name} cannot be read: {error}")
    if source.suffix.lower() in (".html", ".htm"):
        scripts = [
            (
                f"script-{n}.{'mjs' if kind == 'module' else 'js'}",
                f"inline script {n} (line {at})",
                js,
            )
            for n, (at, kind, js) in enumerate(scan_page(text).scripts, 1)
        ]
    else:
        scripts = [(source.name, source.name, text)]
    with tempfile.TemporaryDirectory(prefix="jscheck-") as tmp:
        await asyncio.to_thread(_write_files, Path(tmp), {name: js for name, _, js in scripts})
        try:
            runs = await asyncio.gather(
                *(
                    run_sandboxed(
                        [node, "--check", name],
                        files_from=Path(tmp),
                        timeout=10.0,
                        memory_mb=NODE_MEMORY_MB,
                    )
                    for name, _, _ in scripts
                )
            )
        except OSError as error:
            return result(False, f"could not start node: {error}")
    errors = [
        f"{label}: {_node_message(run, name)}"
        for (name, label, _), run in zip(scripts, runs, strict=True)
        if run.returncode != 0 or run.timed_out
    ]
    return result(not errors, "\n".join(errors))
