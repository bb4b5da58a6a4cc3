"""What the console's screens look at and act on: the running service's parts (issue 16).

The sign-in alone needs only accounts (``guard.ConsoleConfig``); the screens (live sessions,
artifacts, jobs, knowledge, charts, the audit log) need the store, the dialog manager, the
job catalogue and the rest. They are handed over once, by ``assistant serve``, as one
``ConsoleParts``; a console built without them (a test of the sign-in alone) answers its
screens with a plain sentence instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from assistant.config import Settings
from assistant.dialog.manager import DialogManager
from assistant.jobs.catalog import JobCatalog
from assistant.knowledge.answers import LazyKnowledge
from assistant.ports import ServedStore, SessionStore
from assistant.staff.audit import AuditLog, AuditStore
from assistant.staff.desk import ArtifactDesk
from assistant.staff.job_editing import JobVersionStore
from assistant.staff.live import SessionActivity
from assistant.staff.metrics import FiguresStore
from channels.staff.guard import say


class ConsoleStore(SessionStore, ServedStore, AuditStore, FiguresStore, Protocol):
    """The store as the screens read it (``SQLiteStore`` is one); a screen that needs more
    names the method here, so the console keeps to the ports like every channel. Reviews,
    sites and sendings are the desk's (``desk.store``)."""

    async def live_activity(
        self, since: float, limit: int = 200, turns: int = 8
    ) -> list[SessionActivity]:
        """Sessions not ended used since ``since``, with their latest turns."""
        ...

    # Part S (live sessions): a session's transcript.
    async def history(self, key: str) -> list[dict[str, Any]]:
        """Every stored turn of a session, oldest first."""
        ...

    def job_versions(self) -> JobVersionStore:
        """The versions of job files edited in the console (jobs screen, part J)."""
        ...


@dataclass(frozen=True, slots=True)
class ConsoleParts:
    """The running service, as the console's screens use it."""

    settings: Settings
    store: ConsoleStore
    manager: DialogManager
    jobs: JobCatalog
    jobs_dir: Path
    desk: ArtifactDesk
    audit: AuditLog
    knowledge: LazyKnowledge | None = None
    # Jobs screen (issue 16, part J): load a jobs folder as the service does, and reload the
    # running service's jobs in place (``compose_jobs.checked_jobs`` / ``Services.reload_jobs``).
    load_jobs_from: Callable[[Path], JobCatalog] | None = None
    reload_jobs: Callable[[Mapping[str, Collection[str]]], JobCatalog] | None = None


PARTS_KEY = web.AppKey("staff_parts", ConsoleParts)


def parts(request: web.Request) -> ConsoleParts:
    """The service's parts, or 503 with a sentence when this console was built without them."""
    for app in reversed(request.match_info.apps):
        if PARTS_KEY in app:
            return app[PARTS_KEY]
    raise web.HTTPServiceUnavailable(text=say(request, "not_wired"))
