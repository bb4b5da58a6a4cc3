"""Wrong ``/resume`` codes in Telegram: counted per chat, in the store, and never blocking the
right code before the day's ceiling."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from assistant.dialog.manager import DialogManager
from assistant.jobs.phrases import Phrases
from assistant.limits import CodeGuard
from assistant.store.sqlite import SQLiteStore
from channels.telegram.bot import TelegramChannel
from channels.telegram.outbox import Outbox
from testing.telegram import FakeBotApi
from tests.test_telegram import TOKEN, User, make_bot, polling


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as api:
        yield api


@pytest.fixture
async def bot(
    api: FakeBotApi, manager: DialogManager, phrases: Phrases, store: SQLiteStore
) -> AsyncIterator[TelegramChannel]:
    guard = CodeGuard(store, soft=3, ceiling=5)
    async with polling(
        make_bot(api, manager, phrases, store, code_guard=guard, outbox=Outbox(interval=0.05))
    ) as bot:
        yield bot


async def test_wrong_codes_slow_a_chat_but_the_right_code_still_opens_until_the_ceiling(
    api: FakeBotApi, bot: TelegramChannel, manager: DialogManager, store: SQLiteStore
) -> None:
    await manager.resume("kiosk:local", "kiosk", "en")
    kiosk = await manager.session("kiosk:local")
    assert kiosk is not None
    user = User(api, 21)
    for wrong in ("ZZZZZA", "ZZZZZB", "ZZZZZC"):
        assert (await user.say(f"/resume {wrong}")).plain_text.startswith("No session has")
    slowed = await user.say("/resume ZZZZZD")
    assert slowed.plain_text.startswith("Too many wrong codes.")
    opened = await user.say(f"/resume {kiosk.code}")
    assert "Welcome back" in opened.plain_text or "What would you like" in opened.plain_text
    assert await store.count_attempts("code_miss", "telegram:21", 0.0) == 4
    other = User(api, 22)  # another chat is not slowed by this one
    assert (await other.say("/resume ZZZZZE")).plain_text.startswith("No session has")
    await user.say("/resume ZZZZZF")  # the fifth wrong code: the ceiling
    refused = await user.say(f"/resume {kiosk.code}")
    assert refused.plain_text.startswith("Too many wrong codes.")
