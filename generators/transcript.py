"""A faithful transcript of a Python program used once, for its preview.

A client on a phone cannot run ``main.py``, so the preview shows a real session instead: the
program runs in the sandbox with a scripted person at the keyboard (the till rings up two
items and then ``q``; the quiz is answered to the end), and what it printed and what was typed
are shown as a terminal would show them. Piped input is not echoed, so a small runner wraps
``input`` to mark each typed line in the output with separators no program prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generators.sandbox import run_sandboxed, sandbox_python

TYPED_START = "\x1e"
TYPED_END = "\x1f"
LIMIT = 12_000
# Runs main.py as ``python3 main.py`` would, with each typed line echoed between the marks.
RUNNER = (
    "import builtins, runpy, sys\n"
    "_input = builtins.input\n"
    "def _echo(prompt=''):\n"
    "    line = _input(prompt)\n"
    f"    sys.stdout.write({TYPED_START!r} + line + {TYPED_END!r} + '\\n')\n"
    "    return line\n"
    "builtins.input = _echo\n"
    "sys.argv = ['main.py']\n"
    "runpy.run_path('main.py', run_name='__main__')\n"
)


@dataclass(frozen=True)
class TranscriptPart:
    """A run of text the program printed, or a line the person typed."""

    text: str
    typed: bool


def session_script(template: str, answers: dict[str, Any]) -> list[str] | None:
    """What the scripted person types into the program a template makes (None: no script)."""
    if template.endswith("shopping.py.j2"):
        pick = ["0"] if answers.get("products") else []  # "something else": a typed price
        cents = answers.get("currency") in ("dollar", "euro")
        first, second = ("1.20", "2.50") if cents else ("120", "250")
        script = [*pick, first, "2", *pick, second, "1", "q"]
        return script + (["no"] if answers.get("member_discount") is True else [])
    if template.endswith("quiz.py.j2"):
        count = answers.get("question_count")
        count = count if isinstance(count, int) and not isinstance(count, bool) else 5
        return ["1"] * min(max(count, 1), 10) + ["no"]
    return None


def parse_transcript(output: str) -> list[TranscriptPart]:
    """Split marked output into printed and typed parts (unmarked output is all printed)."""
    parts: list[TranscriptPart] = []
    rest = output
    while TYPED_START in rest:
        before, _, after = rest.partition(TYPED_START)
        typed, found, rest = after.partition(TYPED_END)
        if before:
            parts.append(TranscriptPart(before, False))
        parts.append(TranscriptPart(typed, True))
        if not found:
            break
    if rest:
        parts.append(TranscriptPart(rest, False))
    return parts


async def run_transcript(folder: Path, script: list[str]) -> list[TranscriptPart]:
    """Run ``main.py`` in ``folder`` in the sandbox with ``script`` typed, as parts."""
    (folder / ".transcript_runner.py").write_text(RUNNER, encoding="utf-8")
    try:
        result = await run_sandboxed(
            [sandbox_python(), "-s", "-B", ".transcript_runner.py"],
            files_from=folder,
            timeout=5.0,
            stdin=("\n".join(script) + "\n").encode(),
        )
    finally:
        (folder / ".transcript_runner.py").unlink(missing_ok=True)
    return parse_transcript(result.stdout[:LIMIT])
