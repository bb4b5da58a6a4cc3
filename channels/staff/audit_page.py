"""The console's audit log screen (issue 16): who did what, filtered, and as CSV (admins).

Filters are the ``AuditQuery`` fields staff ask about (who, action, from, to: dates in the
server's time zone, "to" including its whole day); the page shows the newest 200 matches
and the CSV holds every match, written by ``write_csv`` so no cell can act as a spreadsheet
formula. Reading the log is not itself logged: it changes nothing.
"""

from __future__ import annotations

import datetime
import io

from aiohttp import web

from assistant.staff.audit import AuditAction, AuditEntry, AuditQuery, write_csv
from channels.staff.app import render
from channels.staff.guard import require_role, say
from channels.staff.parts import parts

PAGE_LIMIT = 200
DAY = datetime.timedelta(days=1)


def _day(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(text.strip()).astimezone() if text.strip() else None
    except ValueError:
        return None


def query_of(request: web.Request, limit: int) -> AuditQuery:
    """The filters of the request's address as an ``AuditQuery`` (bad dates filter nothing)."""
    since, until = _day(request.query.get("from", "")), _day(request.query.get("to", ""))
    return AuditQuery(
        who=request.query.get("who", "").strip() or None,
        action=request.query.get("action", "").strip() or None,
        since=since.timestamp() if since else None,
        until=(until + DAY).timestamp() if until else None,
        limit=limit,
    )


def when(entry: AuditEntry) -> str:
    """An entry's time, local, to the second."""
    return datetime.datetime.fromtimestamp(entry.at).isoformat(sep=" ", timespec="seconds")


@require_role("admin")
async def audit_page(request: web.Request) -> web.Response:
    """The matching entries, newest first, with the filters and the CSV link."""
    entries = await parts(request).audit.search(query_of(request, PAGE_LIMIT))
    filters = {key: request.query.get(key, "") for key in ("who", "action", "from", "to")}
    csv_query = request.query_string
    return render(
        request,
        "audit.html",
        title=say(request, "part_audit"),
        entries=entries,
        when=when,
        filters=filters,
        actions=[action.value for action in AuditAction],
        csv_url=f"/staff/audit.csv?{csv_query}" if csv_query else "/staff/audit.csv",
        limit=PAGE_LIMIT,
    )


@require_role("admin")
async def audit_csv(request: web.Request) -> web.Response:
    """Every matching entry as a CSV download."""
    entries = await parts(request).audit.search(query_of(request, 0))
    stream = io.StringIO()
    write_csv(entries, stream)
    stamp = datetime.date.today().isoformat()
    return web.Response(
        text=stream.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


def add_routes(app: web.Application) -> None:
    """The audit screen's routes, on the console app."""
    app.router.add_get("/audit", audit_page)
    app.router.add_get("/audit.csv", audit_csv)
