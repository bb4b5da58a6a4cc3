"""Every route of the staff console checks the role on the server (issue 16): walked from the
router itself, so a screen added later cannot forget its check. Anyone not signed in is sent
to sign in (pages) or refused (everything else); a role below the route's is refused with a
sentence; the route's own role and those above reach it. The whole service is served, as
``assistant serve`` wires it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from assistant.staff.accounts import role_rank
from testing.staff_console import ROLE_ACCOUNTS, csrf_of, running_console, sign_in

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Coroutine[Any, Any, Client]]
OPEN = ("/staff/login", "/staff/logout")  # open to anyone (the sign-in itself)
_PARAMETER = re.compile(r"\{[^}]+\}")


@pytest.fixture
async def console(
    tmp_path: Path, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[web.Application, Client]]:
    async with running_console(tmp_path / "data") as (app, _):
        yield app, await aiohttp_client(app)


def console_routes(app: web.Application) -> list[tuple[str, str, str | None]]:
    """(method, path with placeholders filled, the lowest role) of every console route."""
    console = next(
        resource._app  # type: ignore[attr-defined]
        for resource in app.router.resources()
        if getattr(resource, "canonical", "") == "/staff"
    )
    found = []
    for route in console.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        if "prefix" in info or route.method == "HEAD":
            continue  # the static folder (public: styles and scripts) and HEAD twins
        full = _PARAMETER.sub("nothing-here", path)  # the sub-app's paths carry /staff/
        found.append((route.method, full, getattr(route.handler, "minimum_role", None)))
    return found


async def test_every_console_route_checks_the_role_on_the_server(
    console: tuple[web.Application, Client],
) -> None:
    app, client = console
    routes = console_routes(app)
    assert ("GET", "/staff/", "viewer") in routes
    unguarded = [(m, p) for m, p, role in routes if role is None and p not in OPEN]
    assert not unguarded, f"routes without require_role: {unguarded}"
    for who_role, name in [(None, None), *ROLE_ACCOUNTS.items()]:
        for method, path, lowest in routes:
            if path in OPEN:
                continue
            if name is not None:
                await sign_in(client, name)
            token = await csrf_of(client, "/staff/" if name else "/staff/login")
            headers = {"X-CSRF-Token": token, "Accept": "text/html"}
            response = await client.request(method, path, headers=headers, allow_redirects=False)
            where = f"{name or 'nobody'} {method} {path}"
            assert lowest is not None
            if who_role is None:
                assert response.status == (303 if method == "GET" else 401), where
                continue
            if role_rank(who_role) < role_rank(lowest):
                assert response.status == 403, where
                assert "Your role does not allow this." in await response.text(), where
            else:
                assert response.status not in (401, 403), where
