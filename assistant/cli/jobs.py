"""``assistant jobs list|validate [DIR]``: the jobs users can choose, and their check."""

from __future__ import annotations

import argparse
import sys

from assistant.compose_jobs import checked_jobs
from assistant.config import Settings


def run_jobs(settings: Settings, args: argparse.Namespace) -> int:
    """List the jobs, or check them (exit 1 on any error)."""
    directory = getattr(args, "directory", None) or settings.jobs_dir
    catalog = checked_jobs(directory)
    if args.jobs_command == "list":
        for job in catalog.ordered():
            print(
                f"{job.id}\t{job.generator}/{job.language}\t{len(job.questions)} questions\t"
                f"{job.title.ja} / {job.title.en}"
            )
    else:
        print(f"{len(catalog.jobs)} job(s) valid in {directory}")
    for error in catalog.errors:
        print(f"error: {error.message}", file=sys.stderr)
    if args.jobs_command == "validate" and catalog.errors:
        return 1
    return 0
