"""Slow uploads to the console (issue 16): the knowledge upload reads its own multipart body
(past the service's body deadline), so the console's CSRF check must not wait on it for ever.
Sent over a real socket, a byte at a time as a slow client would: someone signed out is
refused before the body is read; a signed-in admin's body that never ends gets 408 within
the service's body time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from channels.staff.guard import CONFIG_KEY
from testing.staff_console import running_console, session_cookie, sign_in

BOUNDARY = "slowslowslow"
HEAD = (
    "POST /staff/knowledge/upload?lang=en HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
    "Content-Length: 100000\r\n"
    "{cookie}"
    "\r\n"
)


async def _status_of_slow_upload(port: int, cookie: str) -> int:
    """Send the headers and the body's first bytes, then nothing more; the status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        header = f"Cookie: staff_session={cookie}\r\n" if cookie else ""
        writer.write(HEAD.format(cookie=header).encode())
        writer.write(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=".encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout=60)
        return int(status.split()[1])
    finally:
        writer.close()


async def test_a_slow_upload_is_refused_signed_out_and_cut_off_signed_in(tmp_path: Path) -> None:
    async with running_console(tmp_path / "data") as (app, _):
        console = app._subapps[0]  # the console's own settings: a short body time
        console[CONFIG_KEY] = replace(console[CONFIG_KEY], body_timeout_s=1.0)
        async with TestClient(TestServer(app)) as client:
            port = client.server.port
            assert port is not None
            # Signed out: 403 at once, whatever the body is doing (it is never read).
            assert await _status_of_slow_upload(port, "") == 403
            await sign_in(client, "ana")
            cookie = session_cookie(client)
            assert cookie
            # Signed in: the form is read within the body time, then given up on.
            assert await _status_of_slow_upload(port, cookie) == 408
