"""The aiohttp application: health, artifact downloads, sandboxed previews and QR codes.

Artifacts are reached only through their unguessable token. Anything else (an unknown or
expired token, a path outside the artifact, a file the manifest does not list) is a plain 404,
so a probe learns nothing. Previews are sandboxed by CSP: a generated page runs its own
scripts but gets an opaque origin, cannot submit forms and cannot call the service.
Published artifacts (issue 16, part B) are plain files under ``site_dir``, served at
``/site/<slug>/`` with the same sandbox.

Every response, error pages and static files included, leaves through one hook
(``_edge_headers``) that adds ``nosniff`` and ``no-referrer`` and names the server without
versions, so no handler can forget them.

``/metrics`` (issue 17) shows the whole service's Prometheus metrics (``assistant/metrics.py``)
to this machine, or to whoever holds the configured bearer token (issue 12, part C). Behind a
trusted proxy "this machine" is the client the proxy forwarded for, not the proxy
(``assistant/client_address.py``). ``assistant worker`` serves the same route, alone, from
``metrics_app``.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import ipaddress
import logging
import mimetypes
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import segno
from aiohttp import web

from assistant import __version__
from assistant.client_address import TrustedProxies, forwarded_client
from assistant.config import Settings
from assistant.events import LANGUAGES
from assistant.http_guard import EDGE_HEADERS, SERVER_NAME, body_deadline
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.metrics import CONTENT_TYPE, ServiceMetrics
from assistant.ports import ServedStore
from assistant.review import SITE_SLUG, SITE_VERSIONS
from assistant.session import Artifact

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricsAccess:
    """The service's metrics and who may read them: this machine, or the bearer ``token``;
    everyone else is refused with ``refusals[language]``."""

    metrics: ServiceMetrics
    refusals: Mapping[str, str]  # language → the sentence of a 403
    default_language: str = "ja"
    token: str = field(default="", repr=False)  # a secret: never logged

    @classmethod
    def of(cls, metrics: ServiceMetrics, phrases: Phrases, settings: Settings) -> MetricsAccess:
        """The access ``settings`` give (``metrics_token``), refused in each language."""
        refusals = {
            language: phrases.say(language, "edge.metrics_forbidden") for language in LANGUAGES
        }
        return cls(metrics, refusals, settings.language, settings.metrics_token)


STORE_KEY = web.AppKey("store", ServedStore)
JOBS_KEY = web.AppKey("jobs", JobCatalog)
BASE_URL_KEY = web.AppKey("base_url", str)
CLOCK_KEY: web.AppKey[Callable[[], float]] = web.AppKey("clock")
SITE_DIR_KEY = web.AppKey("site_dir", Path)
METRICS_KEY = web.AppKey("metrics", MetricsAccess)

TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
DOWNLOAD_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,60}\.zip")
PREVIEW_PAGES = ("index.html", "preview.html")
PREVIEW_POLICY = (
    "sandbox allow-scripts allow-forms allow-downloads; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src 'self' data: blob:; media-src data: blob:; font-src data:; "
    "connect-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)
SAFE_HEADERS = {**EDGE_HEADERS, "Cache-Control": "no-store"}
TEXT_TYPES = {".py": "text/plain", ".js": "text/javascript", ".md": "text/plain"}


async def _edge_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response (``on_response_prepare`` runs after aiohttp's own defaults)."""
    for name, value in EDGE_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Server"] = SERVER_NAME


def is_local_or_bearer(request: web.BaseRequest, token: str) -> bool:
    """Whether the peer is this machine, or the request carries ``Bearer <token>`` (compared
    in constant time; an empty ``token`` opens nothing)."""
    try:
        local = ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        local = False
    if local:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token.encode())


def request_language(request: web.Request, default: str) -> str:
    """The language a request asks for: ``?lang=``, else ``Accept-Language``, else ``default``."""
    wanted = request.query.get("lang")
    if wanted in LANGUAGES:
        return wanted
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default


async def metrics(request: web.Request) -> web.Response:
    """Prometheus's text for this machine or the bearer token, else 403 with a sentence."""
    access = request.app[METRICS_KEY]
    if not is_local_or_bearer(request, access.token):
        _LOGGER.warning("refused /metrics to %s", request.remote)
        language = request_language(request, access.default_language)
        return web.Response(status=403, text=access.refusals[language])
    body = await access.metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


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
        "last_cleanup": await _last_cleanup(store) if database_ok else None,
    }
    return web.json_response(body, status=200 if database_ok else 503)


async def _last_cleanup(store: ServedStore) -> dict[str, object] | None:
    """When the retention clean-up last ran and what it removed, so staff can see it works."""
    report = await store.last_cleanup()
    if report is None:
        return None
    return {"at": report.at, "removed": report.removed}


async def _artifact(request: web.Request) -> Artifact:
    """The live artifact a token names, or 404 for anything else."""
    token = request.match_info["token"]
    if not TOKEN.fullmatch(token):
        raise web.HTTPNotFound()
    artifact = await request.app[STORE_KEY].artifact_by_token(token)
    if artifact is None:
        raise web.HTTPNotFound()
    if artifact.expires is not None and request.app[CLOCK_KEY]() > artifact.expires:
        raise web.HTTPNotFound()
    return artifact


def _existing_file(path: Path) -> bool:
    return path.is_file()


def _preview_file(artifact: Artifact, wanted: str) -> Path | None:
    """The file a preview path names, only if the artifact lists it and it is inside it."""
    folder = Path(artifact.folder).resolve()
    if wanted == "":
        wanted = next((p for p in PREVIEW_PAGES if (folder / p).is_file()), "")
    if wanted not in {*artifact.files, "preview.html"}:
        return None
    path = (folder / wanted).resolve()
    return path if path.is_relative_to(folder) and path.is_file() else None


async def download(request: web.Request) -> web.StreamResponse:
    """The artifact's zip, as an attachment."""
    artifact = await _artifact(request)
    path = Path(artifact.zip_path)
    if not await asyncio.to_thread(_existing_file, path):
        raise web.HTTPNotFound()
    name = str(artifact.manifest.get("download", ""))  # named after the artifact when made
    if not DOWNLOAD_NAME.fullmatch(name):  # an artifact made before names, or anything odd
        name = f"{artifact.job_id}-v{artifact.version}.zip"
    headers = {**SAFE_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return web.FileResponse(path, headers=headers)


async def preview(request: web.Request) -> web.StreamResponse:
    """One file of the artifact, sandboxed; the folder itself shows its page."""
    artifact = await _artifact(request)
    path = await asyncio.to_thread(_preview_file, artifact, request.match_info["path"])
    if path is None:
        raise web.HTTPNotFound()
    content_type = TEXT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    headers = {
        **SAFE_HEADERS,
        "Content-Security-Policy": PREVIEW_POLICY,
        "Content-Type": f"{content_type or 'application/octet-stream'}; charset=utf-8",
    }
    return web.FileResponse(path, headers=headers)


async def preview_folder(request: web.Request) -> web.Response:
    """``/p/<token>`` without the slash: relative links need the folder form."""
    await _artifact(request)
    raise web.HTTPMovedPermanently(f"/p/{request.match_info['token']}/")


async def qr_code(request: web.Request) -> web.Response:
    """The download link as a QR code, for a phone camera."""
    artifact = await _artifact(request)
    link = f"{request.app[BASE_URL_KEY]}/a/{artifact.token}"
    code = segno.make(link, error="m")
    out = io.BytesIO()
    kind = request.match_info["kind"]
    code.save(out, kind=kind, scale=8, border=3, dark="#000000", light="#ffffff")
    content_type = "image/svg+xml" if kind == "svg" else "image/png"
    return web.Response(body=out.getvalue(), content_type=content_type, headers=SAFE_HEADERS)


def _site_file(site_dir: Path, slug: str, wanted: str) -> Path | None:
    """A published site's file (issue 16, part B): only inside the version the live link
    points at, which must itself be inside ``site_dir/.versions``."""
    versions = (site_dir / SITE_VERSIONS).resolve()
    live = (site_dir / slug).resolve()
    if not live.is_relative_to(versions) or not live.is_dir():
        return None
    if wanted == "" or wanted.endswith("/"):
        wanted += "index.html"
    path = (live / wanted).resolve()
    return path if path.is_relative_to(live) and path.is_file() else None


async def site(request: web.Request) -> web.StreamResponse:
    """A published artifact at ``/site/<slug>/``, with the previews' sandbox and headers."""
    slug = request.match_info["slug"]
    if not SITE_SLUG.fullmatch(slug):
        raise web.HTTPNotFound()
    wanted = request.match_info.get("path")
    if wanted is None:  # relative links need the folder form
        raise web.HTTPMovedPermanently(f"/site/{slug}/")
    path = await asyncio.to_thread(_site_file, request.app[SITE_DIR_KEY], slug, wanted)
    if path is None:
        raise web.HTTPNotFound()
    content_type = TEXT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    headers = {
        **SAFE_HEADERS,
        "Content-Security-Policy": PREVIEW_POLICY,
        "Content-Type": f"{content_type or 'application/octet-stream'}; charset=utf-8",
    }
    return web.FileResponse(path, headers=headers)


def _base_app(body_timeout: float, trusted_proxies: TrustedProxies | None) -> web.Application:
    """An application with the edge every one of ours has: the body deadline, the client
    a trusted proxy forwarded for, the safety headers on every response."""
    middlewares = [body_deadline(body_timeout)]
    if trusted_proxies is not None and trusted_proxies.networks:  # issue 17: behind nginx
        middlewares.insert(0, forwarded_client(trusted_proxies))
    app = web.Application(client_max_size=2 * 1024 * 1024, middlewares=middlewares)
    app.on_response_prepare.append(_edge_headers)
    return app


def _add_metrics(app: web.Application, access: MetricsAccess) -> None:
    app[METRICS_KEY] = access
    app.router.add_get("/metrics", metrics)


def metrics_app(
    access: MetricsAccess,
    *,
    body_timeout: float = 30.0,
    trusted_proxies: TrustedProxies | None = None,
) -> web.Application:
    """Only ``/metrics``, with the same access rule and edge as ``init_app``'s: for a process
    that serves no users, ``assistant worker --metrics-port`` (issue 17)."""
    app = _base_app(body_timeout, trusted_proxies)
    _add_metrics(app, access)
    return app


def init_app(
    store: ServedStore,
    jobs: JobCatalog,
    *,
    base_url: str = "http://127.0.0.1:8080",
    clock: Callable[[], float] = time.time,
    body_timeout: float = 30.0,
    site_dir: Path | None = None,
    metrics_access: MetricsAccess | None = None,
    trusted_proxies: TrustedProxies | None = None,
) -> web.Application:
    """The application with its routes; the caller owns the store's life cycle. Without
    ``metrics_access`` there is no ``/metrics``; with ``trusted_proxies``, every handler
    (this app's and those added to it) sees the client a trusted proxy forwarded for."""
    app = _base_app(body_timeout, trusted_proxies)
    app[STORE_KEY] = store
    app[JOBS_KEY] = jobs
    app[BASE_URL_KEY] = base_url.rstrip("/")
    app[CLOCK_KEY] = clock
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/a/{token}", download)
    app.router.add_get("/p/{token}", preview_folder)
    app.router.add_get("/p/{token}/{path:.*}", preview)
    app.router.add_get("/q/{token}.{kind:svg|png}", qr_code)
    if site_dir is not None:  # issue 16, part B: published artifacts
        app[SITE_DIR_KEY] = site_dir
        app.router.add_get("/site/{slug}", site)
        app.router.add_get("/site/{slug}/{path:.*}", site)
    if metrics_access is not None:  # issue 17: the whole service's metrics
        _add_metrics(app, metrics_access)
    return app
