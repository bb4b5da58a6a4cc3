"""The charts screen drawn with Chart.js and the confidence per question (issue 16, part K2),
on the whole service as ``assistant serve`` wires it: the page's JSON blocks (what Chart.js
draws) and its tables hold the numbers ``metrics.compute`` gives for sessions spoken and
typed through the real dialog manager; Chart.js is served by the console to a signed-in
account, with a long cache, and a missing bundle answers 404 while the tables still stand."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from assistant.compose import Services
from assistant.events import Turn
from assistant.staff.metrics import compute
from channels.staff import vendor
from testing.cafe_walk import cafe_walk
from testing.staff_console import running_console, sign_in
from tests.test_staff_charts_audit import rows_of

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Coroutine[Any, Any, Client]]
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")


@pytest.fixture
async def console(
    tmp_path: Path, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Services, Client]]:
    async with running_console(tmp_path / "data") as (app, services):
        yield services, await aiohttp_client(app)


async def speak_and_type(services: Services) -> None:
    """Kai speaks the shop's name at 0.95 and the menu at 0.5; Lu speaks the shop's name at
    0.7 and stops; Bo types both (typed answers carry no confidence)."""
    walk = cafe_walk(until="opening_hours")
    shop, menu = walk.index("Blue Bakery"), walk.index("bread, cake")
    heard = {"kiosk:kai": {shop: 0.95, menu: 0.5}, "kiosk:lu": {shop: 0.7}}
    for key, levels in heard.items():
        for n, text in enumerate(walk[: max(levels) + 1]):
            turn = Turn(
                key, text=text, language="en", channel="kiosk", confidence=levels.get(n, 0.9)
            )
            await services.manager.handle(turn)
    for text in walk:
        await services.manager.handle(Turn("web:bo", text=text, language="en", channel="web"))


def json_block(page: str, block_id: str) -> dict[str, Any]:
    """A chart's data as the page gives it to ``charts.js``."""
    found = re.search(
        rf'<script type="application/json" id="{block_id}">(.*?)</script>', page, re.S
    )
    assert found, f"no JSON block {block_id}"
    return dict(json.loads(found.group(1)))


async def test_the_confidence_chart_and_table_hold_the_figures(
    console: tuple[Services, Client],
) -> None:
    services, client = console
    await speak_and_type(services)
    (funnel,) = (await compute(services.store, days=7)).funnels
    steps = {q.question_id: q for q in funnel.questions}
    assert (steps["shop_name"].spoken, steps["shop_name"].low_share) == (2, 0.0)
    assert (steps["menu_items"].spoken, steps["menu_items"].mean_confidence) == (1, 0.5)

    await sign_in(client, "vic")
    page = await (await client.get("/staff/charts?days=7&lang=en")).text()
    table = {row[0]: row[1:] for row in rows_of(page, "heard-table-1")}
    assert table["shop_name"] == ["0", "2", "82.5%", "0.0%"]
    assert table["menu_items"] == ["0", "1", "50.0%", "100.0%"]
    assert table["opening_hours"] == ["0", "0", "-", "-"], "only Bo reached it, typing"

    heard = json_block(page, "heard-data-1")
    assert heard["kind"] == "bar" and heard["unit"] == "%"
    mean, low = heard["series"]
    assert [series["name"] for series in heard["series"]] == ["mean confidence", "read back (<0.6)"]
    for index, question in enumerate(heard["labels"]):
        shown = table[question]
        assert (mean["data"][index], low["data"][index]) == tuple(
            None if cell == "-" else float(cell.rstrip("%")) for cell in shown[2:]
        )
    assert 'aria-label="Bar chart: mean recognition confidence' in page
    assert "shop_name: mean confidence 82.5%, read back (&lt;0.6) 0%" in page

    steps_chart = json_block(page, "funnel-data-1")
    funnel_rows = {row[0]: row[1:] for row in rows_of(page, "funnel-table-1")}
    stopped, reasked = steps_chart["series"]
    assert {
        q: [str(stopped["data"][i]), str(reasked["data"][i])]
        for i, q in enumerate(steps_chart["labels"])
    } == {q: [row[1], row[2]] for q, row in funnel_rows.items()}

    timings = json_block(page, "timings-data")
    p50, p90 = timings["series"]
    assert [[name, "-" if a is None else f"{a:.1f}", "-" if b is None else f"{b:.1f}"]
            for name, a, b in zip(timings["labels"], p50["data"], p90["data"], strict=True)] == [
        [row[0], row[2], row[3]] for row in rows_of(page, "timings-table")
    ]  # fmt: skip
    assert timings["labels"][:2] == ["From the first word to the delivery", "Generation time"]

    per_day = json_block(page, "per-day-data")
    assert per_day["kind"] == "line"
    assert [series["data"] for series in per_day["series"]] == [[3], [0]]


async def test_japanese_page_names_the_confidence_columns(
    console: tuple[Services, Client],
) -> None:
    services, client = console
    await speak_and_type(services)
    await sign_in(client, "vic")
    page = await (await client.get("/staff/charts?days=7&lang=ja")).text()
    assert "質問ごとの聞き直しと認識の確信度" in page
    assert json_block(page, "heard-data-1")["series"][0]["name"] == "平均確信度"


async def test_chart_js_is_served_to_a_signed_in_account_with_a_long_cache(
    console: tuple[Services, Client],
) -> None:
    _, client = console
    signed_out = await client.get("/staff/vendor/chart.umd.js", allow_redirects=False)
    assert signed_out.status in (303, 401)
    await sign_in(client, "vic")
    page = await (await client.get("/staff/charts")).text()
    src = re.search(r'<script src="(/staff/vendor/chart\.umd\.js[^"]*)"', page)
    assert src and src.group(1).endswith("?v=4.6.1"), "the URL names the pinned version"
    response = await client.get(src.group(1))
    assert response.status == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.content_type == "text/javascript"
    body = await response.read()
    assert b"Chart.js v4.6.1" in body[:400]


async def test_without_chart_js_the_route_is_404_and_the_tables_remain(
    console: tuple[Services, Client], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, client = console
    await speak_and_type(services)
    monkeypatch.setattr(vendor, "NODE_MODULES", tmp_path / "no-node-modules")
    await sign_in(client, "vic")
    assert (await client.get("/staff/vendor/chart.umd.js")).status == 404
    page = await (await client.get("/staff/charts?days=7&lang=en")).text()
    assert rows_of(page, "heard-table-1")[0][0] == "shop_name"
    assert [row[1:] for row in rows_of(page, "days-table")] == [
        ["kiosk", "2", "0"],
        ["web", "1", "0"],
    ]
