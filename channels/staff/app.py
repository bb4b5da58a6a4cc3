"""The staff console's app, mounted at ``/staff/``: sign-in, sign-out and the home page.

The session is an encrypted cookie (``aiohttp-session``'s ``EncryptedCookieStorage``):
``HttpOnly``, ``SameSite=Strict``, ``Secure`` when the public address is https, and no
``Max-Age`` (it ends with the browser, and earlier on the server: ``guard.signed_in``). A
right sign-in starts a new session with a new CSRF token, so nothing set before it (by a
planted cookie, say) survives into the signed-in session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from yarl import URL

from assistant.staff.signin import Outcome
from channels.staff import artifacts  # the artifacts screen (issue 16, part A)
from channels.staff import jobs as jobs_screen  # part J
from channels.staff import sessions as live_sessions_screen  # part S
from channels.staff.guard import (
    CONFIG_KEY,
    LOGIN_PATH,
    STAFF_KEY,
    ConsoleConfig,
    csrf_middleware,
    csrf_token,
    language,
    require_role,
    say,
    signed_in,
)
from channels.staff.parts import PARTS_KEY, ConsoleParts

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
COOKIE_NAME = "staff_session"
PARTS = (  # the console's parts (issue 16); each is added by its own part
    ("/staff/sessions", "part_sessions"),
    ("/staff/artifacts", "part_artifacts"),
    ("/staff/jobs", "part_jobs"),
    ("/staff/knowledge", "part_knowledge"),
    ("/staff/charts", "part_charts"),
    ("/staff/audit", "part_audit"),
)
FAILURE_STATUS = {
    Outcome.WRONG: 401,
    Outcome.CODE_NEEDED: 401,
    Outcome.CODE_WRONG: 401,
    Outcome.LOCKED: 429,
    Outcome.DISABLED: 403,
    Outcome.MFA_REQUIRED: 403,
}
STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # Scripts and styles only from the console itself (``static/``); previews of artifacts
    # in frames of this server (each sandboxed by its own page); nothing from elsewhere.
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
}
TEMPLATES_KEY = web.AppKey("staff_templates", jinja2.Environment)


def _safe_next(target: str) -> str:
    """Only a console path is a place to go back to after sign-in (no open redirect)."""
    if target.startswith("/staff/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff/"


def render(request: web.Request, page: str, status: int = 200, **values: Any) -> web.Response:
    """A console page in the request's language; every value is escaped by jinja2."""
    lang = language(request)
    other = "en" if lang == "ja" else "ja"
    template = request.app[TEMPLATES_KEY].get_template(page)
    body = template.render(
        lang=lang,
        other_lang=other,
        # The other language's link keeps the rest of the address (where to go after sign-in).
        other_url=str(request.rel_url.update_query(lang=other)),
        s=lambda key, **params: say(request, key, **params),
        title=values.pop("title", say(request, "console")),
        static=lambda name: str(request.app.router["static"].url_for(filename=name)),
        **values,
    )
    return web.Response(text=body, status=status, content_type="text/html", headers=PAGE_HEADERS)


async def login_page(request: web.Request) -> web.Response:
    """The sign-in form (with a note when a session just ended or was signed out)."""
    session = await get_session(request)
    note = ""
    if request.query.get("expired"):
        note = say(request, "expired")
    elif request.query.get("out"):
        note = say(request, "signed_out")
    return render(
        request,
        "login.html",
        title=say(request, "login_title"),
        csrf=csrf_token(session),
        next=_safe_next(request.query.get("next", "/staff/")),
        name="",
        message="",
        note=note,
    )


async def login(request: web.Request) -> web.Response:
    """Check a sign-in; on success a new session, and 303 to where the person was going."""
    form = await request.post()
    name = str(form.get("name", ""))[:64]
    target = _safe_next(str(form.get("next", "/staff/")))
    settings = request.app[CONFIG_KEY]
    result = await settings.sign_in.attempt(
        name, str(form.get("password", "")), str(form.get("code", "")), request.remote or ""
    )
    if result.outcome is Outcome.OK and result.account is not None:
        session = await new_session(request)  # rotation: nothing from before survives
        now = settings.accounts.clock()
        session["name"] = result.account.name
        session["signed_in"] = now
        session["seen"] = now
        session["epoch"] = result.account.session_epoch
        csrf_token(session)
        # The console goes on in the language the sign-in page was read in (a Japanese
        # speaker on an English tablet chose 日本語 there).
        url = URL(target)
        if "lang" not in url.query:
            target = str(url.update_query(lang=language(request)))
        raise web.HTTPSeeOther(target)
    session = await get_session(request)
    return render(
        request,
        "login.html",
        status=FAILURE_STATUS[result.outcome],
        title=say(request, "login_title"),
        csrf=csrf_token(session),
        next=target,
        name=name,
        message=say(request, result.outcome.value, name=name),
        note="",
    )


async def logout(request: web.Request) -> web.Response:
    """End the session (CSRF-checked like every POST) and go back to the sign-in page.

    The account's session epoch goes up too, so a copy of the cookie, kept by anyone, is
    worth nothing afterwards (it also ends the account's sessions on other devices)."""
    account = await signed_in(request)
    if account is not None:
        await request.app[CONFIG_KEY].accounts.end_sessions(account)
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPSeeOther(f"{LOGIN_PATH}?out=1&lang={language(request)}")


@require_role("viewer")
async def home(request: web.Request) -> web.Response:
    """Who is signed in, with what role, and the console's parts."""
    account = request[STAFF_KEY]
    role = say(request, f"role_{account.role}")
    return render(
        request,
        "home.html",
        signed_in_as=say(request, "signed_in_as", name=account.name, role=role),
        parts=PARTS,
        csrf=csrf_token(await get_session(request)),
    )


def init_staff_app(
    config: ConsoleConfig, secret_key: bytes, *, secure: bool, parts: ConsoleParts | None = None
) -> web.Application:
    """The console app, to mount with ``app.add_subapp("/staff/", ...)``; ``parts`` are the
    running service the screens act on (``channels/staff/parts.py``)."""
    storage = EncryptedCookieStorage(
        secret_key,
        cookie_name=COOKIE_NAME,
        path="/staff/",
        secure=secure,
        httponly=True,
        samesite="Strict",
        max_age=None,
    )
    app = web.Application(middlewares=[session_middleware(storage), csrf_middleware])
    app[CONFIG_KEY] = config
    if parts is not None:
        app[PARTS_KEY] = parts
    app[TEMPLATES_KEY] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.router.add_get("/", home)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    live_sessions_screen.add_routes(app)  # part S: /staff/sessions
    jobs_screen.add_routes(app)  # part J: /staff/jobs
    # The screens' own scripts and styles (public: no secret in them, nothing per user).
    app.router.add_static("/static/", STATIC_DIR, append_version=True, name="static")
    artifacts.add_routes(app)  # /staff/artifacts (issue 16, part A)
    # Part K (knowledge, charts, audit log): imported here, as its screens import ``render``.
    from channels.staff.part_k import add_routes as add_part_k

    add_part_k(app)
    return app
