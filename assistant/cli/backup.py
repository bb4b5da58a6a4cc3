"""``assistant backup [--to FILE]``: one archive of the data folder, safe while serving.

What goes in and why is in ``assistant/store/backup/archive.py``; README "Backups" tells staff.
Every sentence it prints is a phrase (``backup.*``) in Japanese and English.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from assistant.config import Settings, config_file
from assistant.jobs.phrases import load_phrases
from assistant.store.backup.archive import BackupSources, default_name, make_backup
from assistant.store.backup.manifest import POSTGRESQL, BackupError


def add_backup_parser(commands: Any) -> None:
    """The ``backup`` command and its options."""
    backup = commands.add_parser(
        "backup",
        help="write one archive of the data folder, the site and the settings (while serving)",
    )
    backup.add_argument(
        "--to",
        type=Path,
        metavar="FILE",
        help="the archive to write (default ./facility-assistant-backup-<date>-<time>.tar.gz)",
    )
    backup.add_argument("--lang", choices=("ja", "en"), help="language of the messages")


class Say:
    """The command's sentences in the staff member's language (``backup.*`` phrases)."""

    def __init__(self, settings: Settings, language: str | None) -> None:
        self.phrases = load_phrases(settings.locales_dir)
        self.language = language or settings.language

    def out(self, key: str, **params: Any) -> None:
        """A line on standard output."""
        print(self.phrases.say(self.language, key, **params), flush=True)

    def error(self, err: BackupError) -> int:
        """The refusal in one line on standard error; the exit status."""
        text = self.phrases.say(self.language, f"backup.error.{err.code}", **err.params)
        print(f"error: {text}", file=sys.stderr, flush=True)
        return 1


def run_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Write the archive and say what it holds."""
    say = Say(settings, args.lang)
    sources = BackupSources.from_settings(settings, config_file(args.config))
    target = args.to or default_name()
    try:
        report = make_backup(sources, target)
    except BackupError as err:
        return say.error(err)
    say.out(
        "backup.written",
        file=report.path,
        size=f"{report.size / 1_000_000:.1f}",
        members=len(report.manifest.members),
        sessions=report.manifest.counts.get("sessions", 0),
        seconds=f"{report.seconds:.1f}",
    )
    if report.manifest.store == POSTGRESQL:
        address = report.manifest.source.get("database")
        say.out("backup.dumped", address=address, version=report.manifest.versions["pg_dump"])
    say.out("backup.private")
    return 0
