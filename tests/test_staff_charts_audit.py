"""The console's charts and audit log screens (issue 16, part K), on the whole service as
``assistant serve`` wires it: sessions made through the real dialog manager show up in the
charts' tables with the numbers ``metrics.compute`` gives; the audit page shows sign-ins,
narrows them by its filters and exports them as CSV; a viewer cannot read it."""

from __future__ import annotations

import asyncio
import csv
import datetime
import io
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from assistant.compose import Services
from assistant.events import Turn
from assistant.staff.audit import CSV_COLUMNS, AuditLog
from assistant.staff.metrics import compute
from testing.cafe_walk import cafe_walk
from testing.staff_console import running_console, sign_in

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Coroutine[Any, Any, Client]]
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")


@pytest.fixture
async def console(
    tmp_path: Path, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Services, Client]]:
    async with running_console(tmp_path / "data") as (app, services):
        yield services, await aiohttp_client(app)


def rows_of(page: str, table_id: str) -> list[list[str]]:
    """The cells of a table's body rows (tags dropped), as a staff member reads them."""
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


async def _say(services: Services, key: str, *texts: str) -> None:
    for text in texts:
        turn = Turn(session_key=key, text=text, language="en", channel="web")
        await services.manager.handle(turn)


async def test_charts_count_the_sessions_made_through_the_manager(
    console: tuple[Services, Client],
) -> None:
    services, client = console
    await _say(services, "web:one", "", "1", "Blue Bakery")
    await _say(services, "web:two", "", "1")
    await _say(services, "web:three", "")
    figures = await compute(services.store, days=7)
    assert figures.sessions == 3

    await sign_in(client, "vic")  # a viewer may look at the charts
    response = await client.get("/staff/charts?days=7&lang=en")
    assert response.status == 200
    page = await response.text()
    assert "3 sessions, 0 delivered" in page
    today = datetime.date.today().isoformat()
    assert rows_of(page, "days-table") == [[today, "web", "3", "0"]]
    rates = {row[0]: row[1:] for row in rows_of(page, "rates-table")}
    expected = {
        f.job_id or "(no job chosen)": [str(f.started), str(f.delivered), "0.0%"]
        for f in figures.funnels
    }
    assert rates == expected
    assert sum(int(started) for started, _, _ in rates.values()) == 3
    assert '<canvas data-chart="rates-data" role="img" aria-label="' in page
    assert "<svg" not in page, "the charts are Chart.js canvases, not hand-drawn SVG"


async def test_the_audit_page_shows_sign_ins_filters_them_and_exports_csv(
    console: tuple[Services, Client],
) -> None:
    _, client = console
    await sign_in(client, "vic")
    response = await client.get("/staff/audit", allow_redirects=False)
    assert response.status == 403, "a viewer must not read the audit log"
    await sign_in(client, "ana")

    page = await (await client.get("/staff/audit?lang=en")).text()
    rows = rows_of(page, "entries")
    who = [row[1] for row in rows if row[2] == "sign_in"]
    assert who[:2] == ["ana (admin)", "vic (viewer)"], "newest first"

    narrowed = rows_of(
        await (await client.get("/staff/audit?who=vic&action=sign_in")).text(), "entries"
    )
    assert [row[1] for row in narrowed] == ["vic (viewer)"]
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    later = rows_of(await (await client.get(f"/staff/audit?from={tomorrow}")).text(), "entries")
    assert later == [["No entries match."]]

    download = await client.get("/staff/audit.csv?who=vic")
    assert download.status == 200
    assert download.content_type == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(await download.text())))
    assert table[0] == list(CSV_COLUMNS)
    assert [(row[2], row[3], row[4]) for row in table[1:]] == [("vic", "viewer", "sign_in")]


async def test_what_the_audit_log_holds_is_shown_as_text_never_as_markup(
    console: tuple[Services, Client],
) -> None:
    services, client = console
    await AuditLog(services.store).record(
        "<img src=x>", "staff", "staff_message", detail={"text": "<script>alert(1)</script>"}
    )
    await sign_in(client, "ana")
    page = await (await client.get("/staff/audit?action=staff_message")).text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x&gt;" in page
    assert "<script>alert" not in page and "<img src=x>" not in page


async def test_a_delivered_session_counts_as_a_completion_of_its_job(
    console: tuple[Services, Client],
) -> None:
    services, client = console
    for text in cafe_walk():
        await _say(services, "web:done", text)
    await _say(services, "web:left", "", "1")
    async with asyncio.timeout(120):  # the template generation of the service's own worker
        while (await compute(services.store, days=7)).completions < 1:  # noqa: ASYNC110 - the figure is stored state
            await asyncio.sleep(0.1)

    await sign_in(client, "vic")
    page = await (await client.get("/staff/charts?days=30&lang=en")).text()
    assert "2 sessions, 1 delivered" in page
    assert rows_of(page, "rates-table") == [["cafe_page", "2", "1", "50.0%"]]
    today = datetime.date.today().isoformat()
    assert rows_of(page, "days-table") == [[today, "web", "2", "1"]]
