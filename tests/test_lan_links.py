"""Links and QR codes a phone can open: the LAN address when public_base_url is not set (issue 14).

Before, ``assistant serve`` on its defaults handed out ``http://127.0.0.1:8080/...``: on a phone
that is the phone itself. The tests run a real server with the product's default
(``lan_links`` on; the suite's conftest turns it off for everything else) and follow the link a
user gets from the LAN address, as a phone on the same network would.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from assistant.check.doctor import format_findings, run_checks
from assistant.check.links import check_links
from assistant.config import Settings, load_settings
from assistant.net import lan_address
from testing.cafe_walk import cafe_walk
from testing.network import lan_address as required_lan_address
from testing.web_page import free_port


def _hostname_addresses() -> list[str]:
    """What ``hostname -I`` lists: the machine's own addresses, found without our code."""
    result = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_the_lan_address_is_one_of_the_machines_own() -> None:
    address = required_lan_address()
    assert address in _hostname_addresses()
    assert not address.startswith("127.")


def test_links_use_the_lan_address_unless_told_otherwise() -> None:
    lan = required_lan_address()
    assert Settings(port=8080).base_url == f"http://{lan}:8080"
    assert Settings(host="0.0.0.0", port=81).base_url == f"http://{lan}:81"
    assert Settings(port=8080, lan_links=False).base_url == "http://127.0.0.1:8080"
    public = Settings(public_base_url="https://kiosk.example.org/")
    assert public.base_url == "https://kiosk.example.org"
    assert Settings(host="10.1.2.3").base_url == "http://10.1.2.3:8080"  # a chosen address
    settings = load_settings(config_path=None, environ={"ASSISTANT_LAN_LINKS": "false"})
    assert settings.base_url == "http://127.0.0.1:8080"


def test_assistant_check_says_which_address_phones_use() -> None:
    lan = lan_address()
    report = format_findings(run_checks(Settings(), (("links", check_links),)))
    assert f"phones and QR codes use http://{lan}:8080" in report
    alone = format_findings(check_links(Settings(lan_links=False)))
    assert alone.startswith("MISSING") and "only this machine can open them" in alone
    assert "set public_base_url" in alone


async def _walk_to_delivery(url: str) -> list[dict[str, object]]:
    """The café page typed through the web chat in English; the delivery's links."""
    answers = cafe_walk(greet=False)
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:

        async def say(message: dict[str, str]) -> list[dict[str, object]]:
            await ws.send_json(message)
            while True:
                data = json.loads((await ws.receive(timeout=60)).data)
                if data["type"] == "replies":
                    return list(data["replies"])

        await say({"type": "hello", "language": "en"})
        for text in answers:
            replies = await say({"type": "say", "text": text})
        for _ in range(60):
            delivered = [r for r in replies if r.get("kind") == "delivery"]
            if delivered:
                return list(delivered[0].get("links", []))  # type: ignore[arg-type]
            data = json.loads((await ws.receive(timeout=60)).data)
            if data["type"] == "replies":
                replies = list(data["replies"])
    raise AssertionError("no delivery")


def test_a_phone_on_the_network_opens_the_link_the_server_hands_out(tmp_path: Path) -> None:
    lan = required_lan_address()
    port = free_port()
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_LAN_LINKS": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        said: list[str] = []
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, f"the server stopped: {''.join(said)}"
            said.append(line)
            if "スマートフォンとQRコード" in line:
                break
        text = "".join(said)
        assert f"Phones and QR codes use http://{lan}:{port}" in text, text
        assert f"スマートフォンとQRコードは http://{lan}:{port} を使います" in text
        with urllib.request.urlopen(f"http://{lan}:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200, "the server answers on the LAN address too"
        links = asyncio.run(_walk_to_delivery(f"ws://127.0.0.1:{port}/ws"))
        assert links, "the delivery has links"
        for link in links:
            url = str(link["url"])
            assert url.startswith(f"http://{lan}:{port}/"), url
            with urllib.request.urlopen(url, timeout=10) as answer:
                assert answer.status == 200, url
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_wrong_lan_links_value_is_named(value: str) -> None:
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="ASSISTANT_LAN_LINKS"):
        load_settings(config_path=None, environ={"ASSISTANT_LAN_LINKS": value})
