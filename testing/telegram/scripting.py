"""Scripting the users a test plays, observing what the bot did, and injecting faults."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import Callable, Iterable

from testing.telegram.content import _command_entities, _ogg_opus_duration
from testing.telegram.state import ApiState
from testing.telegram.wire import (
    SEND_METHODS,
    JsonDict,
    Sent,
    WaitTimeout,
    _CallbackQuery,
    _Fault,
)


class ScriptedApi(ApiState):
    """The test's side of the fake: users who write and press, and eyes on the bot."""

    # ------------------------------------------------------------------ scripting users

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends to the chat then fail with 403."""
        self._chat_for_push(chat_id).blocked = blocked

    def push_text(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        language_code: str = "en",
    ) -> int:
        """A user writes ``text`` in a private chat; commands carry bot_command entities."""
        chat = self._chat_for_push(chat_id)
        chat.language_code = language_code
        message = self._user_message(chat, user_id)
        message["text"] = text
        if entities := _command_entities(text):
            message["entities"] = entities
        return self.push_raw({"message": message})

    def push_voice(
        self,
        chat_id: int,
        ogg_bytes: bytes,
        duration: float | None = None,
        user_id: int | None = None,
    ) -> int:
        """A user sends a voice note; getFile and the download route then serve its bytes.

        ``duration`` defaults to the length read from the Ogg Opus stream.
        """
        chat = self._chat_for_push(chat_id)
        if duration is None:
            duration = _ogg_opus_duration(ogg_bytes) or 0.0
        stored = self._store_file("voice", ogg_bytes, None, "audio/ogg", ".oga")
        message = self._user_message(chat, user_id)
        message["voice"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": round(duration),
            "mime_type": "audio/ogg",
            "file_size": len(ogg_bytes),
        }
        return self.push_raw({"message": message})

    def push_photo(
        self,
        chat_id: int,
        sizes: list[tuple[bytes, int, int]],
        caption: str | None = None,
        user_id: int | None = None,
    ) -> int:
        """A user sends a photo: Telegram lists it in several sizes, smallest first, each
        (bytes, width, height) a file that getFile and the download route then serve."""
        chat = self._chat_for_push(chat_id)
        message = self._user_message(chat, user_id)
        listed = []
        for data, width, height in sizes:
            stored = self._store_file("photo", data, None, None, ".jpg")
            listed.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                }
            )
        message["photo"] = listed
        if caption is not None:
            message["caption"] = caption
        return self.push_raw({"message": message})

    def push_callback(
        self, chat_id: int, message_id: int, data: str, user_id: int | None = None
    ) -> int:
        """A user presses an inline button with ``data`` on a message the bot sent."""
        chat = self._chat_for_push(chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.get("from", {}).get("id") != self.bot_id:
            raise LookupError(f"chat {chat_id} has no bot message {message_id}")
        self._last_callback_id += 1
        query_id = str(self._last_callback_id)
        self._callbacks[query_id] = _CallbackQuery(chat_id, message_id, time.monotonic())
        query = {
            "id": query_id,
            "from": self._user(chat, user_id),
            "message": copy.deepcopy(message),
            "chat_instance": f"-{abs(hash((self.bot_id, chat_id))) % 10**18}",
            "data": data,
        }
        return self.push_raw({"callback_query": query})

    def press(
        self,
        chat_id: int,
        button_text: str,
        message_id: int | None = None,
        user_id: int | None = None,
    ) -> int:
        """Press the callback button labelled ``button_text``.

        It is looked for on ``message_id``, or on the newest bot message showing it.
        """
        chat = self._chat_for_push(chat_id)
        candidates = [message_id] if message_id is not None else sorted(chat.messages)[::-1]
        seen: list[str] = []
        for candidate in candidates:
            message = chat.messages.get(candidate) or {}
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            for button in (button for row in rows for button in row):
                if button.get("text") == button_text and "callback_data" in button:
                    return self.push_callback(chat_id, candidate, button["callback_data"], user_id)
                seen.append(button.get("text", ""))
        raise LookupError(f"no callback button {button_text!r} in chat {chat_id}; saw {seen}")

    def push_raw(self, update: JsonDict) -> int:
        """Queue any update; ``update_id`` is assigned when missing. Returns the id."""
        update = dict(update)
        if "update_id" in update:
            self._last_update_id = max(self._last_update_id, int(update["update_id"]))
        else:
            self._last_update_id += 1
            update["update_id"] = self._last_update_id
        self._updates.append(update)
        self._notify_updates()
        return int(update["update_id"])

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    # ------------------------------------------------------------------ observing the bot

    def messages(self, chat_id: int, *, include_user: bool = False) -> dict[int, str]:
        """Displayed text (caption for media) of each live message, by message_id, after edits.

        Only the bot's messages unless ``include_user``; deleted messages are gone.
        """
        chat = self._chats.get(chat_id)
        if chat is None:
            return {}
        return {
            message_id: message.get("text", message.get("caption", ""))
            for message_id, message in sorted(chat.messages.items())
            if include_user or message.get("from", {}).get("id") == self.bot_id
        }

    def message(self, chat_id: int, message_id: int) -> JsonDict:
        """The current Message object (a copy), e.g. to check its ``reply_markup``."""
        return copy.deepcopy(self._chats[chat_id].messages[message_id])

    def send_times(self, chat_id: int | str, methods: Iterable[str] = SEND_METHODS) -> list[float]:
        """``time.monotonic()`` of each successful call of ``methods`` to the chat."""
        wanted = set(methods)
        return [s.time for s in self.sent if s.chat_id == chat_id and s.method in wanted]

    def max_per_window(
        self, chat_id: int | str, window: float = 1.0, methods: Iterable[str] = SEND_METHODS
    ) -> int:
        """Most calls of ``methods`` to the chat inside any ``window`` seconds (half-open).

        ``assert api.max_per_window(chat) <= 1`` checks Telegram's one message per second
        per chat.
        """
        times = self.send_times(chat_id, methods)
        best = 0
        for index, start in enumerate(times):
            best = max(best, sum(1 for t in times[index:] if t < start + window))
        return best

    async def wait_for(
        self,
        predicate: Callable[[Sent], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for a test helper, as specified
        *,
        method: str | None = None,
        chat_id: int | str | None = None,
        after: int = 0,
    ) -> Sent:
        """The first record in ``sent[after:]`` matching, waiting for new ones to arrive.

        Pass ``after=len(api.sent)`` to consider only records made from now on. Raises
        ``WaitTimeout`` (an AssertionError) listing what was sent.
        """

        def matches(record: Sent) -> bool:
            if method is not None and record.method != method:
                return False
            if chat_id is not None and record.chat_id != chat_id:
                return False
            return predicate is None or predicate(record)

        deadline = asyncio.get_running_loop().time() + timeout
        index = after
        while True:
            while index < len(self.sent):
                if matches(self.sent[index]):
                    return self.sent[index]
                index += 1
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self._closing.is_set():
                summary = "\n".join(
                    f"  {s.method} chat={s.chat_id} id={s.message_id} text={s.text!r}"
                    for s in self.sent[after:]
                )
                raise WaitTimeout(
                    f"nothing matching was sent in {timeout} s "
                    f"(method={method}, chat_id={chat_id}); sent:\n{summary or '  (nothing)'}"
                )
            changed = self._sent_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        retry_after: int | None = None,
        *,
        delay: float = 0.0,
        description: str | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        deliver: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally only to ``chat_id``) fail.

        ``status=429`` answers "Too Many Requests: retry after N" with
        ``parameters.retry_after`` (default 1); ``500`` "Internal Server Error"; any other
        status its usual Telegram text unless ``description`` is given. ``delay`` holds the
        response that long first: alone, it is a hang. After a hang the call is carried out
        only if the client is still connected (a slow reply), or with ``deliver=True`` even
        when the client gave up, which is Telegram sending a message whose reply got lost.
        A failed call is not recorded in ``sent``.
        """
        if status is None and delay <= 0:
            raise ValueError("fail_next needs a status, a delay or both")
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(
            _Fault(
                method=method.lower(),
                status=status,
                retry_after=retry_after,
                delay=delay,
                description=description,
                times=times,
                chat_id=chat_id,
                deliver=deliver,
            )
        )

    def _take_fault(self, method: str, params: JsonDict) -> _Fault | None:
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None
