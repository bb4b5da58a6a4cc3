"""``assistant restore ARCHIVE [--data-dir DIR] [--force] [--at TIME]``.

From an archive: everything checked, then put in place (``assistant/store/backup/restore.py``).
With ``--at TIME`` the database comes from Litestream's replica as it was at that moment
(``litestream restore -timestamp``); the other files come from ARCHIVE when one is given (the
newest archive made before the loss), else the data folder keeps its own files and only its
database is replaced. With a PostgreSQL ``database_url`` the archive's dump goes back into that
database; a restore to a time is then the server's own recovery from its WAL archive (README,
"PostgreSQL: WAL archiving and restore to a time"), so ``--at`` is refused.
"""

from __future__ import annotations

import argparse
import datetime
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.cli.backup import Say
from assistant.config import Settings, config_file
from assistant.store.backup.litestream import Replica, restore_at
from assistant.store.backup.manifest import POSTGRESQL, BackupError
from assistant.store.backup.restore import (
    RestoreReport,
    RestoreTarget,
    postgres_backup,
    restore_archive,
    restore_database,
)


def parse_moment(text: str) -> datetime.datetime:
    """``--at``: an ISO date-time; without a zone it is this machine's local time."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (use YYYY-MM-DDTHH:MM[:SS], optionally with +09:00 or Z)"
        ) from err
    return moment if moment.tzinfo else moment.astimezone()


def add_restore_parser(commands: Any) -> None:
    """The ``restore`` command and its options."""
    restore = commands.add_parser(
        "restore", help="put a backup archive back (checked first), or the database at a time"
    )
    restore.add_argument("archive", nargs="?", type=Path, help="an `assistant backup` archive")
    restore.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="restore into DIR (default: data_dir)"
    )
    restore.add_argument(
        "--force", action="store_true", help="move a non-empty folder aside and restore anyway"
    )
    restore.add_argument(
        "--at",
        type=parse_moment,
        metavar="TIME",
        help="the database as it was at TIME, from Litestream's replica (e.g. 2026-12-07T14:30)",
    )
    restore.add_argument("--lang", choices=("ja", "en"), help="language of the messages")


def run_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Restore, and say what was restored and what was kept aside."""
    say = Say(settings, args.lang)
    if args.archive is None and args.at is None:
        return say.error(BackupError("nothing_to_restore"))
    data_dir: Path = args.data_dir or settings.data_dir
    try:
        report = _restore(replace(settings, data_dir=data_dir), args)
    except BackupError as err:
        return say.error(err)
    if report.manifest is not None:
        say.out(
            "backup.restored",
            file=args.archive,
            created=report.manifest.created,
            folder=report.data_dir,
            sessions=report.manifest.counts.get("sessions", 0),
            members=len(report.manifest.members),
            seconds=f"{report.seconds:.1f}",
        )
        if report.manifest.store == POSTGRESQL:
            address = postgres_backup().redacted(settings.database_url)
            say.out("backup.restored_postgres", address=address)
    if args.at is not None:
        at = args.at.isoformat(timespec="seconds")
        seconds = f"{report.seconds:.1f}"
        say.out("backup.restored_at", at=at, folder=report.data_dir, seconds=seconds)
    for path in report.moved_aside:
        say.out("backup.moved_aside", path=path)
    if report.config_written is not None:
        beside = report.config_written.name.endswith(".restored")
        key = "backup.config_beside" if beside else "backup.config_written"
        say.out(key, file=report.config_written)
    say.out("backup.start_hint", folder=report.data_dir)
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> RestoreReport:
    fill = None
    if args.at is not None and settings.database_url:
        raise BackupError("pg_at_time")  # the server's own recovery (README), not ours
    if args.at is not None:
        replica = Replica.from_settings(settings)
        if replica is None:
            raise BackupError("no_replica")
        moment: datetime.datetime = args.at

        def fill(staged: Path) -> None:
            restore_at(replica, moment, staged)

        if args.archive is None:
            return restore_database(settings.data_dir, fill, force=args.force)
    site = Path(settings.site_dir).expanduser() if settings.site_dir else None
    target = RestoreTarget(settings.data_dir, site, config_file(args.config), settings.database_url)
    return restore_archive(args.archive, target, force=args.force, fill_database=fill)
