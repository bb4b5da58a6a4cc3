"""Two real ``assistant serve`` processes on one data folder with one ``redis_url`` (issue
17): exactly one polls Telegram; killed with SIGKILL, its lease runs out and the other
instance takes over within the lease's time, and the chat goes on where it was."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from testing.redis_server import redis_server
from testing.telegram import FakeBotApi
from tests.test_telegram import (
    CLI_TOKEN,
    AssistantProcess,
    User,
    _assistant_env,
    _free_port,
    _polled,
)

LEASE_S = 3.0
HOLDS = "telegram: this instance holds the lease"


@pytest.mark.slow
async def test_the_bot_polls_in_one_instance_and_moves_when_it_is_killed(tmp_path: Path) -> None:
    async with redis_server() as url, FakeBotApi(token=CLI_TOKEN) as api:
        processes = []
        for _ in range(2):
            env = _assistant_env(tmp_path, api)
            env.update(
                ASSISTANT_PORT=str(_free_port()), ASSISTANT_REDIS_URL=url,
                ASSISTANT_TELEGRAM_LEASE_S=str(LEASE_S),
            )  # fmt: skip
            processes.append(await AssistantProcess(tmp_path, env, "serve").start())
        try:
            await _polled(api, processes[0])
            user = User(api, 41)
            menu = await user.say("/start")
            assert "What would you like to make?" in menu.plain_text
            question = await user.press("4. Quiz game")
            assert "What should the quiz be called?" in question.plain_text
            holders = [p for p in processes if HOLDS in p.output]
            assert len(holders) == 1, [p.output for p in processes]
            holder, other = holders[0], next(p for p in processes if p is not holders[0])
            await holder.crash()  # SIGKILL: the lease is neither renewed nor released
            killed = time.monotonic()
            await _polled(api, other)
            took = time.monotonic() - killed
            assert HOLDS in other.output
            # Within the lease's time and the new holder's start of polling.
            assert took <= LEASE_S + 3.0, took
            told = await user.say("Bird quiz")
            assert "topic" in told.plain_text.lower() or told.buttons, told.plain_text
        finally:
            for process in processes:
                if process.process is not None and process.process.returncode is None:
                    await process.stop()
