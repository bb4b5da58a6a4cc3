"""Signing in to the staff console from a test (issue 16): for every part's role × route tests.

The helpers go through the real sign-in form with its CSRF token, as a browser would, so a
test of a console route exercises the same session and guard as staff do. Accounts are made
with a cheap argon2 (still argon2id) so a matrix of roles stays fast.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from assistant.cli.staff import staff_app, staff_services
from assistant.client_address import TrustedProxies
from assistant.compose import Services
from assistant.config import Settings
from assistant.server import init_app
from assistant.staff.accounts import StaffAccounts

Client = TestClient[web.Request, web.Application]
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
PASSWORD = "correct horse battery"
ROLE_ACCOUNTS = {"viewer": "vic", "staff": "sam", "admin": "ana"}  # one account per role
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def add_role_accounts(accounts: StaffAccounts) -> None:
    """One account per role (``ROLE_ACCOUNTS``), all with ``PASSWORD``."""
    for role, name in ROLE_ACCOUNTS.items():
        await accounts.add(name, role, PASSWORD)


async def csrf_of(client: Client, path: str = "/staff/login") -> str:
    """The CSRF token a console page (by default the sign-in page) carries in its forms."""
    page = await client.get(path)
    found = _CSRF.search(await page.text())
    assert found is not None, f"{path} has no CSRF field"
    return found.group(1)


async def sign_in(
    client: Client, name: str, *, password: str = PASSWORD, code: str = "", status: int = 303
) -> str:
    """Sign in through the form; returns where it sent us (303) or the page's text."""
    form = {"csrf": await csrf_of(client), "name": name, "password": password, "code": code}
    response = await client.post("/staff/login", data=form, allow_redirects=False)
    assert response.status == status, await response.text()
    return response.headers.get("Location", "") if status == 303 else await response.text()


def session_cookie(client: Client) -> str:
    """The console's session cookie as the client holds it ("" when it has none)."""
    cookies = {cookie.key: cookie.value for cookie in client.session.cookie_jar}
    return cookies.get("staff_session", "")


@asynccontextmanager
async def running_console(
    data_dir: Path, **overrides: Any
) -> AsyncIterator[tuple[web.Application, Services]]:
    """The service as ``assistant serve`` wires it (chat, ``/a/`` links, ``/site/``) with the
    console's screens acting on it, and one account per role (``ROLE_ACCOUNTS``). No model,
    no warm-up: the screens' tests do not need them. Serve it with ``aiohttp_client(app)``."""
    settings = replace(
        Settings(), data_dir=data_dir, language="en", llm_enabled=False, warm_up=False
    )
    settings = replace(settings, **overrides)
    services = Services.build(settings)
    await services.start()
    try:
        app = init_app(
            services.store,
            services.jobs,
            base_url=settings.base_url,
            site_dir=settings.site_path,
            metrics_access=services.metrics_access(),
            trusted_proxies=TrustedProxies(settings.trusted_proxies),
        )
        services.web_channel().add_routes(app)
        console = staff_app(services.store, settings, CHEAP_HASHER, services=services)
        app.add_subapp("/staff/", console)
        accounts, _ = staff_services(services.store, settings, CHEAP_HASHER)
        await add_role_accounts(accounts)
        yield app, services
    finally:
        await services.stop()
