"""Signing in to the staff console at /staff/ (issue 16, part A), through aiohttp's test client
against the real app: the service's app with the console mounted as ``assistant serve`` does.

Sessions, CSRF, expiry on the server's clock (moved by the test), TOTP, rotation on sign-in,
and a role × route matrix for the console's routes so far.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pyotp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from assistant.cli.staff import staff_app
from assistant.config import Settings
from assistant.jobs.catalog import JobCatalog
from assistant.server import init_app
from assistant.staff.accounts import StaffAccounts, StaffError
from assistant.staff.audit import AuditLog, AuditQuery
from assistant.store.sqlite import SQLiteStore
from assistant.store.staff_accounts import SQLiteStaffAccounts
from channels.staff import STAFF_KEY, require_role
from testing.staff_console import (
    CHEAP_HASHER,
    PASSWORD,
    add_role_accounts,
    csrf_of,
    session_cookie,
    sign_in,
)
from tests.test_staff_accounts import START, Clock

# aiohttp-session keeps its own request keys as plain strings, which aiohttp now warns about.
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")
Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "assistant.db", clock=clock)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def accounts(store: SQLiteStore, clock: Clock) -> StaffAccounts:
    accounts = StaffAccounts(SQLiteStaffAccounts(store), hasher=CHEAP_HASHER, clock=clock)
    await add_role_accounts(accounts)
    return accounts


@require_role("admin")
async def admin_only(request: web.Request) -> web.Response:
    """A route as the other parts will add them: guarded, and told who is signed in."""
    return web.Response(text=f"admin page for {request[STAFF_KEY].name}")


def build_app(store: SQLiteStore, catalog: JobCatalog, settings: Settings) -> web.Application:
    app = init_app(store, catalog, base_url=settings.base_url)
    console = staff_app(store, settings, CHEAP_HASHER)
    console.router.add_get("/admin-only", admin_only)
    console.router.add_post("/admin-only", admin_only)
    app.add_subapp("/staff/", console)
    return app


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return replace(Settings(), data_dir=tmp_path / "data", language="en")


@pytest.fixture
async def client(
    aiohttp_client: MakeClient,
    store: SQLiteStore,
    catalog: JobCatalog,
    settings: Settings,
    accounts: StaffAccounts,
) -> Client:
    return await aiohttp_client(build_app(store, catalog, settings))


async def test_sign_in_shows_the_account_and_role(client: Client) -> None:
    assert await sign_in(client, "ana") == "/staff/?lang=en"
    home = await client.get("/staff/")
    text = await home.text()
    assert home.status == 200
    assert "Signed in as ana (administrator)." in text
    assert 'href="/staff/sessions?lang=en"' in text and 'href="/staff/audit?lang=en"' in text


async def test_the_session_cookie_is_httponly_strict_and_secure_over_https(
    aiohttp_client: MakeClient,
    client: Client,
    store: SQLiteStore,
    catalog: JobCatalog,
    settings: Settings,
) -> None:
    response = await client.get("/staff/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff/" in cookie
    assert "Secure" not in cookie and "Max-Age" not in cookie
    key_file = settings.data_dir / "staff_secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    https = replace(settings, public_base_url="https://help.example.org")
    secure = await aiohttp_client(build_app(store, catalog, https))
    assert "Secure" in (await secure.get("/staff/login")).headers["Set-Cookie"]


@pytest.mark.parametrize("secret", ["", "a-long-configured-staff-secret-key"])
async def test_a_second_process_reads_the_same_sessions(
    aiohttp_client: MakeClient,
    accounts: StaffAccounts,
    store: SQLiteStore,
    catalog: JobCatalog,
    settings: Settings,
    secret: str,
) -> None:
    """The cookie key is made once and kept (or comes from ``staff_secret_key``), so a
    restart or a second process behind the same data folder does not sign anyone out."""
    first = await aiohttp_client(
        build_app(store, catalog, replace(settings, staff_secret_key=secret))
    )
    await sign_in(first, "sam")
    cookie = session_cookie(first)
    second = await aiohttp_client(
        build_app(store, catalog, replace(settings, staff_secret_key=secret))
    )
    home = await second.get("/staff/", headers={"Cookie": f"staff_session={cookie}"})
    assert "Signed in as sam (staff)." in await home.text()
    assert (settings.data_dir / "staff_secret.key").exists() == (secret == "")
    other = await aiohttp_client(
        build_app(store, catalog, replace(settings, staff_secret_key="x" * 32))
    )
    foreign = await other.get(
        "/staff/", headers={"Cookie": f"staff_session={cookie}"}, allow_redirects=False
    )
    assert foreign.status == 303  # another key: the cookie is nobody's


async def test_signing_in_starts_a_new_session(client: Client) -> None:
    """Session fixation: nothing from the cookie before sign-in carries on after it."""
    before_token = await csrf_of(client)
    before = session_cookie(client)
    assert before
    await sign_in(client, "sam")
    after = session_cookie(client)
    assert after and after != before
    after_token = await csrf_of(client, "/staff/")
    assert after_token != before_token
    # The CSRF token of the session before sign-in is worth nothing now.
    stale = await client.post("/staff/logout", data={"csrf": before_token}, allow_redirects=False)
    assert stale.status == 403
    # And the cookie from before sign-in, replayed, is a signed-out visitor.
    client.session.cookie_jar.clear()
    replayed = await client.get(
        "/staff/", headers={"Cookie": f"staff_session={before}"}, allow_redirects=False
    )
    assert replayed.status == 303 and replayed.headers["Location"].startswith("/staff/login")


async def test_wrong_password_and_lockout_are_told(client: Client) -> None:
    for _ in range(5):
        form = {"csrf": await csrf_of(client), "name": "sam", "password": "not it"}
        response = await client.post("/staff/login", data=form)
        assert response.status == 401
        assert "The account name or password is wrong." in await response.text()
    assert "Too many wrong sign-ins" in await sign_in(client, "sam", status=429)
    assert (await client.get("/staff/", allow_redirects=False)).status == 303


async def test_what_a_name_holds_is_shown_as_text(client: Client) -> None:
    form = {
        "csrf": await csrf_of(client),
        "name": '<img src=x onerror="alert(1)">',
        "password": "x",
    }
    text = await (await client.post("/staff/login", data=form)).text()
    assert "<img src=x" not in text and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in text


async def test_csrf_missing_or_wrong_is_refused_with_a_sentence(client: Client) -> None:
    form = {"name": "sam", "password": PASSWORD}
    missing = await client.post("/staff/login", data=form, allow_redirects=False)
    assert missing.status == 403
    assert "did not come from the console" in await missing.text()
    wrong = await client.post(
        "/staff/login", data={**form, "csrf": "x" * 43}, allow_redirects=False
    )
    assert wrong.status == 403
    await sign_in(client, "sam")
    token = await csrf_of(client, "/staff/")
    header = await client.post(
        "/staff/logout", headers={"X-CSRF-Token": "wrong"}, allow_redirects=False
    )
    assert header.status == 403
    assert (await client.get("/staff/")).status == 200  # still signed in
    out = await client.post("/staff/logout", headers={"X-CSRF-Token": token}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"].startswith("/staff/login?out=1")
    assert (await client.get("/staff/", allow_redirects=False)).status == 303


async def test_signing_out_makes_a_copied_cookie_worthless(
    client: Client, accounts: StaffAccounts
) -> None:
    await sign_in(client, "sam")
    copied = session_cookie(client)
    token = await csrf_of(client, "/staff/")
    await client.post("/staff/logout", data={"csrf": token}, allow_redirects=False)
    client.session.cookie_jar.clear()
    replayed = await client.get(
        "/staff/", headers={"Cookie": f"staff_session={copied}"}, allow_redirects=False
    )
    assert replayed.status == 303
    # A new password ends the sessions signed in with the old one, too.
    await sign_in(client, "sam")
    await accounts.reset_password("sam", PASSWORD)
    assert (await client.get("/staff/", allow_redirects=False)).status == 303


async def test_idle_sessions_end(client: Client, clock: Clock) -> None:
    await sign_in(client, "sam")
    clock.now = START + 29 * 60
    assert (await client.get("/staff/")).status == 200  # use keeps it alive
    clock.now += 29 * 60
    assert (await client.get("/staff/")).status == 200
    clock.now += 31 * 60
    ended = await client.get("/staff/", allow_redirects=False)
    assert ended.status == 303 and "expired=1" in ended.headers["Location"]
    page = await client.get(ended.headers["Location"])
    assert "Your session has ended. Please sign in again." in await page.text()
    clock.now += 1  # the ended session stays ended
    assert (await client.get("/staff/", allow_redirects=False)).status == 303


async def test_sessions_end_after_twelve_hours_however_busy(client: Client, clock: Clock) -> None:
    await sign_in(client, "sam")
    while clock.now < START + 12 * 3600 - 20 * 60:
        clock.now += 20 * 60
        assert (await client.get("/staff/", allow_redirects=False)).status == 200
    clock.now = START + 12 * 3600 + 1
    assert (await client.get("/staff/", allow_redirects=False)).status == 303
    assert (await client.get("/staff/", headers={"Accept": "application/json"})).status == 401


async def test_a_disabled_account_is_signed_out_at_its_next_request(
    client: Client, accounts: StaffAccounts
) -> None:
    await sign_in(client, "sam")
    await accounts.disable("sam")
    assert (await client.get("/staff/", allow_redirects=False)).status == 303
    assert "This account is disabled." in await sign_in(client, "sam", status=403)


async def test_totp_on_the_login_form(client: Client, accounts: StaffAccounts) -> None:
    secret = pyotp.parse_uri(await accounts.enable_mfa("sam")).secret
    assert "6-digit code" in await sign_in(client, "sam", status=401)
    totp = pyotp.TOTP(secret)
    wrong = str((int(totp.at(START)) + 1) % 1_000_000).zfill(6)
    assert "one-time code is wrong" in await sign_in(client, "sam", code=wrong, status=401)
    assert await sign_in(client, "sam", code=totp.at(START)) == "/staff/?lang=en"
    assert (await client.get("/staff/")).status == 200


async def test_admins_without_totp_are_told_how_when_it_is_required(
    aiohttp_client: MakeClient,
    store: SQLiteStore,
    catalog: JobCatalog,
    settings: Settings,
    accounts: StaffAccounts,
) -> None:
    strict = await aiohttp_client(
        build_app(store, catalog, replace(settings, staff_require_mfa=True))
    )
    told = await sign_in(strict, "ana", status=403)
    assert "Ask for `assistant staff mfa ana` to be run on the server" in told
    assert await sign_in(strict, "sam") == "/staff/?lang=en"  # staff are not admins: no TOTP asked


async def test_the_login_page_speaks_japanese(client: Client) -> None:
    page = await client.get("/staff/login", headers={"Accept-Language": "ja,en;q=0.5"})
    text = await page.text()
    assert '<html lang="ja">' in text and "スタッフのサインイン" in text
    assert '<label for="password">パスワード</label>' in text
    # Asked for a console page in Japanese: the sign-in page is in Japanese, and its link to
    # English keeps where to go afterwards.
    asked = await client.get("/staff/?lang=ja", allow_redirects=False)
    japanese = await (await client.get(asked.headers["Location"])).text()
    assert "スタッフのサインイン" in japanese
    assert 'href="/staff/login?next=/staff/?lang%3Dja&amp;lang=en"' in japanese


async def test_sign_in_goes_back_to_the_page_asked_for_but_only_in_the_console(
    client: Client,
) -> None:
    asked = await client.get("/staff/admin-only", allow_redirects=False)
    assert asked.headers["Location"] == "/staff/login?next=/staff/admin-only&lang=en"
    for target, expected in (
        ("/staff/admin-only", "/staff/admin-only?lang=en"),
        ("//evil.example/", "/staff/?lang=en"),
    ):
        form = {"csrf": await csrf_of(client), "name": "ana", "password": PASSWORD, "next": target}
        response = await client.post("/staff/login", data=form, allow_redirects=False)
        assert response.headers["Location"] == expected


def test_a_misspelt_role_is_refused_when_the_route_is_made() -> None:
    with pytest.raises(StaffError, match="unknown role 'admn'"):
        require_role("admn")


ROUTES = (  # method, path, the lowest role that may use it (None: open to anyone)
    ("GET", "/staff/login", None),
    ("GET", "/staff/", "viewer"),
    ("GET", "/staff/admin-only", "admin"),
    ("POST", "/staff/admin-only", "admin"),
    ("POST", "/staff/logout", None),
)
RANK = {None: -1, "viewer": 0, "staff": 1, "admin": 2}


@pytest.mark.parametrize("who", [None, "vic", "sam", "ana"])
async def test_role_by_route_matrix(client: Client, who: str | None) -> None:
    role = {None: None, "vic": "viewer", "sam": "staff", "ana": "admin"}[who]
    for method, path, lowest in ROUTES:
        if who is not None:
            await sign_in(client, who)  # again each time: logout ends the session
        token = await csrf_of(client, "/staff/" if who else "/staff/login")
        headers = {"X-CSRF-Token": token} if method == "POST" else {}
        response = await client.request(method, path, headers=headers, allow_redirects=False)
        if lowest is None:
            expected = 303 if path.endswith("logout") else 200
        elif role is None:
            expected = 303 if method == "GET" else 401
        else:
            expected = 200 if RANK[role] >= RANK[lowest] else 403
        assert response.status == expected, f"{who} {method} {path}"
        if expected == 403:
            assert "Your role does not allow this." in await response.text()


async def test_every_sign_in_attempt_is_in_the_audit_log(
    client: Client, store: SQLiteStore
) -> None:
    """Issue 16's audit log holds sign-ins and failed sign-ins, with the address; a name
    nobody has (perhaps a password typed in the wrong box) is never written down."""
    form = {"csrf": await csrf_of(client), "name": "sam", "password": "not it"}
    assert (await client.post("/staff/login", data=form)).status == 401
    form = {"csrf": await csrf_of(client), "name": "hunter2", "password": "x"}
    assert (await client.post("/staff/login", data=form)).status == 401
    await sign_in(client, "sam")
    entries = await AuditLog(store).search(AuditQuery())
    seen = [(e.who, e.role, e.action, e.detail.get("outcome")) for e in reversed(entries)]
    assert seen == [
        ("sam", "staff", "sign_in_failed", "wrong"),
        ("(unknown name)", "", "sign_in_failed", "wrong"),
        ("sam", "staff", "sign_in", "ok"),
    ]
    assert all(entry.address == "127.0.0.1" for entry in entries)
    assert "hunter2" not in repr(entries)


async def test_the_console_goes_on_in_the_language_of_the_sign_in_page(client: Client) -> None:
    """Signed in from the Japanese sign-in page on an English browser: Japanese after it."""
    form = {"csrf": await csrf_of(client), "name": "sam", "password": PASSWORD, "code": ""}
    headers = {"Accept-Language": "en-US,en;q=0.9"}
    response = await client.post(
        "/staff/login?lang=ja", data=form, headers=headers, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/staff/?lang=ja"
    home = await client.get(response.headers["Location"], headers=headers)
    assert "サインアウト" in await home.text()
    # A page the person was going to keeps its own language when it names one.
    form = {"csrf": await csrf_of(client), "name": "sam", "password": PASSWORD, "code": "",
            "next": "/staff/sessions?lang=en"}  # fmt: skip
    again = await client.post("/staff/login?lang=ja", data=form, allow_redirects=False)
    assert again.headers["Location"] == "/staff/sessions?lang=en"
