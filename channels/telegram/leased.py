"""Long polling in exactly one of several instances (issue 17): Telegram hands each update to
one ``getUpdates`` caller and answers a second one with a conflict, so the instances share a
lease and only its holder polls. When the holder stops it releases the lease and another
instance takes over within a tenth of the lease's time; when it dies, within the lease's time.
Updates it had not confirmed are fetched again by the next holder, and the shared ledger keeps
them from being answered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from assistant.cluster.ports import Lease
from channels.telegram.bot import TelegramChannel

_LOGGER = logging.getLogger(__name__)

STOP_WAIT_S = 30.0  # a stopping bot finishes the turns it has begun


async def poll_while_leased(
    make_bot: Callable[[], TelegramChannel], lease: Lease, *, polling_timeout: int = 10
) -> None:
    """Wait for the lease, poll while it is held, and wait again if it is lost; returns
    only when polling itself ends (Telegram refused the token), raising why."""
    while True:
        await lease.acquire()
        _LOGGER.info("telegram: this instance holds the lease and polls")
        bot = make_bot()
        polling = asyncio.create_task(bot.run_polling(polling_timeout), name="telegram")
        lost = lease.lost()
        was_lost = False
        try:
            await asyncio.wait([polling, lost], return_when=asyncio.FIRST_COMPLETED)
            was_lost = lost.done()
        finally:
            if not polling.done():
                await bot.stop_polling()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(polling), STOP_WAIT_S)
            await lease.release()
        if not was_lost:
            polling.result()  # Telegram would not have it: the caller says why
            return
        _LOGGER.warning("telegram: the lease was lost; polling stopped until it is taken again")


def polling(
    bot: TelegramChannel, make_bot: Callable[[], TelegramChannel], lease: Lease | None
) -> Coroutine[Any, Any, None]:
    """The bot's long polling: at once with one instance (``lease`` None), else while this
    instance holds ``lease``, with ``bot`` first and ``make_bot()`` after a lease lost."""
    if lease is None:
        return bot.run_polling()
    bots = iter([bot])
    return poll_while_leased(lambda: next(bots, None) or make_bot(), lease)
