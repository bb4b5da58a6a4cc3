"""Generation on Celery with Redis (issue 17): a real ``redis-server``, ``assistant worker``
as a real process, the service's dialog in this one hearing the worker over pub/sub.

The worker builds with the production generators (the café page enriched by the model,
which is an in-process server speaking Ollama's HTTP API); a worker killed with SIGKILL in
the middle of a build leaves its row claimed and its message unacknowledged, and a new
worker builds it: the user hears exactly one delivery, and one artifact is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest

from assistant.compose import Services
from assistant.config import load_settings
from assistant.events import Reply, ReplyKind, SessionState, Turn
from testing.cafe_walk import cafe_walk
from testing.celery_worker import held
from testing.ollama import FakeOllama
from testing.redis_server import redis_binary, redis_server

pytestmark = [
    pytest.mark.slow,  # redis-server and worker processes
    pytest.mark.skipif(redis_binary() is None, reason="needs Debian's redis-server"),
]

ROOT = Path(__file__).resolve().parent.parent
MODEL = "qwen2.5:3b"
LEASE_S = 10.0  # a claim older than this belongs to a dead worker (ASSISTANT_GENERATION_LEASE_S)
WAIT_S = 120.0  # a busy two-core machine: worker start-up, Chromium's check of the page
GOOD_PAGE = {
    "headline": "Fresh bread every morning",
    "tagline": "Baked by hand at Blue Bakery",
    "about": "Blue Bakery bakes bread and cakes every day. Come and say hello.",
    "highlights": ["Warm bread from 9", "Cakes for every day", "A friendly team"],
    "call_to_action": "Drop in today!",
}


class Heard:
    """The session's channel listener: every reply pushed to it, in order."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self._changed = asyncio.Condition()

    async def __call__(self, key: str, replies: list[Reply]) -> None:
        async with self._changed:
            self.replies.extend(replies)
            self._changed.notify_all()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), WAIT_S)

    def of_kind(self, kind: ReplyKind) -> list[Reply]:
        return [reply for reply in self.replies if reply.kind == kind]


def _env(tmp_path: Path, redis_url: str, ollama_url: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASSISTANT_")}
    env.update({
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_REDIS_URL": redis_url,
        "ASSISTANT_LANGUAGE": "en", "ASSISTANT_WARM_UP": "false",
        "ASSISTANT_GENERATION_LEASE_S": str(LEASE_S), "ASSISTANT_LOG_LEVEL": "info",
    })  # fmt: skip
    if ollama_url is None:
        env["ASSISTANT_LLM_ENABLED"] = "false"
    else:  # the worker writes with the model; the dialog in this process needs none
        env.update({"ASSISTANT_LLM_BACKEND": "ollama", "ASSISTANT_OLLAMA_HOST": ollama_url,
                    "ASSISTANT_OLLAMA_MODEL": MODEL})  # fmt: skip
    return env


@contextlib.asynccontextmanager
async def _service(env: dict[str, str]) -> AsyncIterator[tuple[Services, Heard]]:
    """The service's side, as ``assistant serve`` builds it, with a listener on "test"."""
    services = Services.build(load_settings(None, environ=env))
    heard = Heard()
    services.manager.add_listener("test", heard)  # before start: its catch-up tells it
    await services.start()
    try:
        yield services, heard
    finally:
        await services.stop()


async def _start(
    command: Sequence[str], env: dict[str, str], log: Path
) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, *command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _confirm(services: Services, key: str) -> None:
    for text in cafe_walk():
        await services.manager.handle(Turn(key, text=text, language="en", channel="test"))
    session = await services.store.load(key)
    assert session is not None and session.state == SessionState.GENERATING


def _rows(database: Path, key: str) -> tuple[list[tuple[str, int]], int]:
    """The session's generation rows (status, attempts) and its stored artifacts."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        rows = conn.execute(
            "SELECT status, attempts FROM generations WHERE session_key = ?", (key,)
        ).fetchall()
        artifacts = conn.execute(
            "SELECT count(*) FROM artifacts WHERE session_key = ?", (key,)
        ).fetchone()[0]
    return [(str(status), int(attempts)) for status, attempts in rows], int(artifacts)


async def _broker_idle(redis_url: str) -> None:
    """Until no build message waits in the broker or is held unacknowledged by a worker."""
    import redis.asyncio as redis

    client = redis.from_url(redis_url)
    try:
        async with asyncio.timeout(WAIT_S):
            while True:
                waiting = 0
                async for name in client.scan_iter("generation*"):
                    if await client.type(name) == b"list":
                        waiting += await client.llen(name)
                if waiting == 0 and await client.hlen("unacked") == 0:
                    return
                await asyncio.sleep(0.2)
    finally:
        await client.aclose()


async def _until_built(database: Path, key: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while _rows(database, key)[0] != [("done", 1)]:  # noqa: ASYNC110 - another process's
            await asyncio.sleep(0.1)


async def _until_held(gate: Path, count: int) -> None:
    async with asyncio.timeout(WAIT_S):
        while len(held(gate)) < count:  # noqa: ASYNC110 - another process's files
            await asyncio.sleep(0.05)


async def test_a_confirmed_cafe_page_is_built_by_the_worker_and_delivered(tmp_path: Path) -> None:
    key = "test:cafe"
    async with redis_server() as url, FakeOllama(models=[MODEL]) as ollama:
        ollama.script(MODEL, json.dumps(GOOD_PAGE))
        env = _env(tmp_path, url)
        async with _service(env) as (services, heard):
            worker = await _start(
                ["-m", "assistant", "worker", "--concurrency", "1"],
                _env(tmp_path, url, ollama.url), tmp_path / "worker.log",
            )  # fmt: skip
            try:
                await _confirm(services, key)
                await heard.until(lambda: bool(heard.of_kind(ReplyKind.DELIVERY)))
            finally:
                await _stop(worker)
            session = await services.store.load(key)
            assert session is not None and session.state == SessionState.DELIVERED
            artifact = await services.store.artifact(session.artifact_id or "")
    assert artifact is not None
    # The worker's model wrote the page's words, and the user watched it write.
    page = (Path(artifact.folder) / "index.html").read_text(encoding="utf-8")
    assert "Fresh bread every morning" in page and "Drop in today!" in page
    stages = [reply.progress.stage for reply in heard.of_kind(ReplyKind.PROGRESS) if reply.progress]
    assert stages[:2] == ["writing", "checking"], stages
    delivered_at = heard.replies.index(heard.of_kind(ReplyKind.DELIVERY)[0])
    assert all(heard.replies.index(r) < delivered_at for r in heard.of_kind(ReplyKind.PROGRESS))
    delivery = heard.of_kind(ReplyKind.DELIVERY)[0]
    assert any(f"/p/{artifact.token}/" in link.url for link in delivery.links)
    rows, artifacts = _rows(tmp_path / "data" / "assistant.db", key)
    assert rows == [("done", 1)] and artifacts == 1


async def test_a_worker_killed_mid_build_is_replaced_and_the_page_delivered_once(
    tmp_path: Path,
) -> None:
    key = "test:killed"
    gate = tmp_path / "gate"
    gate.mkdir()
    async with redis_server() as url:
        env = _env(tmp_path, url)
        async with _service(env) as (services, heard):
            gated = ["-m", "testing.celery_worker", str(gate)]
            first = await _start(gated, env, tmp_path / "worker-1.log")
            second = None
            try:
                await _confirm(services, key)
                await _until_held(gate, 1)  # the first worker claimed it and is building
                first.send_signal(signal.SIGKILL)
                assert await first.wait() == -signal.SIGKILL
                (gate / "open").touch()
                second = await _start(gated, env, tmp_path / "worker-2.log")
                await heard.until(lambda: bool(heard.of_kind(ReplyKind.DELIVERY)))
                # Every message about it, the killed worker's too, was taken and acknowledged.
                await _broker_idle(url)
            finally:
                await _stop(first)
                if second is not None:
                    await _stop(second)
            sent = services.workers.dispatch.sent if services.workers else 0
    assert len(heard.of_kind(ReplyKind.DELIVERY)) == 1, "delivered exactly once"
    rows, artifacts = _rows(tmp_path / "data" / "assistant.db", key)
    assert rows == [("done", 2)], "claimed by the killed worker, then built by the new one"
    assert artifacts == 1
    assert first.pid is not None and second is not None
    assert [mark.rsplit("-", 1)[1] for mark in held(gate)] == sorted(
        [str(first.pid), str(second.pid)]
    ), "each worker reached the build"
    assert sent >= 1


async def test_a_delivery_no_instance_heard_is_told_when_one_starts(tmp_path: Path) -> None:
    key = "test:unheard"
    database = tmp_path / "data" / "assistant.db"
    worker_command = ["-m", "assistant", "worker", "--concurrency", "1"]
    async with redis_server() as url:
        env = _env(tmp_path, url)
        async with _service(env) as (services, _):
            await _confirm(services, key)
            assert services.workers is not None
            await services.workers.dispatch.send_due()  # sent (if the wake has not yet)
        # No instance listens: the worker's message about the build reaches no one.
        worker = await _start(worker_command, env, tmp_path / "worker.log")
        try:
            await _until_built(database, key)
        finally:
            await _stop(worker)
        async with _service(env) as (services, heard):
            await heard.until(lambda: bool(heard.of_kind(ReplyKind.DELIVERY)))
            session = await services.store.load(key)
            assert session is not None and session.state == SessionState.DELIVERED
            # The next sweep finds nothing more to tell.
            assert services.workers is not None
            assert await services.workers.listener.catch_up() == 0
    assert len(heard.of_kind(ReplyKind.DELIVERY)) == 1


async def test_a_job_whose_message_was_never_sent_is_sent_by_the_next_start(
    tmp_path: Path,
) -> None:
    key = "test:unsent"
    async with redis_server() as url:
        env = _env(tmp_path, url)
        worker = await _start(
            ["-m", "assistant", "worker", "--concurrency", "1"], env, tmp_path / "worker.log"
        )
        try:
            async with _service(env) as (services, _):
                assert services.workers is not None
                await services.workers.dispatch.stop()  # as if it crashed after the commit
                services.manager.on_enqueue = None
                await _confirm(services, key)
                assert services.workers.dispatch.sent == 0
            async with _service(env) as (services, heard):
                await heard.until(lambda: bool(heard.of_kind(ReplyKind.DELIVERY)))
                assert services.workers is not None and services.workers.dispatch.sent == 1
        finally:
            await _stop(worker)
    assert _rows(tmp_path / "data" / "assistant.db", key) == ([("done", 1)], 1)


async def test_a_catch_up_that_never_ends_does_not_hold_back_the_sweep(tmp_path: Path) -> None:
    """The relay's catch-up delivers builds whose sessions still wait, each under its
    session's lock; one that never returns (a delivery stuck) must not stop the sweep that
    sends rows whose message was lost (issue 17's cluster bench once hung so)."""
    key = "test:swept"
    async with redis_server() as url:
        env = _env(tmp_path, url)
        async with _service(env) as (services, _):
            assert services.workers is not None
            dispatch = services.workers.dispatch
            stuck = asyncio.Event()

            async def never_ends() -> None:
                stuck.set()
                await asyncio.Event().wait()

            dispatch.also = never_ends
            dispatch.sweep_s = 0.05
            dispatch.wake()
            await asyncio.wait_for(stuck.wait(), 30)  # the catch-up is stuck from now on
            services.manager.on_enqueue = None  # its message is lost: only a sweep sends it
            before = dispatch.sent
            await _confirm(services, key)
            async with asyncio.timeout(30):
                while dispatch.sent == before:  # noqa: ASYNC110 - the sweep's own count
                    await asyncio.sleep(0.05)
