"""``assistant cleanup [--dry-run]``: the retention clean-up now, with what it removed.

``assistant serve`` runs the same clean-up every ``cleanup_interval_hours``; this command is
for staff who want it now, or want to see first what it would remove (``--dry-run``).
"""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from assistant.compose import Services
from assistant.config import Settings
from assistant.retention import describe


def add_cleanup_parser(commands: Any) -> None:
    """The ``cleanup`` command and its options."""
    cleanup = commands.add_parser(
        "cleanup", help="remove what is past retention now (sessions, turns, artifacts, links)"
    )
    cleanup.add_argument("--dry-run", action="store_true", help="only count what would be removed")


async def run_cleanup(settings: Settings, args: argparse.Namespace) -> int:
    """Run one clean-up and print the last run before it and what this one removed."""
    services = Services.build(settings)
    await services.store.open()
    try:
        last = await services.store.last_cleanup()
        if last is None:
            print("last run: never")
        else:
            when = datetime.datetime.fromtimestamp(last.at).isoformat(timespec="seconds")
            print(f"last run: {when}: {describe(last)}")
        report = await services.janitor().run(dry_run=args.dry_run)
        print(describe(report))
    finally:
        await services.store.close()
    return 0
