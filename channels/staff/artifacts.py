"""The console's artifacts screen (issue 16) at ``/staff/artifacts``: its routes, in one place.

Reading (viewer and up) is in ``artifact_pages.py``; approving, sending back, publishing,
unpublishing and mailing (staff and up, each audited) in ``artifact_acts.py``.
"""

from __future__ import annotations

from aiohttp import web

from channels.staff import artifact_acts, artifact_pages


def add_routes(app: web.Application) -> None:
    """The screen's pages and acts, in the console app (``init_staff_app``)."""
    app.router.add_get("/artifacts", artifact_pages.artifact_list)
    app.router.add_get(
        "/artifacts/{artifact_id}", artifact_pages.artifact_detail, name="artifact_detail"
    )
    for act, handler in artifact_acts.ACTS.items():
        app.router.add_post(f"/artifacts/{{artifact_id}}/{act}", handler)
