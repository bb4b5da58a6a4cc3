"""``assistant audit``: read or export the staff audit log from the command line.

Staff and operators can read who did what before the console's screens exist, and export it
for an inspection: ``--csv FILE`` writes a spreadsheet-safe CSV (``-`` for standard output).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from assistant.compose_store import store_for
from assistant.config import Settings
from assistant.jobs.phrases import load_phrases
from assistant.staff.audit import AuditEntry, AuditLog, AuditQuery, write_csv


def add_audit_parser(commands: Any) -> None:
    """The ``audit`` command and its filters."""
    audit = commands.add_parser("audit", help="read or export the staff audit log")
    audit.add_argument("--who", help="only this account's entries")
    audit.add_argument("--action", help="only this action (e.g. sign_in, approve)")
    audit.add_argument("--session", help="only entries about this session key")
    audit.add_argument("--artifact", help="only entries about this artifact id")
    audit.add_argument(
        "--since", type=parse_when, help="from this date or time (YYYY-MM-DD[THH:MM])"
    )
    audit.add_argument("--until", type=parse_when, help="before this date or time")
    audit.add_argument("--text", help="text found anywhere in an entry")
    audit.add_argument(
        "--limit", type=int, default=1000, help="at most this many, newest first (0: all)"
    )
    audit.add_argument("--csv", metavar="FILE", help="write CSV to FILE ('-': standard output)")
    audit.add_argument("--lang", choices=("ja", "en"), help="language of the messages")


def parse_when(text: str) -> float:
    """A local date or date-time in ISO form, as a timestamp (for ``--since``/``--until``)."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from err
    return moment.timestamp()


def _line(entry: AuditEntry) -> str:
    when = datetime.datetime.fromtimestamp(entry.at).isoformat(sep=" ", timespec="seconds")
    about = " ".join(
        part
        for part in (
            f"session={entry.session_key}" if entry.session_key else "",
            f"artifact={entry.artifact_id}" if entry.artifact_id else "",
        )
        if part
    )
    detail = json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else ""
    cells = [when, f"{entry.who} ({entry.role})", entry.action, entry.address, about, detail]
    # Names and details are data: control characters would let an entry rewrite the terminal.
    return "\t".join("".join(c if c.isprintable() else "?" for c in cell) for cell in cells)


@contextlib.contextmanager
def _output(target: str) -> Iterator[TextIO]:
    if target == "-":
        yield sys.stdout
        return
    with Path(target).open("w", encoding="utf-8", newline="") as stream:
        yield stream


async def run_audit(settings: Settings, args: argparse.Namespace) -> int:
    """Print the matching entries, or write them as CSV."""
    store = store_for(settings)
    await store.open()
    try:
        query = AuditQuery(
            who=args.who, action=args.action, session_key=args.session,
            artifact_id=args.artifact, since=args.since, until=args.until, text=args.text,
            limit=args.limit,
        )  # fmt: skip
        entries = await AuditLog(store).search(query)
    finally:
        await store.close()
    phrases = load_phrases(settings.locales_dir)
    language = args.lang or settings.language
    if args.csv:
        with _output(args.csv) as stream:
            count = write_csv(entries, stream)
        if args.csv != "-":
            print(phrases.say(language, "staff.audit.written", count=count, file=args.csv))
        return 0
    for entry in entries:
        print(_line(entry))
    if not entries:
        print(phrases.say(language, "staff.audit.none"))
    return 0
