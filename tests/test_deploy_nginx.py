"""deploy/nginx/assistant.conf in front of a real ``assistant serve`` (issue 17, deployment).

Debian's nginx runs the repository's file, with only its ports, certificate paths and site
folder replaced, under a temporary prefix and a self-signed certificate for 127.0.0.1. Through
it: the chat page and its script load, a whole café job is walked over the websocket to its
delivery and preview, a kiosk screen is refused (nginx tells the service the request was
forwarded), /metrics is closed, bodies are limited as the service limits them, and a
published site is served from the site folder by nginx itself, still after the service stops.
With ``trusted_proxies`` as deploy/systemd/assistant.env.example sets it, two clients (real
connections from 127.0.0.2 and 127.0.0.3) have their own budgets of new sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.config import PROJECT_ROOT
from assistant.server import PREVIEW_POLICY
from assistant.staff.publishing import Publisher
from assistant.staff.review import approve
from assistant.store.review import SQLiteReviewStore
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk
from testing.nginx import prepare

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ENV_EXAMPLE = PROJECT_ROOT / "deploy" / "systemd" / "assistant.env.example"
NEW_SESSIONS = 3  # per address and window, so a test reaches the limit quickly


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _example_setting(name: str) -> str:
    """A setting as the systemd unit's example environment file gives it (not commented out)."""
    found = re.search(rf"^{name}=(.*)$", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE)
    assert found is not None, f"{ENV_EXAMPLE.name} no longer sets {name}"
    return found.group(1).strip()


async def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until something accepts on ``port``; fails at once if the process died instead."""
    async with asyncio.timeout(120):
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            await asyncio.sleep(0.1)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A real service on 127.0.0.1 and the repository's nginx configuration in front of it."""
    ports = {"service": _free_port(), "http": _free_port(), "https": _free_port()}
    site, prefix = tmp_path / "site", tmp_path / "nginx"
    nginx_args, cert = prepare(prefix, ports, site)
    base = f"https://127.0.0.1:{ports['https']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_DATA_DIR=str(tmp_path / "data"), ASSISTANT_SITE_DIR=str(site),
        ASSISTANT_PORT=str(ports["service"]), ASSISTANT_PUBLIC_BASE_URL=base,
        ASSISTANT_LLM_ENABLED="false", ASSISTANT_WEB_VOICE="false", ASSISTANT_WARM_UP="false",
        ASSISTANT_LANGUAGE="en", ASSISTANT_CHROMIUM=str(tmp_path / "no-chromium"),
        ASSISTANT_TRUSTED_PROXIES=_example_setting("ASSISTANT_TRUSTED_PROXIES"),
        ASSISTANT_NEW_SESSIONS_PER_ADDRESS=str(NEW_SESSIONS),
    )  # fmt: skip
    checked = subprocess.run([*nginx_args, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    service_log, nginx_log = tmp_path / "serve.log", prefix / "error.log"
    with service_log.open("wb") as log:
        service = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve"], env=env, cwd=tmp_path,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    nginx = subprocess.Popen(nginx_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        asyncio.run(_wait_port(ports["service"], service, service_log))
        asyncio.run(_wait_port(ports["https"], nginx, nginx_log))
        yield {"base": base, "ports": ports, "site": site, "cert": cert, "service": service,
               "data": tmp_path / "data", "log": service_log}  # fmt: skip
    finally:
        for process in (nginx, service):
            if process.poll() is None:
                process.terminate()
                process.wait(30)


@contextlib.asynccontextmanager
async def _client(cert: Path, source: str = "127.0.0.1") -> AsyncIterator[aiohttp.ClientSession]:
    """A client that trusts the test certificate and nothing else, and follows no redirects;
    its connections come from ``source`` (any 127.x address is this machine's)."""
    context = ssl.create_default_context(cafile=str(cert))
    connector = aiohttp.TCPConnector(ssl=context, local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        yield http


async def _replies(ws: aiohttp.ClientWebSocketResponse, seen: list[dict[str, Any]]) -> list[Any]:
    """The next replies the service sends; other messages are kept in ``seen``."""
    async with asyncio.timeout(60):
        while True:
            message = await ws.receive()
            assert message.type == aiohttp.WSMsgType.TEXT, message
            data = json.loads(message.data)
            seen.append(data)
            if data["type"] == "replies":
                return list(data["replies"])
            assert data["type"] != "error", data


async def _walk_cafe(http: aiohttp.ClientSession, base: str) -> tuple[str, list[Any]]:
    """The café page typed over the websocket through nginx: the session key and delivery."""
    origin = {"Origin": base}
    async with http.ws_connect(f"wss{base[5:]}/ws", headers=origin) as ws:
        await ws.send_json({"type": "hello", "language": "en"})
        seen: list[dict[str, Any]] = []
        replies = await _replies(ws, seen)
        assert replies[-1]["kind"] == "menu", replies
        for text in cafe_walk(shop="Harbour Light", greet=False):
            await ws.send_json({"type": "say", "text": text})
            replies = await _replies(ws, seen)
        while not any(reply["kind"] == "delivery" for reply in replies):
            replies = await _replies(ws, seen)
        key = next(m["key"] for m in seen if m["type"] == "session" and m.get("key"))
        return key, next(reply for reply in replies if reply["kind"] == "delivery")["links"]


async def _kiosk_hello(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> dict[str, Any]:
    """What a page asking to watch the kiosk screen is told first."""
    async with http.ws_connect(url, headers=headers) as ws:
        await ws.send_json({"type": "hello", "language": "en", "kiosk": "local"})
        async with asyncio.timeout(30):
            while True:
                data: dict[str, Any] = json.loads(await ws.receive_str())
                if data["type"] in ("watching", "error"):
                    return data


async def _publish(data_dir: Path, site: Path, key: str) -> tuple[str, Path]:
    """Approve and publish the session's artifact as staff would (the real publisher, on the
    service's own database): its slug and the published folder."""
    store = SQLiteStore(data_dir / "assistant.db")
    await store.open()
    try:
        session = await store.load(key)
        assert session is not None and session.artifact_id
        reviews = SQLiteReviewStore(store)
        await approve(reviews, session.artifact_id, "desk")
        published = await Publisher(reviews, site).publish(session.artifact_id, "desk")
    finally:
        await store.close()
    return published.slug, published.folder


def test_nginx_proxies_the_chat_and_its_websocket_and_serves_published_sites(
    deployment: dict[str, Any],
) -> None:
    asyncio.run(_through_nginx(deployment))


async def _through_nginx(deployment: dict[str, Any]) -> None:
    base, ports = deployment["base"], deployment["ports"]
    direct = f"http://127.0.0.1:{ports['service']}"
    async with _client(deployment["cert"]) as http:
        async with http.get(f"{base}/") as page:
            body = await page.text()
            assert page.status == 200, body[:500]
            assert "Content-Security-Policy" in page.headers  # the service's own headers
            assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        script = re.search(r'src="(/static/web/[^"]+)"', body)
        assert script is not None, body[:1000]
        async with http.get(f"{base}{script.group(1)}") as asset:
            assert asset.status == 200 and len(await asset.read()) > 100
        plain = f"http://127.0.0.1:{ports['http']}/?code=X"
        async with http.get(plain, allow_redirects=False) as moved:
            assert moved.status == 301
            assert moved.headers["Location"] == "https://127.0.0.1/?code=X"

        key, links = await _walk_cafe(http, base)
        preview = next(link["url"] for link in links if link["kind"] == "preview")
        assert preview.startswith(f"{base}/p/"), links
        async with http.get(preview) as shown:
            assert shown.status == 200 and "Harbour Light" in await shown.text()

        # nginx says the request was forwarded, so the service does not take it for the kiosk.
        refused = await _kiosk_hello(http, f"wss{base[5:]}/ws", {"Origin": base})
        assert refused["type"] == "error", refused
        # The kiosk's own browser, on the machine, names the service as localhost.
        local = f"localhost:{ports['service']}"
        headers = {"Origin": f"http://{local}", "Host": local}
        watching = await _kiosk_hello(http, f"ws{direct[4:]}/ws", headers)
        assert watching["type"] == "watching", watching
        async with http.get(f"{base}/metrics") as metrics:
            assert metrics.status == 404
        async with http.get(f"{direct}/metrics") as metrics:
            assert metrics.status == 200

        # Bodies: 2 MB anywhere, as the service; a picture may be larger (the service
        # refuses this one for having no upload token, after nginx let all of it through).
        async with http.post(f"{base}/healthz", data=b"x" * (3 * 1024 * 1024)) as large:
            assert large.status == 413 and "nginx" in (await large.text())
        headers = {"Origin": base, "Content-Type": "image/jpeg"}
        photo = b"x" * (10 * 1024 * 1024 + 4096)
        async with http.post(f"{base}/photo", data=photo, headers=headers) as sent:
            assert sent.status == 403, await sent.text()

        slug, folder = await _publish(deployment["data"], deployment["site"], key)
        expected = (folder / "index.html").read_bytes()
        async with http.get(f"{base}/site/{slug}/") as site:
            assert site.status == 200 and await site.read() == expected
            assert site.headers["Content-Security-Policy"] == PREVIEW_POLICY
            assert site.headers["X-Content-Type-Options"] == "nosniff"
        async with http.get(f"{direct}/site/{slug}/") as own:
            assert await own.read() == expected  # the same page the service would serve
        async with http.get(f"{base}/site/{slug}", allow_redirects=False) as folder_form:
            assert folder_form.status == 301
            assert folder_form.headers["Location"] == f"/site/{slug}/"
        hidden = f"{base}/site/.versions/{slug}/1/index.html"
        async with http.get(hidden) as versions:
            assert versions.status == 404

        # Served by nginx from the folder: the site stays up while the service is down.
        deployment["service"].terminate()
        deployment["service"].wait(30)
        async with http.get(f"{base}/site/{slug}/") as site:
            assert site.status == 200 and await site.read() == expected
        async with http.get(f"{base}/") as gone:
            assert gone.status == 502


def test_clients_through_nginx_have_their_own_budgets_of_new_sessions(
    deployment: dict[str, Any],
) -> None:
    asyncio.run(_two_clients(deployment))


async def _hello(http: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    """What a new page is told first: its session, or why there is none."""
    async with http.ws_connect(f"wss{base[5:]}/ws", headers={"Origin": base}) as ws:
        await ws.send_json({"type": "hello", "language": "en"})
        async with asyncio.timeout(30):
            while True:
                data: dict[str, Any] = json.loads(await ws.receive_str())
                if data["type"] in ("session", "error"):
                    return data


async def _two_clients(deployment: dict[str, Any]) -> None:
    base, cert = deployment["base"], deployment["cert"]
    async with _client(cert, "127.0.0.2") as first, _client(cert, "127.0.0.3") as second:
        for _ in range(NEW_SESSIONS):
            assert (await _hello(first, base))["type"] == "session"
        refused = await _hello(first, base)
        assert refused["code"] == "too_many_sessions", refused
        # Without trusted_proxies the service would see nginx (127.0.0.1) for both.
        for _ in range(NEW_SESSIONS):
            assert (await _hello(second, base))["type"] == "session"
        assert (await _hello(second, base))["code"] == "too_many_sessions"
    store = SQLiteStore(deployment["data"] / "assistant.db")
    await store.open()
    try:
        rows = await store.run(
            lambda: list(store.db.query("select address from attempts where kind = 'new_session'"))
        )
    finally:
        await store.close()
    counted = sorted(row["address"] for row in rows)
    assert counted == ["127.0.0.2"] * NEW_SESSIONS + ["127.0.0.3"] * NEW_SESSIONS
