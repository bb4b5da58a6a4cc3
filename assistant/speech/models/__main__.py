"""``python -m assistant.speech.models fetch [NAME ...]`` or ``list`` (``scripts/fetch-models``):
download what the manifest names into ``models/``, or say what is installed."""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from assistant.config import PROJECT_ROOT
from assistant.errors import ConfigError
from assistant.speech.models.errors import DownloadError, ModelFetchError
from assistant.speech.models.fetch import DEFAULT_TIMEOUT, Opener, fetch
from assistant.speech.models.installed import is_installed, manifest_for
from assistant.speech.models.manifest import DEFAULT_MODELS_DIR, DEFAULT_VOICES_DIR, load_manifest


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
                f"{entry.name:<32} {entry.kind:<6} {entry.language:<4} {state:<10} {entry.source}"
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
    chosen = [by_name[name] for name in args.names] or [e for e in entries if e.fetchable]
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


def _shown(path: Path) -> str:
    """A path relative to the project when it is inside it: shorter lines for staff."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
