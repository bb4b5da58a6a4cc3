"""Two whole services composed from settings with one ``redis_url`` over one data folder (as
two ``assistant serve`` instances behind nginx): the composition root wires the shared lock
and the change news, and a page on one instance follows what a page on the other does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from assistant.cluster.redis_locks import RedisSessionLocks
from testing.redis_server import redis_server
from testing.web_page import web_server


async def _next(socket: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        received = await socket.receive(timeout=30)
        assert received.type == aiohttp.WSMsgType.TEXT, received
        message = json.loads(received.data)
        if message["type"] == kind:
            return message


async def test_two_services_on_one_folder_follow_each_other_through_redis(
    tmp_path: Path,
) -> None:
    async with (
        redis_server() as url,
        web_server(tmp_path, language="en", redis_url=url) as a,
        web_server(tmp_path, language="en", redis_url=url) as b,
        aiohttp.ClientSession() as http,
    ):
        assert a.services.cluster is not None and b.services.cluster is not None
        assert isinstance(a.services.manager._locks, RedisSessionLocks)  # noqa: SLF001
        b.channel.hub.page_poll_interval = 3600.0  # nothing but the news may bring A's turn
        on_a = await http.ws_connect(a.url + "/ws")
        await on_a.send_json({"type": "hello", "language": "en"})
        summary = await _next(on_a, "session")
        await _next(on_a, "replies")
        on_b = await http.ws_connect(b.url + "/ws")
        await on_b.send_json({"type": "hello", "code": summary["code"]})
        assert (await _next(on_b, "session"))["key"] == summary["key"]
        await _next(on_b, "replies")
        # B's greeting of the continued session is a turn on B: A's page is shown it too.
        assert (await _next(on_a, "replies"))["replies"][0]["kind"] == "info"
        await on_a.send_json({"type": "say", "text": "4"})
        assert (await _next(on_a, "replies"))["replies"][-1]["question_id"] == "quiz_title"
        shown = await _next(on_b, "replies")
        assert shown["replies"][-1]["question_id"] == "quiz_title"
        await on_b.send_json({"type": "say", "text": "Animal quiz"})
        assert (await _next(on_b, "replies"))["replies"][-1]["question_id"] == "topic"
        assert (await _next(on_a, "replies"))["replies"][-1]["question_id"] == "topic"
        await on_a.close()
        await on_b.close()


async def test_a_page_open_on_one_instance_is_kept_by_the_other_instances_clean_up(
    tmp_path: Path,
) -> None:
    async with (
        redis_server() as url,
        web_server(tmp_path, language="en", redis_url=url) as a,
        web_server(tmp_path, language="en", redis_url=url) as b,
        aiohttp.ClientSession() as http,
    ):
        assert a.services.cluster is not None
        on_a = await http.ws_connect(a.url + "/ws")
        await on_a.send_json({"type": "hello", "language": "en"})
        key = (await _next(on_a, "session"))["key"]
        await _next(on_a, "replies")
        # B has no turn and no page of this session; A's page keeps it in use for B's
        # clean-up from A's next periodic write on (every 20 s: a session only days idle can
        # be removed, and its page has been open far longer than that).
        assert key not in b.services.busy_here()
        await a.services.cluster.busy.write()
        assert key in await b.services.busy_sessions()
        await on_a.close()
        await a.services.cluster.busy.stop()  # A no longer writes: as if it died...
        await a.services.cluster.busy.client.zadd(
            a.services.cluster.busy.key, {key: 0.0}, xx=True
        )  # ...and its entry's time ran out
        assert key not in await b.services.busy_sessions()
