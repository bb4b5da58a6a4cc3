"""The console's artifacts screen (issue 16, part A), on the whole service as ``assistant
serve`` wires it: real SQLite, artifacts made by walking the café job and letting the running
generation queue build them, a real SMTP server (aiosmtpd) on 127.0.0.1, and the real web
chat's websocket for what the user sees."""

from __future__ import annotations

import asyncio
import datetime
import html
import json
import re
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from assistant.compose import Services
from assistant.events import Turn
from assistant.session import Artifact
from assistant.staff.audit import AuditLog, AuditQuery
from testing.cafe_walk import cafe_walk
from testing.smtp import Inbox
from testing.staff_console import csrf_of, running_console, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")
Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Coroutine[Any, Any, Client]]
SENDER = "desk@facility.example"
VISITOR = "hanako.visitor@example.org"
BASE_URL = "http://kiosk.example:8080"
WAIT = 60.0


@pytest.fixture
async def console(
    tmp_path: Path, aiohttp_client: MakeClient, smtp_server: tuple[Inbox, int]
) -> AsyncIterator[tuple[Client, Services]]:
    _, port = smtp_server
    async with running_console(
        tmp_path / "data", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        smtp_from=SENDER, public_base_url=BASE_URL,
    ) as (app, services):  # fmt: skip
        yield await aiohttp_client(app), services


async def made(services: Services, key: str, shop: str) -> Artifact:
    """Walk the café page for ``shop`` in web session ``key``; the running queue builds it."""
    for text in cafe_walk(shop=shop):
        await services.manager.handle(Turn(session_key=key, text=text, language="en",
                                           channel="web"))  # fmt: skip
    async with asyncio.timeout(WAIT):
        while True:  # the session's state: delivered, with its artifact
            session = await services.store.load(key)
            if session is not None and session.artifact_id:
                artifact = await services.store.artifact(session.artifact_id)
                assert artifact is not None
                return artifact
            await asyncio.sleep(0.05)


def text_of(page: str) -> str:
    """The page's words as a person reads them (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def alert_of(page: str) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


async def act(client: Client, artifact: Artifact, action: str, **form: str) -> tuple[int, str]:
    """Post one act as the page's form does; follow the 303 back; (status, page)."""
    token = await csrf_of(client, f"/staff/artifacts/{artifact.id}")
    response = await client.post(
        f"/staff/artifacts/{artifact.id}/{action}?lang=en", data={"csrf": token, **form}
    )
    return response.status, await response.text()


async def test_filters_narrow_the_list_by_job_status_and_day(
    console: tuple[Client, Services],
) -> None:
    client, services = console
    cafe = await made(services, "web:filters-one", "Blue Harbor Café")
    other = await made(services, "web:filters-two", "Green Lantern Books")
    await services.artifact_desk().approve(other.id, "ana")
    await sign_in(client, "vic")
    everything = text_of(await (await client.get("/staff/artifacts?lang=en")).text())
    assert "Blue Harbor Café" in everything and "Green Lantern Books" in everything
    assert "2 artifacts" in everything
    approved = text_of(await (await client.get("/staff/artifacts?status=approved&lang=en")).text())
    assert "Green Lantern Books" in approved and "Blue Harbor Café" not in approved
    pending = text_of(await (await client.get("/staff/artifacts?status=pending&lang=en")).text())
    assert "Blue Harbor Café" in pending and "Green Lantern Books" not in pending
    raw = await (await client.get("/staff/artifacts?job=quiz_game&lang=en")).text()
    none = text_of(raw)
    assert "No artifacts match." in none and "Blue Harbor Café" not in none
    # The filter keeps what was chosen, named as staff know the job.
    assert re.search(r'<option value="quiz_game" selected>[^<(]+ \(quiz_game\)</option>', raw)
    made_on = datetime.datetime.fromtimestamp(cafe.created).date()
    tomorrow = (made_on + datetime.timedelta(days=1)).isoformat()
    today = await client.get(f"/staff/artifacts?from={made_on}&to={made_on}&job=cafe_page")
    assert "2 artifacts" in text_of(await today.text())
    later = text_of(await (await client.get(f"/staff/artifacts?from={tomorrow}")).text())
    assert "0 artifacts" in later or "作品 0 件" in later
    wrong = await client.get("/staff/artifacts?from=yesterday&lang=en")
    assert wrong.status == 400
    assert "year-month-day" in alert_of(await wrong.text())
    japanese = text_of(await (await client.get("/staff/artifacts?lang=ja")).text())
    assert "確認待ち" in japanese and "承認済み" in japanese


async def test_publishing_is_refused_before_approval_and_serves_the_page_after(
    console: tuple[Client, Services],
) -> None:
    client, services = console
    cafe = await made(services, "web:publish", "Blue Harbor Café")
    await sign_in(client, "sam")
    page = text_of(await (await client.get(f"/staff/artifacts/{cafe.id}?lang=en")).text())
    assert "Status: waiting for review." in page and "Not published." in page
    status, refused = await act(client, cafe, "publish")
    assert status == 409
    assert alert_of(refused) == (
        "This has not been approved yet, so it cannot be published or sent."
    )
    assert (await client.get("/site/blue-harbor-cafe/")).status == 404
    status, approved = await act(client, cafe, "approve")
    assert status == 200 and "Approved. It may now be published and sent." in approved
    assert "Status: approved." in text_of(approved)
    status, published = await act(client, cafe, "publish")
    assert status == 200
    assert "Published. It is now at /site/blue-harbor-cafe/." in text_of(published)
    served = await client.get("/site/blue-harbor-cafe/")
    assert served.status == 200
    assert await served.read() == (Path(cafe.folder) / "index.html").read_bytes()
    status, down = await act(client, cafe, "unpublish")
    assert status == 200 and "Taken off the site." in text_of(down)
    assert (await client.get("/site/blue-harbor-cafe/")).status == 404
    actions = [e.action for e in await AuditLog(services.store).search(AuditQuery(who="sam"))]
    assert actions[:3] == ["unpublish", "publish", "approve"]  # newest first; refusal not an act


async def test_a_sent_back_comment_reaches_the_users_web_chat(
    console: tuple[Client, Services],
) -> None:
    client, services = console
    chat = await client.ws_connect("/ws")
    await chat.send_json({"type": "hello", "language": "en"})
    key = ""
    async with asyncio.timeout(WAIT):
        while not key:
            message = json.loads((await chat.receive()).data)
            key = message["key"] if message["type"] == "session" else ""
    cafe = await made(services, key, "Blue Harbor Café")
    await sign_in(client, "sam")
    comment = "Please add your phone number <b>and</b> the opening days."
    status, too_long = await act(client, cafe, "send-back", comment="x" * 1001)
    assert status == 400 and "too long" in alert_of(too_long)
    status, empty = await act(client, cafe, "send-back", comment="   ")
    assert status == 400 and alert_of(empty) == "Please write a comment that says what to change."
    status, page = await act(client, cafe, "send-back", comment=comment)
    assert status == 200 and "Sent back. The user has been shown your comment." in page
    assert "&lt;b&gt;and&lt;/b&gt;" in page and "<b>and</b>" not in page  # text, not markup
    wanted = f"Staff looked at it and asked for a change: {comment}"
    async with asyncio.timeout(WAIT):
        while True:
            received = await chat.receive()
            assert received.type == WSMsgType.TEXT, received
            message = json.loads(received.data)
            texts = [r["text"] for r in message.get("replies", [])]
            if wanted in texts:
                break
    await chat.close()
    history = await services.store.history(key)
    assert any(wanted in json.dumps(row, ensure_ascii=False) for row in history)
    [entry] = await AuditLog(services.store).search(AuditQuery(action="send_back"))
    assert (entry.who, entry.artifact_id, entry.session_key) == ("sam", cafe.id, key)


async def test_sending_by_mail_delivers_the_link_and_keeps_no_address(
    console: tuple[Client, Services], smtp_server: tuple[Inbox, int]
) -> None:
    client, services = console
    inbox, _ = smtp_server
    cafe = await made(services, "web:mail", "Blue Harbor Café")
    await sign_in(client, "sam")
    status, refused = await act(client, cafe, "send", address=VISITOR, how="link")
    assert status == 409 and "not been approved" in alert_of(refused)
    await act(client, cafe, "approve")
    status, bad = await act(client, cafe, "send", address="not an address", how="link")
    assert status == 400 and "name@example.com" in alert_of(bad)
    status, sent = await act(client, cafe, "send", address=VISITOR, how="link")
    assert status == 200 and "The e-mail has been sent." in sent
    await asyncio.wait_for(inbox.arrived.wait(), WAIT)
    [(envelope, message)] = inbox.messages
    body = message.get_body(("plain",))
    assert envelope.rcpt_tos == [VISITOR] and body is not None
    assert f"{BASE_URL}/p/{cafe.token}/" in body.get_content()
    assert VISITOR not in sent  # the page lists the sending, never the address
    assert "link" in text_of(sent) and "sent" in text_of(sent)
    entries = await AuditLog(services.store).search(AuditQuery(action="send"))
    assert [e.detail for e in entries] == [{"how": "link", "status": "sent"}]
    assert VISITOR not in json.dumps([e.detail for e in entries])


async def test_a_viewer_reads_but_cannot_act(console: tuple[Client, Services]) -> None:
    client, services = console
    cafe = await made(services, "web:viewer", "Blue Harbor Café")
    await sign_in(client, "vic")
    page = await client.get(f"/staff/artifacts/{cafe.id}?lang=en")
    assert page.status == 200 and "Blue Harbor Café" in await page.text()
    assert f'src="/p/{cafe.token}/" sandbox="allow-scripts"' in await page.text()
    for action, form in (("approve", {}), ("send-back", {"comment": "no"}), ("publish", {}),
                         ("unpublish", {}), ("send", {"address": VISITOR})):  # fmt: skip
        status, text = await act(client, cafe, action, **form)
        assert status == 403 and "Your role does not allow this." in text, action
    review = await services.artifact_desk().review(cafe.id)
    assert review is not None and review.status == "pending"
    assert (await client.get("/staff/artifacts/no-such-thing")).status == 404


async def test_a_mail_server_that_is_down_is_said_and_logged_as_a_failed_sending(
    tmp_path: Path, aiohttp_client: MakeClient
) -> None:
    with socket.socket() as probe:  # a port nobody listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with running_console(
        tmp_path / "data", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        smtp_from=SENDER,
    ) as (app, services):  # fmt: skip
        client = await aiohttp_client(app)
        cafe = await made(services, "web:down", "Blue Harbor Café")
        await services.artifact_desk().approve(cafe.id, "ana")
        await sign_in(client, "sam")
        status, page = await act(client, cafe, "send", address=VISITOR, how="attachment")
        assert status == 409
        assert alert_of(page).startswith("The mail server cannot be reached right now")
        assert "attachment" in text_of(page) and "failed" in text_of(page)
        assert VISITOR not in page
        [entry] = await AuditLog(services.store).search(AuditQuery(action="send"))
        assert entry.detail == {
            "how": "attachment",
            "status": "failed",
            "reason": "mail_unreachable",
        }


async def test_sending_back_when_the_users_session_is_gone_says_they_were_not_told(
    console: tuple[Client, Services],
) -> None:
    client, services = console
    cafe = await made(services, "web:gone", "Blue Harbor Café")
    store = services.store
    await store.run(lambda: store.db.execute("DELETE FROM sessions WHERE key = ?", ["web:gone"]))
    await sign_in(client, "sam")
    status, page = await act(client, cafe, "send-back", comment="Please add the opening days.")
    assert status == 200 and "so they could not be told" in html.unescape(page)
    review = await services.artifact_desk().review(cafe.id)
    assert review is not None and review.comment == "Please add the opening days."


async def test_an_artifacts_page_lists_every_version_of_its_series(
    console: tuple[Client, Services],
) -> None:
    client, services = console
    first = await made(services, "web:versions", "Blue Harbor Café")
    for text in ["change something", "1", "Green Diner", "yes"]:  # the user makes version 2
        turn = Turn(session_key="web:versions", text=text, language="en", channel="web")
        await services.manager.handle(turn)
    async with asyncio.timeout(WAIT):
        while True:
            session = await services.store.load("web:versions")
            if session is not None and session.artifact_id not in (None, first.id):
                break
            await asyncio.sleep(0.05)
    second = await services.store.artifact(session.artifact_id or "")
    assert second is not None and second.version == 2 and second.series == first.series
    await sign_in(client, "vic")
    page = await (await client.get(f"/staff/artifacts/{second.id}?lang=en")).text()
    assert "Green Diner (Café web page)" in text_of(page)
    assert "Version 2 (this page)" in text_of(page)
    assert f'href="/staff/artifacts/{first.id}?lang=en">Version 1</a>' in page
    listed = text_of(await (await client.get("/staff/artifacts?lang=en")).text())
    assert listed.index("Green Diner") < listed.index("Blue Harbor Café")  # newest first
