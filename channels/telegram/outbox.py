"""Sending to Telegram within its limits: one message a second per chat, in order, and retried.

Each chat has its own queue and worker, so one slow or throttled chat never holds up another,
and a chat's messages arrive in the order the dialog produced them. A 429 waits the
``retry_after`` Telegram gives; a 5xx or a network failure is retried with growing pauses. A
request Telegram rejected as bad (400) or forbidden (the user blocked the bot) is not retried:
sending it again would fail again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

_LOGGER = logging.getLogger(__name__)

Call = Callable[[], Awaitable[Any]]


@dataclass
class _Chat:
    queue: asyncio.Queue[tuple[Call, asyncio.Future[Any]]] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    last: float = float("-inf")


class Outbox:
    """Per-chat ordered sending with spacing and retries."""

    def __init__(
        self,
        interval: float = 1.0,
        attempts: int = 8,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.attempts = attempts
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.clock = clock
        self._chats: dict[int, _Chat] = {}
        self.retries = 0
        self.dropped = 0

    def send(self, chat_id: int, call: Call) -> asyncio.Future[Any]:
        """Queue ``call`` for ``chat_id``; the future gets its result (None if it failed)."""
        chat = self._chats.setdefault(chat_id, _Chat())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        chat.queue.put_nowait((call, future))
        if chat.worker is None or chat.worker.done():
            chat.worker = asyncio.create_task(self._work(chat_id, chat), name=f"tg-out-{chat_id}")
        return future

    async def drain(self) -> None:
        """Wait until every queued message has been sent or given up."""
        for chat in list(self._chats.values()):
            await chat.queue.join()

    async def close(self) -> None:
        """Stop the workers (after ``drain`` if nothing may be lost)."""
        for chat in self._chats.values():
            if chat.worker is not None:
                chat.worker.cancel()
        for chat in self._chats.values():
            if chat.worker is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await chat.worker
        self._chats.clear()

    async def _work(self, chat_id: int, chat: _Chat) -> None:
        while True:
            try:
                call, future = await asyncio.wait_for(chat.queue.get(), timeout=60.0)
            except TimeoutError:
                return  # an idle chat's worker ends; the next message starts a new one
            try:
                wait = chat.last + self.interval - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                result = await self._deliver(chat_id, call)
                chat.last = self.clock()
                if not future.done():
                    future.set_result(result)
            except asyncio.CancelledError:
                if not future.done():
                    future.cancel()
                raise
            except Exception as err:  # never let one message end the chat's worker
                _LOGGER.exception("telegram: could not send to chat %s", chat_id)
                if not future.done():
                    future.set_exception(err)
            finally:
                chat.queue.task_done()

    async def _deliver(self, chat_id: int, call: Call) -> Any:
        backoff = self.first_backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except TelegramRetryAfter as err:
                _LOGGER.warning(
                    "telegram: chat %s throttled, waiting %s s", chat_id, err.retry_after
                )
                self.retries += 1
                await asyncio.sleep(err.retry_after)
            except (TelegramServerError, TelegramNetworkError, TimeoutError) as err:
                if attempt == self.attempts:
                    break
                _LOGGER.warning("telegram: %s; retrying in %.1f s", err, backoff)
                self.retries += 1
                await asyncio.sleep(backoff)
                backoff = min(self.max_backoff, backoff * 2)
            except TelegramBadRequest as err:
                if "not modified" in str(err):
                    return None  # an edit that changes nothing is not a failure
                _LOGGER.error("telegram: chat %s refused a message: %s", chat_id, err)
                self.dropped += 1
                return None
            except TelegramForbiddenError:
                _LOGGER.info("telegram: chat %s blocked the bot", chat_id)
                self.dropped += 1
                return None
        _LOGGER.error("telegram: gave up sending to chat %s after %d tries", chat_id, self.attempts)
        self.dropped += 1
        return None
