"""The Telegram bot from the command line: inside `assistant serve` when a token is set
(polling, or a webhook route), or alone as `assistant telegram`; with several instances only
the holder of the Redis lease polls (issue 17)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web

from assistant.cli.signals import stop_requested
from assistant.cluster.ports import Lease
from assistant.compose import Services
from assistant.config import Settings
from assistant.extras import require_extra

_LOGGER = logging.getLogger(__name__)


async def start_telegram(
    services: Services, app: web.Application
) -> tuple[asyncio.Task[None] | None, Callable[[], Awaitable[None]] | None]:
    """The bot inside the server when a token is configured: polling (its task), or a
    webhook route (the call that tells Telegram, made once the server listens)."""
    settings = services.settings
    if not settings.telegram_token:
        return None, None
    bot = services.telegram_channel()
    if settings.telegram_webhook_url:
        from channels.telegram.webhook import add_webhook

        announce = await add_webhook(
            bot, app, settings.telegram_webhook_url, settings.telegram_token,
            announce_at_startup=False,
        )  # fmt: skip
        return None, announce
    from channels.telegram.leased import polling

    lease = telegram_lease(services)
    _LOGGER.info(
        "telegram: long polling%s", " while this instance holds the lease" if lease else ""
    )
    task = polling(bot, services.telegram_channel, lease)
    return asyncio.create_task(task, name="telegram"), None


def telegram_lease(services: Services) -> Lease | None:
    """With several instances, the lease whose holder alone polls Telegram."""
    if services.cluster is None:
        return None
    return services.cluster.lease("telegram", services.settings.telegram_lease_s)


async def run_telegram(settings: Settings) -> int:
    """`assistant telegram`: the bot alone, by long polling, until Ctrl-C or SIGTERM."""
    if not settings.telegram_token:
        print(
            "error: telegram_token is not set: put it in assistant.toml or "
            "ASSISTANT_TELEGRAM_TOKEN (from @BotFather)",
            file=sys.stderr,
        )
        return 2
    unauthorized = require_extra("aiogram.exceptions", "telegram", "the Telegram bot")

    services = Services.build(settings)
    await services.start()
    bot = services.telegram_channel()
    from channels.telegram.leased import polling

    lease = telegram_lease(services)
    task = asyncio.create_task(polling(bot, services.telegram_channel, lease))
    stop = stop_requested()
    waiting = asyncio.create_task(stop.wait())
    print("facility-assistant telegram bot: long polling (Ctrl-C stops)", flush=True)
    try:
        await asyncio.wait([task, waiting], return_when="FIRST_COMPLETED")
    finally:
        waiting.cancel()
        if lease is not None:
            task.cancel()  # stops the holder's polling and releases the lease
        else:
            await bot.stop_polling()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(task), 30)
        await services.stop()
    # The bot only ends by itself when Telegram will not have it: say why, plainly.
    failure = task.exception() if task.done() and not task.cancelled() else None
    if isinstance(failure, unauthorized.TelegramUnauthorizedError):
        print(
            "error: Telegram refused telegram_token (401 Unauthorized): check the token "
            "@BotFather gave you, or send /revoke there for a new one",
            file=sys.stderr,
        )
        return 2
    if failure is not None:
        print(f"error: the Telegram bot stopped: {failure}", file=sys.stderr)
        return 1
    return 0
