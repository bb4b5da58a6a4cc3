"""``assistant serve`` under speech settings: the web chat listens with the engines the
settings choose, not the defaults (a bug once: the served kit was built without settings)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import aiohttp

from assistant.config import Settings

SERVE_START_S = 60.0  # generous: the machine may be busy with other work


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _next(socket_: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next message of ``kind`` the page receives."""
    async with asyncio.timeout(30):
        while True:
            message = json.loads(await socket_.receive_str())
            if message["type"] == kind:
                return message


async def _listen_once(port: int) -> dict[str, Any]:
    """Open a page in English, press the microphone button, and return the first answer to it."""
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with asyncio.timeout(SERVE_START_S):
            while True:
                try:
                    async with http.get(f"{url}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
        async with http.ws_connect(f"{url}/ws") as page:
            await page.send_json({"type": "hello", "language": "en"})
            await _next(page, "replies")
            await page.send_json({"type": "audio_start", "mode": "once"})
            async with asyncio.timeout(30):
                while True:
                    message = json.loads(await page.receive_str())
                    if message["type"] in ("notice", "listening"):
                        return message


def test_serve_listens_with_the_recogniser_the_settings_choose(tmp_path: Path) -> None:
    """With ``stt_engine_en = none`` a page's microphone gets the no-recogniser sentence,
    although PocketSphinx (the default for English) is installed here."""
    assert find_spec("pocketsphinx") is not None, "the test needs the default English recogniser"
    port = _free_port()
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_STT_ENGINE_EN": "none",
        "ASSISTANT_LLM_ENABLED": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        first = asyncio.run(_listen_once(port))
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert first["type"] == "notice", (first, output)
    assert first["code"] == "no_recognizer"


def test_the_served_kit_uses_the_configured_folders_and_engines(tmp_path: Path) -> None:
    """The kit ``serve`` shares between the web chat and Telegram follows the settings."""
    from assistant.compose import Services

    settings = Settings(
        data_dir=tmp_path / "data",
        models_dir=tmp_path / "no-models",
        stt_engine_en="none",
        llm_enabled=False,
    )
    kit = Services.build(settings).voice_kit()
    assert kit is not None
    assert kit.recognizer_for("en") is None
    assert kit.recognizer_for("ja") is None  # no Vosk model in the empty models folder
