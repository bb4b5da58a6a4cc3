"""The one server-side guard of the staff console: who is signed in, their role, CSRF.

Every console route is wrapped in ``require_role(...)``, which reads the encrypted session,
ends it when it is idle or too old (``idle_s``, ``absolute_s``, on the server's clock, not
the cookie's), reloads the account so a disabled account or a changed role counts at once,
and answers 303 to the login page (401 for anything but a page) or 403 for a role too low.
CSRF is a middleware on the whole console app, so no POST route can forget it: every
non-GET request must carry the session's token in the ``csrf`` form field or the
``X-CSRF-Token`` header. Other parts of issue 16 import ``require_role`` and ``STAFF_KEY``.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import Session, get_session

from assistant.events import LANGUAGES
from assistant.jobs.phrases import Phrases
from assistant.staff.accounts import Account, StaffAccounts, check_role, role_rank
from assistant.staff.signin import SignIn

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_PATH = "/staff/login"


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """What every console route needs: accounts, the sign-in check, phrases, the clock."""

    accounts: StaffAccounts
    sign_in: SignIn
    phrases: Phrases
    idle_s: float = 1800.0
    absolute_s: float = 43_200.0
    default_language: str = "ja"
    body_timeout_s: float = 30.0  # a form's body, as the service's ``http_body_timeout_s``


CONFIG_KEY = web.AppKey("staff_console", ConsoleConfig)
STAFF_KEY = web.RequestKey("staff_account", Account)
EXPIRED_KEY = web.RequestKey("staff_expired", bool)


def config(request: web.Request) -> ConsoleConfig:
    """The console's configuration, from the console app (also inside a nested app)."""
    for app in reversed(request.match_info.apps):
        if CONFIG_KEY in app:
            return app[CONFIG_KEY]
    raise RuntimeError("the staff console's routes must live in its app (init_staff_app)")


def language(request: web.Request) -> str:
    """``?lang=`` when given, else the browser's first language we speak, else the default."""
    wanted = request.query.get("lang")
    if wanted in LANGUAGES:
        return wanted
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return config(request).default_language


def say(request: web.Request, key: str, **params: Any) -> str:
    """A console sentence in the request's language."""
    return config(request).phrases.say(language(request), f"staff.{key}", **params)


def csrf_token(session: Session) -> str:
    """The session's CSRF token, made when the session has none yet."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def _wants_page(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return request.method in SAFE_METHODS and "application/json" not in accept


async def signed_in(request: web.Request) -> Account | None:
    """The signed-in account, or None (an expired session is ended here, server-side)."""
    session = await get_session(request)
    name = session.get("name")
    if not isinstance(name, str):
        return None
    settings = config(request)
    now = settings.accounts.clock()
    started, seen = float(session.get("signed_in", 0)), float(session.get("seen", 0))
    if now - started > settings.absolute_s or now - seen > settings.idle_s:
        session.invalidate()
        request[EXPIRED_KEY] = True
        return None
    account = await settings.accounts.store.get(name)
    if account is None or account.disabled or session.get("epoch") != account.session_epoch:
        session.invalidate()
        return None
    session["seen"] = now
    return account


def require_role(minimum: str) -> Callable[[Handler], Handler]:
    """Wrap a console handler: only an account of ``minimum`` role or above reaches it.
    A misspelt role fails here, at import, rather than letting everyone in."""
    check_role(minimum)

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            account = await signed_in(request)
            if account is None:
                if _wants_page(request):
                    target = quote(request.path_qs, safe="")
                    expired = "&expired=1" if request.get(EXPIRED_KEY) else ""
                    where = f"?next={target}&lang={language(request)}{expired}"
                    raise web.HTTPSeeOther(LOGIN_PATH + where)
                raise web.HTTPUnauthorized(text=say(request, "expired"))
            if role_rank(account.role) < role_rank(minimum):
                raise web.HTTPForbidden(text=say(request, "forbidden"))
            request[STAFF_KEY] = account
            return await handler(request)

        guarded.minimum_role = minimum  # type: ignore[attr-defined]  # read by the role matrix test
        return guarded

    return wrap


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request that changes something carries the session's token, or gets 403."""
    if request.method in SAFE_METHODS:
        return await handler(request)
    session = await get_session(request)
    expected = session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not expected:
        # No console session: refused before a byte of the body is read, so nobody signed
        # out can hold the server with a slow upload.
        raise web.HTTPForbidden(text=say(request, "csrf"))
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        # A multipart route reads its own body (``reads_own_body``), past the service's
        # deadline: the form is read here within the same time.
        try:
            async with asyncio.timeout(config(request).body_timeout_s):
                form = await request.post()
        except TimeoutError:
            response = web.Response(status=408, text="Request Timeout")
            response.force_close()
            return response
        given = str(form.get(CSRF_FIELD, ""))
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPForbidden(text=say(request, "csrf"))
    return await handler(request)
