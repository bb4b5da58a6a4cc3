"""``assistant litestream``: Litestream's replication in the foreground, for its own unit.

``assistant serve`` runs the same replication as its child by default (why, in
``assistant/store/backup/litestream.py``). This command is for set-ups where other processes write
the database while the service is stopped, or where replication should outlive a restart of
the service: a systemd unit of its own (README "Backups"), with ``litestream_with_serve =
false`` so that exactly one Litestream watches the database.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from assistant.cli.backup import Say
from assistant.config import Settings
from assistant.store.backup.litestream import Replica, Replicator
from assistant.store.backup.manifest import BackupError


def add_litestream_parser(commands: Any) -> None:
    """The ``litestream`` command."""
    command = commands.add_parser(
        "litestream",
        help="replicate the database with Litestream until stopped (for a unit of its own)",
    )
    command.add_argument("--lang", choices=("ja", "en"), help="language of the messages")


async def run_litestream(settings: Settings, args: argparse.Namespace) -> int:
    """Run the supervised replicator until SIGTERM or Ctrl-C."""
    say = Say(settings, args.lang)
    replica = Replica.from_settings(settings)
    if replica is None:
        return say.error(BackupError("no_replica"))
    if settings.litestream_with_serve:
        return say.error(BackupError("replicated_by_serve"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    replicator = Replicator(replica)
    replicator.start()
    say.out("backup.replicating", database=replica.database, url=replica.url)
    try:
        await stop.wait()
    finally:
        await replicator.stop()
    return 0
