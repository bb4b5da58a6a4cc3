"""Chart.js for the console's charts (issue 16, part K2), served by the console itself.

The console's CSP allows scripts only from this server, and the service must work on a LAN
with no way out, so Chart.js (pinned in ``package.json``, installed by ``npm ci`` in
``scripts/setup.sh``) is read from the project's ``node_modules``. A wheel installed without
npm has no such folder: the route answers 404 and the charts page still shows every number
in its tables (the canvases are an enhancement). Behind ``require_role("viewer")`` like every
console route: only the charts page, itself viewer+, asks for it.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from assistant.config import PROJECT_ROOT
from channels.staff.guard import require_role

# Read at each request, so a test can point it at a folder without the file.
NODE_MODULES = PROJECT_ROOT / "node_modules"
CHART_JS = Path("chart.js") / "dist" / "chart.umd.js"
ROUTE = "/vendor/chart.umd.js"
# The URL carries the installed version, so the file may be cached for a year.
CACHE = "private, max-age=31536000, immutable"


def chart_js_file() -> Path:
    """Where the Chart.js bundle is (it may be missing)."""
    return NODE_MODULES / CHART_JS


def chart_js_url() -> str:
    """The bundle's console URL with its installed version (``?v=``), for the charts page."""
    try:
        meta = json.loads((NODE_MODULES / "chart.js" / "package.json").read_text("utf-8"))
        version = str(meta.get("version", ""))
    except (OSError, ValueError):
        version = ""
    return f"/staff{ROUTE}?v={version}" if version else f"/staff{ROUTE}"


@require_role("viewer")
async def chart_js(request: web.Request) -> web.StreamResponse:
    """The Chart.js bundle, or 404 when npm never installed it."""
    path = chart_js_file()
    if not path.is_file():
        raise web.HTTPNotFound(text="Chart.js is not installed (npm ci)")
    return web.FileResponse(
        path,
        headers={
            "Cache-Control": CACHE,
            "Content-Type": "text/javascript; charset=utf-8",
            "X-Content-Type-Options": "nosniff",
        },
    )


def add_routes(app: web.Application) -> None:
    """The vendor script route, on the console app."""
    app.router.add_get(ROUTE, chart_js)
