"""Part K of the staff console (issue 16): knowledge, charts and the audit log, registered
together by ``init_staff_app`` (imported there, late: these screens use its ``render``)."""

from __future__ import annotations

from aiohttp import web

from channels.staff import audit_page, charts, knowledge, vendor


def add_routes(app: web.Application) -> None:
    """The routes of the knowledge, charts and audit screens."""
    knowledge.add_routes(app)
    charts.add_routes(app)
    audit_page.add_routes(app)
    vendor.add_routes(app)  # part K2: Chart.js for the charts
