"""Ctrl-C stops ``assistant kiosk`` (its runner, ``cli.voice._run_until_stopped``): a kiosk that
ends on being cancelled ends at once; one that ignores it (a stop swallowed somewhere) is left
behind after ``STOP_S`` with its stack in the log, so staff get their terminal back."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from assistant.cli import voice


async def _ctrl_c_when(started: asyncio.Event) -> None:
    await started.wait()
    os.kill(os.getpid(), signal.SIGINT)  # the loop's handler takes it, not KeyboardInterrupt


async def test_a_kiosk_that_ends_on_ctrl_c_ends() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def kiosk() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    ctrl_c = asyncio.create_task(_ctrl_c_when(started))
    assert await asyncio.wait_for(voice._run_until_stopped(kiosk()), timeout=30) is False
    assert cancelled.is_set()
    await ctrl_c


async def test_a_kiosk_that_ignores_ctrl_c_is_left_behind_with_its_stack(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(voice, "STOP_S", 0.5)
    started = asyncio.Event()

    async def stubborn_kiosk() -> None:
        started.set()
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # a stop swallowed: what the runner must survive

    ctrl_c = asyncio.create_task(_ctrl_c_when(started))
    assert await asyncio.wait_for(voice._run_until_stopped(stubborn_kiosk()), timeout=30)
    assert "the kiosk did not stop" in caplog.text and "stubborn_kiosk" in caplog.text
    await ctrl_c
    for task in asyncio.all_tasks():
        if task.get_name() == "kiosk":
            task.get_coro().close()  # type: ignore[union-attr]  # the test's own clean-up
