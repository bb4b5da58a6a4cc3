"""Editing a job file from the staff console (issue 16, part J): validate, save, roll back.

An edit is checked by the real loader in a copy of the jobs folder (the other jobs beside
it, so a duplicate id is caught too) before anything on disk changes; a good one replaces
the file atomically, is kept as a new version with who, when and a note, and the running
service reloads its jobs in place, keeping sessions in progress on the job they started.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from assistant.errors import JobDefinitionError
from assistant.jobs.catalog import JobCatalog

MAX_TEXT = 200_000  # characters: far beyond any job file, small enough to keep whole
FIRST_NOTE = "as found on disk"


@dataclass(frozen=True, slots=True)
class JobVersion:
    """One saved text of a job file."""

    job_id: str
    version: int
    text: str
    who: str
    at: float
    note: str = ""


class JobVersionStore(Protocol):
    """Where job versions are kept, and which sessions are in a job (to keep them on theirs)."""

    async def add(self, job_id: str, text: str, who: str, at: float, note: str) -> JobVersion:
        """Keep ``text`` as the job's next version."""
        ...

    async def versions(self, job_id: str) -> list[JobVersion]:
        """Every version of the job, oldest first."""
        ...

    async def sessions_in(self, job_id: str) -> list[str]:
        """Keys of the sessions now in the job (started it and not ended)."""
        ...

    async def started(self) -> list[tuple[str, str, str]]:
        """(key, job id, job digest) of the sessions in a job, with the version they started
        (read at start, to keep each on its version: ``compose_jobs.hold_started_versions``)."""
        ...


class JobRefusedError(Exception):
    """An edit that does not load; every problem as ``jobs validate`` prints it."""

    def __init__(self, errors: list[JobDefinitionError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


def unified_diff(before: str, after: str, old_name: str, new_name: str) -> str:
    """What changed between two texts of a job, as a unified diff (shown as text)."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), old_name, new_name
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step: the service never reads half a file."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_with_time(path: Path) -> tuple[str, float] | None:
    """A job file's text and when it last changed, or None when it is gone."""
    try:
        return path.read_text(encoding="utf-8"), path.stat().st_mtime
    except FileNotFoundError:
        return None


@dataclass
class JobEditor:
    """Validates, saves and rolls back job files, and reloads the running service's jobs."""

    jobs_dir: Path
    versions: JobVersionStore
    load: Callable[[Path], JobCatalog]
    reload: Callable[[Mapping[str, Collection[str]]], JobCatalog]
    clock: Callable[[], float] = time.time

    def problems(self, job_id: str, path: Path, text: str) -> list[JobDefinitionError]:
        """Every problem of ``text`` as the file at ``path``, named by the real path."""
        if len(text) > MAX_TEXT:
            return [JobDefinitionError(str(path), "(file)", f"longer than {MAX_TEXT} characters")]
        with tempfile.TemporaryDirectory(prefix="job-edit-") as folder:
            copy = Path(folder)
            for other in [*self.jobs_dir.glob("*.yaml"), *self.jobs_dir.glob("*.yml")]:
                if other.name != path.name:
                    shutil.copyfile(other, copy / other.name)
            (copy / path.name).write_text(text, encoding="utf-8")
            catalog = self.load(copy)
            edited = str(copy / path.name)
            # The edited file's own problems, and those it causes in another (a duplicate id),
            # named by the real folder.
            errors = [
                JobDefinitionError(
                    str(self.jobs_dir / Path(error.file).name),
                    error.field,
                    error.reason.replace(folder, str(self.jobs_dir)),
                )
                for error in catalog.errors
                if error.file == edited or edited in error.reason
            ]
            if job_id not in catalog.jobs and not any(e.file == str(path) for e in errors):
                errors.append(JobDefinitionError(str(path), "id", f"must stay {job_id!r}"))
        return errors

    async def history(self, job_id: str) -> list[JobVersion]:
        """Every saved version of the job, oldest first."""
        return await self.versions.versions(job_id)

    async def save(self, job_id: str, path: Path, text: str, who: str, note: str) -> JobVersion:
        """Check, write, keep as a version and reload; ``JobRefusedError`` changes nothing."""
        text = text.replace("\r\n", "\n")
        errors = await asyncio.to_thread(self.problems, job_id, path, text)
        if errors:
            raise JobRefusedError(errors)
        if not await self.versions.versions(job_id):
            # The text before the first edit is version 1, so the history can show the change.
            found = await asyncio.to_thread(read_with_time, path)
            if found is not None:
                await self.versions.add(job_id, found[0], "-", found[1], FIRST_NOTE)
        await asyncio.to_thread(write_atomically, path, text)
        version = await self.versions.add(job_id, text, who, self.clock(), note[:200])
        in_progress = {job_id: await self.versions.sessions_in(job_id)}
        self.reload(in_progress)
        return version

    async def roll_back(self, job_id: str, path: Path, number: int, who: str) -> JobVersion:
        """That version's text again, as a new version (same checks); KeyError if unknown."""
        found = {version.version: version for version in await self.versions.versions(job_id)}
        if number not in found:
            raise KeyError(number)
        return await self.save(job_id, path, found[number].text, who, f"rollback to v{number}")
