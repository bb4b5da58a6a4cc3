"""``scripts/run-cluster``: the cluster of testing/cluster.py on fixed, documented ports, in the
foreground, until Ctrl-C (or until one part exits by itself: then its log is shown and the
rest is stopped too).

Each part reads the same settings: the ``ASSISTANT_*`` variables of this environment (and the
TOML file ``ASSISTANT_CONFIG`` names), except the ones the cluster itself decides (where the
data, Redis and the database are, each instance's port, the public address), which it sets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.cluster import DATABASE, FIXED_PORTS, Cluster, ClusterPorts, tail  # noqa: E402

# Settings the cluster wires itself; the same names in this environment are not passed on.
WIRED = frozenset({
    "ASSISTANT_DATA_DIR", "ASSISTANT_SITE_DIR", "ASSISTANT_REDIS_URL", "ASSISTANT_DATABASE_URL",
    "ASSISTANT_PUBLIC_BASE_URL", "ASSISTANT_PORT", "ASSISTANT_HOST", "ASSISTANT_TRUSTED_PROXIES",
})  # fmt: skip


def user_settings(environ: dict[str, str]) -> dict[str, str]:
    """The ``ASSISTANT_*`` settings of this environment that every part should see."""
    return {k: v for k, v in environ.items() if k.startswith("ASSISTANT_") and k not in WIRED}


def describe(cluster: Cluster) -> str:
    """What runs where, for the terminal."""
    ports = cluster.ports
    parts = [
        f"  open        {cluster.base}/   (nginx; a self-signed certificate for 127.0.0.1:",
        f"              {cluster.cert})",
        f"  staff       {cluster.base}/staff/",
        f"  nginx http  http://127.0.0.1:{ports.http}/ (redirects to https)",
        f"  instance a  {cluster.instance_url('a')}/   instance b  {cluster.instance_url('b')}/",
        f"  redis       redis://127.0.0.1:{ports.redis}/0",
        f"  database    {cluster.database_url or cluster.data / 'assistant.db'}",
        *(
            [f"              (kept in {cluster.kept_postgres_folder()})"]
            if cluster.database_url and cluster.keep_database
            else []
        ),
        f"  logs        {cluster.folder / 'logs'}/",
    ]
    return "facility-assistant cluster: ready\n" + "\n".join(parts) + "\nCtrl-C stops it."


async def run(cluster: Cluster) -> int:
    """Start, wait for Ctrl-C or a part's own end, stop; 0 after Ctrl-C, 1 otherwise."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"starting the cluster in {cluster.folder} ...", flush=True)
    starting = asyncio.create_task(cluster.start())
    asked = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, asked}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # Ctrl-C while starting: start() stops what it started
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        return 0
    asked.cancel()
    starting.result()  # a part that would not start: raised here
    print(describe(cluster), flush=True)
    ended = {
        asyncio.create_task(part.process.wait(), name=name)
        for name, part in cluster.parts.items()
        if part.process is not None
    }
    asked = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({*ended, asked}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    for task in done - {asked}:
        part = cluster.parts[task.get_name()]
        print(f"{part.name} exited by itself ({task.result()}):\n{tail(part.log)}", flush=True)
        code = 1
    for task in {*ended, asked} - done:
        task.cancel()
    print("stopping the cluster ...", flush=True)
    await cluster.stop()
    return code


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the cluster in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--folder", type=Path, default=ROOT / "data" / "cluster",
        help="data (shared by every part), logs and nginx's files (default: data/cluster)",
    )  # fmt: skip
    parser.add_argument(
        "--database", choices=("sqlite", "postgres"), default=DATABASE,
        help=f"one shared SQLite file, or PostgreSQL kept in FOLDER/postgres (default: {DATABASE})",
    )  # fmt: skip
    parser.add_argument(
        "--free-ports", action="store_true", help="any free ports instead of the fixed ones"
    )
    args = parser.parse_args(argv)
    ports = ClusterPorts.free() if args.free_ports else FIXED_PORTS
    cluster = Cluster(
        args.folder.resolve(), ports=ports, database=args.database, keep_database=True,
        settings=user_settings(dict(os.environ)),
    )  # fmt: skip
    try:
        return asyncio.run(run(cluster))
    except (
        RuntimeError,
        TimeoutError,
    ) as err:  # a part that would not start: its log's tail is in err
        print(f"the cluster did not start: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
