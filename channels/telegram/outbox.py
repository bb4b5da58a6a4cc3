"""Sending to Telegram within its limits: one message a second per chat, in order, and retried.

Each chat has its own queue and worker, so one slow or throttled chat never holds up another,
and a chat's messages arrive in the order the dialog produced them.

Retrying follows what each failure means:

* 429: Telegram asks us to wait ``retry_after``; we wait exactly that, and it is not a
  failure (a busy bot is throttled often, and a reply must not be dropped for it).
* a connection that could not be made, or a 5xx answer: nothing was carried out; send again
  after a pause that grows to ``max_backoff``.
* a timeout after the request went out: Telegram may have carried it out. Telegram
  has no idempotency key, so a message cannot simply be sent again without risking a copy.
  The call's ``probe`` (when it has one) first waits ``settle`` seconds and asks Telegram
  whether the message is there; only when it is not is the message sent again. Without a
  probe the call is repeated, which is right for edits (repeating one changes nothing) and
  is the at-least-once trade-off for files (see README).
* 400 (bad request) and 403 (the user blocked the bot): sending again would fail again.

A message is given up only when it has failed for ``give_up_after`` seconds, and then the
``done`` callback hears why, so the bot can record it for staff.
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
Probe = Callable[[], Awaitable[Any]]
Done = Callable[[Any, str | None], Awaitable[None]]
GIVE_UP_AFTER = 3600.0  # an hour of failures: Telegram is down, or the message never fits


@dataclass
class _Item:
    call: Call
    future: asyncio.Future[Any]
    probe: Probe | None = None
    done: Done | None = None


@dataclass
class _Chat:
    queue: asyncio.Queue[_Item] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    last: float = float("-inf")


def maybe_delivered(err: Exception) -> bool:
    """Whether Telegram may have carried out a call that failed with ``err``.

    aiogram reports a timeout as "Request timeout error" and a refused or reset connection
    by the aiohttp error's name; only the first can follow a delivered message. A 5xx is an
    answer: Telegram looked at the request and did not carry it out.
    """
    if isinstance(err, TimeoutError):
        return True
    return isinstance(err, TelegramNetworkError) and "timeout" in str(err).lower()


class Outbox:
    """Per-chat ordered sending with spacing and retries."""

    def __init__(
        self,
        interval: float = 1.0,
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        give_up_after: float = GIVE_UP_AFTER,
        settle: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.give_up_after = give_up_after
        self.settle = settle
        self.clock = clock
        self._chats: dict[int, _Chat] = {}
        self.retries = 0
        self.throttled = 0
        self.found_by_probe = 0
        self.dropped = 0

    def send(
        self, chat_id: int, call: Call, *, probe: Probe | None = None, done: Done | None = None
    ) -> asyncio.Future[Any]:
        """Queue ``call`` for ``chat_id``; the future gets its result (None if it failed).

        ``done`` is awaited by the chat's worker before the next message goes out, with the
        result and None, or None and the reason it was given up.
        """
        chat = self._chats.setdefault(chat_id, _Chat())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        chat.queue.put_nowait(_Item(call, future, probe, done))
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
                item = await asyncio.wait_for(chat.queue.get(), timeout=60.0)
            except TimeoutError:
                return  # an idle chat's worker ends; the next message starts a new one
            try:
                wait = chat.last + self.interval - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                result, failure = await self._deliver(chat_id, item)
                chat.last = self.clock()
                if item.done is not None:
                    await item.done(result, failure)
                if not item.future.done():
                    item.future.set_result(result)
            except asyncio.CancelledError:
                if not item.future.done():
                    item.future.cancel()
                raise
            except Exception as err:  # never let one message end the chat's worker
                _LOGGER.exception("telegram: could not send to chat %s", chat_id)
                if not item.future.done():
                    item.future.set_exception(err)
            finally:
                chat.queue.task_done()

    async def _deliver(self, chat_id: int, item: _Item) -> tuple[Any, str | None]:
        started = self.clock()
        backoff = self.first_backoff
        while True:
            try:
                return await item.call(), None
            except TelegramRetryAfter as err:
                _LOGGER.warning(
                    "telegram: chat %s throttled, waiting %s s", chat_id, err.retry_after
                )
                self.throttled += 1
                reason = str(err)
                pause = float(err.retry_after)
            except TelegramBadRequest as err:
                if "not modified" in str(err):
                    return None, None  # an edit that changes nothing is not a failure
                return self._drop(chat_id, f"refused: {err}")
            except TelegramForbiddenError as err:
                return self._drop(chat_id, f"blocked: {err}")
            except (TelegramServerError, TelegramNetworkError, TimeoutError) as err:
                reason = str(err) or type(err).__name__
                if item.probe is not None and maybe_delivered(err):
                    await asyncio.sleep(self.settle)  # let a slow Telegram finish first
                    with contextlib.suppress(Exception):
                        found = await item.probe()
                        if found is not None:
                            _LOGGER.info("telegram: chat %s: the message had arrived", chat_id)
                            self.found_by_probe += 1
                            return found, None
                self.retries += 1
                pause, backoff = backoff, min(self.max_backoff, backoff * 2)
                _LOGGER.warning("telegram: %s; retrying in %.1f s", reason, pause)
            if self.clock() + pause - started > self.give_up_after:
                return self._drop(
                    chat_id, f"gave up after {self.clock() - started:.0f} s: {reason}"
                )
            await asyncio.sleep(pause)

    def _drop(self, chat_id: int, reason: str) -> tuple[None, str]:
        _LOGGER.error("telegram: chat %s: message not sent (%s)", chat_id, reason)
        self.dropped += 1
        return None, reason
