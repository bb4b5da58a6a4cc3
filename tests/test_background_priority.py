"""Start-up work yields the CPU to users' turns (issue 13, part B).

What a user noticed: on a fresh data folder the server spends a minute of CPU embedding the
knowledge base's starter set and the jobs' examples as it starts; at the event loop's
priority that minute came out of a burst of 2,000 web confirmations on the same core. Those
threads now run at the lowest priority, and the event loop's thread keeps its own.
"""

from __future__ import annotations

import os
import threading

import pytest

from assistant.knowledge.answers import _in_daemon_thread
from assistant.startup import BACKGROUND_NICE, in_background_thread

pytestmark = pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no thread niceness")


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_start_up_work_runs_at_background_priority_and_the_loop_keeps_its_own() -> None:
    loop_before = _niceness()
    assert await in_background_thread(_niceness, "test-start-up") == max(
        loop_before, BACKGROUND_NICE
    )
    assert _niceness() == loop_before


async def test_opening_the_knowledge_base_runs_at_background_priority() -> None:
    assert await _in_daemon_thread(_niceness) == max(_niceness(), BACKGROUND_NICE)  # type: ignore[arg-type]


async def test_start_up_work_hands_its_error_to_the_caller() -> None:
    def broken() -> None:
        raise ValueError("no starter set")

    with pytest.raises(ValueError, match="no starter set"):
        await in_background_thread(broken, "test-start-up")
