"""The bot behind a webhook: Telegram posts updates to a route on the project's own server.

The route only accepts requests carrying the secret we registered with Telegram, derived from
the bot token so it survives restarts without being stored anywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from yarl import URL

from channels.telegram.bot import TelegramChannel


def webhook_secret(token: str) -> str:
    """A secret Telegram sends back in ``X-Telegram-Bot-Api-Secret-Token``."""
    return hashlib.sha256(f"facility-assistant:{token}".encode()).hexdigest()[:48]


async def add_webhook(
    bot: TelegramChannel,
    app: web.Application,
    url: str,
    token: str,
    *,
    announce_at_startup: bool = True,
) -> Callable[[], Awaitable[None]]:
    """Route updates posted to ``url``'s path into the bot, and tell Telegram the address.

    Returns the call that tells Telegram. A server should make it once it is listening
    (``announce_at_startup=False``): aiohttp's start-up runs before the socket is open, and
    Telegram may post the first update at once.
    """
    secret = webhook_secret(token)
    path = URL(url).path or "/telegram/webhook"
    # Handled before the answer goes back: Telegram resends an update until it gets its 200,
    # and the update must be in the ledger by then (not still queued in memory).
    SimpleRequestHandler(
        bot.dispatcher, bot.bot, handle_in_background=False, secret_token=secret
    ).register(app, path=path)

    async def announce() -> None:
        await bot.prepare()
        await bot.bot.set_webhook(
            url, secret_token=secret, allowed_updates=["message", "callback_query"]
        )

    async def start(_: web.Application) -> None:
        await announce()

    async def stop(_: web.Application) -> None:
        await bot.close()

    if announce_at_startup:
        app.on_startup.append(start)
    app.on_shutdown.append(stop)
    return announce
