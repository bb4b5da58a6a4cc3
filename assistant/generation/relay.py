"""Progress and outcomes of builds made by Celery workers, carried over Redis pub/sub.

A worker may run on another machine than the instance that holds the user's socket or chat,
so it publishes what it would have told the dialog on one channel (``CHANNEL``); every
``assistant serve`` instance listens and hands each message to its dialog manager, which
ignores a delivery for a session that no longer waits for it (or that it does not hold).
The artifact itself is not in the message: it is in the store, found by its id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from assistant.errors import AssistantError
from assistant.extras import require_extra
from assistant.ports import ClusterQueueStore
from assistant.session import Artifact, GenerationRequest

_LOGGER = logging.getLogger(__name__)

CHANNEL = "generation"
RECONNECT_S = 1.0  # between two attempts to subscribe again after Redis went away

DeliveryCallback = Callable[[GenerationRequest, Artifact], Awaitable[object]]
FailureCallback = Callable[[GenerationRequest], Awaitable[object]]
ProgressCallback = Callable[[GenerationRequest, str, float | None], Awaitable[object]]


def redis_client(url: str) -> Any:
    """An asyncio Redis client for ``url`` (the cluster extra brings redis-py)."""
    module = require_extra("redis.asyncio", "cluster", "generation on Celery with Redis")
    return module.from_url(url)


def _request_data(request: GenerationRequest) -> dict[str, Any]:
    data = asdict(request)
    data.pop("link", None)  # never stored with the request: the artifact carries its token
    return data


def _request(data: dict[str, Any]) -> GenerationRequest:
    return GenerationRequest(
        session_key=str(data["session_key"]), job_id=str(data["job_id"]),
        language=str(data["language"]), answers=dict(data["answers"]),
        series=str(data["series"]), version=int(data["version"]),
        id=int(data["id"]), look=dict(data.get("look") or {}),
    )  # fmt: skip


class RelayPublisher:
    """The worker's side: the queue's callbacks, published instead of called."""

    def __init__(self, client: Any, channel: str = CHANNEL) -> None:
        self.client = client
        self.channel = channel

    async def _publish(self, message: dict[str, Any]) -> None:
        await self.client.publish(self.channel, json.dumps(message, ensure_ascii=False))

    async def delivered(self, request: GenerationRequest, artifact: Artifact) -> None:
        """The artifact is stored: tell whichever instance holds the session."""
        await self._publish(
            {"kind": "delivered", "request": _request_data(request), "artifact": artifact.id}
        )

    async def failed(self, request: GenerationRequest) -> None:
        """The build failed (its reason is stored with the task)."""
        await self._publish({"kind": "failed", "request": _request_data(request)})

    async def progress(
        self, request: GenerationRequest, stage: str, fraction: float | None
    ) -> None:
        """How the build goes: momentary, so a message nobody hears is simply lost."""
        await self._publish(
            {"kind": "progress", "request": _request_data(request), "stage": stage,
             "fraction": fraction}
        )  # fmt: skip


class RelayListener:
    """The instance's side: one subscription, each message handed to the dialog in order
    (a session's progress before its delivery), reconnecting when Redis goes away."""

    def __init__(
        self,
        url: str,
        store: ClusterQueueStore,
        *,
        on_delivered: DeliveryCallback,
        on_failed: FailureCallback,
        on_progress: ProgressCallback,
        channel: str = CHANNEL,
    ) -> None:
        self.url = url
        self.store = store
        self.on_delivered = on_delivered
        self.on_failed = on_failed
        self.on_progress = on_progress
        self.channel = channel
        self.subscribed = asyncio.Event()  # set once listening (tests and start-up wait on it)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Subscribe, and listen in a task of its own until ``stop``."""
        self._task = asyncio.create_task(self._run(), name="generation-relay")
        subscribed = asyncio.create_task(self.subscribed.wait())
        await asyncio.wait([self._task, subscribed], return_when=asyncio.FIRST_COMPLETED)
        subscribed.cancel()
        if self._task.done():
            self._task.result()  # the first subscription failed: say why now

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        first = True
        while True:
            client = redis_client(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    await self.catch_up()  # what ended while no one here listened
                    first = False
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._handle(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                if first:
                    raise
                self.subscribed.clear()
                _LOGGER.warning(
                    "generation relay: Redis went away; subscribing again", exc_info=True
                )
                await asyncio.sleep(RECONNECT_S)
            finally:
                await client.aclose()

    async def catch_up(self) -> int:
        """Tell the sessions whose builds ended while their message reached no one (this
        instance was away, or Redis was): pub/sub keeps nothing. Each is told as a message
        would have told it, so a session told meanwhile is not told twice; how many."""
        told = 0
        for request, status, artifact_id in await self.store.unheard():
            message: dict[str, Any] = {"request": _request_data(request)}
            if status == "done":
                message.update(kind="delivered", artifact=artifact_id)
            else:
                message["kind"] = "failed"
            await self._handle(json.dumps(message))
            told += 1
        if told:
            _LOGGER.warning("generation relay: told %d session(s) of builds they missed", told)
        return told

    async def _handle(self, data: bytes | str) -> None:
        """One message to the dialog; a bad one is logged, never the end of listening."""
        try:
            message = json.loads(data)
            request = _request(message["request"])
            kind = message["kind"]
            if kind == "progress":
                fraction = message.get("fraction")
                await self.on_progress(
                    request, str(message["stage"]), None if fraction is None else float(fraction)
                )
            elif kind == "failed":
                await self.on_failed(request)
            elif kind == "delivered":
                artifact = await self.store.artifact(str(message["artifact"]))
                if artifact is None:
                    _LOGGER.error(
                        "generation relay: artifact %s is not stored", message["artifact"]
                    )
                    return
                await self.on_delivered(request, artifact)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if isinstance(err, AssistantError) and err.code == "session_conflict":
                # Every instance hears every outcome; the one whose commit won told the user.
                _LOGGER.info("generation relay: another instance told the session first")
                return
            _LOGGER.exception("generation relay: could not handle a message")
