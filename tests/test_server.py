"""The server: /healthz in-process, and a real `assistant serve` process answering over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.catalog import JobCatalog
from assistant.server import init_app
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk

ROOT = Path(__file__).resolve().parent.parent


async def test_healthz_reports_database_jobs_and_queue(
    store: SQLiteStore, catalog: JobCatalog, manager: DialogManager
) -> None:
    for text in cafe_walk(shop="Blue", items="bread", hours="9-5"):
        await manager.handle(Turn(session_key="k", text=text, language="en", channel="x"))
    async with TestClient(TestServer(init_app(store, catalog))) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["jobs_loaded"] == len(catalog.jobs) and body["job_errors"] == []
    assert body["queue_depth"] == 1
    assert body["version"]


async def test_healthz_says_503_when_the_database_is_gone(
    catalog: JobCatalog, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite")  # never opened
    async with TestClient(TestServer(init_app(store, catalog))) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["database"] == "failing"
    await store.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_assistant_serve_starts_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                assert process.poll() is None, process.stdout.read()
                time.sleep(0.2)
        assert body is not None, "the server never answered"
        assert body["status"] == "ok" and body["jobs_loaded"] >= 6
        assert (tmp_path / "data" / "assistant.db").is_file()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0, "SIGTERM stops the server cleanly"


def test_bare_assistant_with_a_wrong_setting_names_the_key(tmp_path: Path) -> None:
    env = {**os.environ, "ASSISTANT_PORT": "eighty"}
    result = subprocess.run(
        [sys.executable, "-m", "assistant"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "ASSISTANT_PORT: 'eighty' is not allowed" in result.stderr
