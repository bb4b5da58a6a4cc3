"""The aiohttp application: health now; downloads, previews and the web chat attach here."""

from __future__ import annotations

from aiohttp import web

from assistant import __version__
from assistant.jobs import JobCatalog
from assistant.store import SQLiteStore

STORE_KEY = web.AppKey("store", SQLiteStore)
JOBS_KEY = web.AppKey("jobs", JobCatalog)


async def healthz(request: web.Request) -> web.Response:
    """Whether the service can work: database, jobs, queue. 503 when the database fails."""
    store = request.app[STORE_KEY]
    jobs = request.app[JOBS_KEY]
    database_ok = await store.ping()
    body = {
        "status": "ok" if database_ok else "failing",
        "version": __version__,
        "database": "ok" if database_ok else "failing",
        "jobs_loaded": len(jobs.jobs),
        "job_errors": [error.message for error in jobs.errors],
        "queue_depth": await store.depth() if database_ok else None,
    }
    return web.json_response(body, status=200 if database_ok else 503)


def init_app(store: SQLiteStore, jobs: JobCatalog) -> web.Application:
    """The application with its routes; the caller owns the store's life cycle."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[STORE_KEY] = store
    app[JOBS_KEY] = jobs
    app.router.add_get("/healthz", healthz)
    return app
