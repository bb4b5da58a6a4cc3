"""The Bot API methods the fake answers, one handler each, with Telegram's checks."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import time
from typing import Any

from testing.telegram.content import _image_size, _ogg_opus_duration, _render
from testing.telegram.scripting import ScriptedApi
from testing.telegram.wire import (
    _CHAT_ACTIONS,
    _DEFAULT_UPDATE_TYPES,
    _MAX_TEXT,
    _NOT_MODIFIED,
    _POLL_CONFLICT,
    _QUERY_TOO_OLD,
    _WEBHOOK_CONFLICT,
    ApiError,
    JsonDict,
    _bad,
    _u16,
)


class BotMethods(ScriptedApi):
    """``getUpdates``, ``sendMessage`` and the rest, as the bot calls them."""

    async def _true(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> bool:
        return True

    async def _get_me(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        return self.bot_user

    def _deliverable(self, limit: int) -> list[JsonDict]:
        allowed = set(self.allowed_updates or ()) or _DEFAULT_UPDATE_TYPES
        kept: list[JsonDict] = []
        for update in self._updates:
            kinds = [key for key in update if key != "update_id"]
            if kinds and kinds[0] not in allowed:
                self.dropped_updates.append(update)
                continue
            kept.append(update)
        self._updates = kept
        return copy.deepcopy(kept[:limit])

    async def _get_updates(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> list[JsonDict]:
        """getUpdates: offset confirms, timeout long-polls, a newer call ends an older one."""
        if self.webhook.get("url"):
            raise ApiError(409, _WEBHOOK_CONFLICT)
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self.allowed_updates = list(allowed) if isinstance(allowed, list) else None
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)

        self._poll_generation += 1
        generation = self._poll_generation
        self._notify_updates()  # wakes an older long poll so it can see it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            updates = self._deliverable(limit)
            if updates or self._closing.is_set():
                return updates
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            changed = self._updates_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
            if generation != self._poll_generation:
                raise ApiError(409, _POLL_CONFLICT)

    async def _set_webhook(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> bool:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self.allowed_updates = list(allowed) if isinstance(allowed, list) else None
        self.webhook = {key: value for key, value in params.items() if value is not None}
        if url:
            self._poll_generation += 1  # a pending long poll ends with a conflict
            self._notify_updates()
        return True

    async def _delete_webhook(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {}
        return True

    async def _get_webhook_info(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if info["url"]:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            if self.allowed_updates:
                info["allowed_updates"] = self.allowed_updates
        return info

    async def _send_message(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> JsonDict:
        chat = self._chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad("message text is empty")
        plain, entities = _render(text, params.get("parse_mode"), params.get("entities"))
        if not plain:
            raise _bad("message text is empty")
        if _u16(plain) > _MAX_TEXT:
            raise _bad("message is too long")
        content: JsonDict = {"text": plain}
        if entities:
            content["entities"] = entities
        if isinstance(params.get("link_preview_options"), dict):
            content["link_preview_options"] = params["link_preview_options"]
        message = self._bot_message(chat, params, content)
        self._record(
            "sendMessage",
            params,
            chat_id=chat.id,
            message_id=message["message_id"],
            result=message,
            text=text,
            plain_text=plain,
            reply_markup=params.get("reply_markup"),
        )
        return message

    async def _send_media(
        self, method: str, kind: str, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> JsonDict:
        chat = self._chat(params)
        stored, filename = self._input_file(kind, params, files)
        caption = self._caption(params)
        if kind == "document":
            media: Any = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
            }
            if filename:
                media["file_name"] = filename
            if stored.mime_type:
                media["mime_type"] = stored.mime_type
        elif kind == "photo":
            size = _image_size(stored.data)
            if size is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10000 or max(width, height) > 20 * max(min(width, height), 1):
                raise _bad("PHOTO_INVALID_DIMENSIONS")
            media = [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(stored.data),
                    "width": width,
                    "height": height,
                }
            ]
        else:
            duration = params.get("duration")
            if duration is None:
                duration = round(_ogg_opus_duration(stored.data) or 0)
            media = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "duration": int(duration),
                "mime_type": "audio/ogg"
                if stored.data.startswith(b"OggS")
                else stored.mime_type or "audio/mpeg",
                "file_size": len(stored.data),
            }
        message = self._bot_message(chat, params, {kind: media, **caption})
        self._record(
            method,
            params,
            chat_id=chat.id,
            message_id=message["message_id"],
            result=message,
            text=params.get("caption"),
            plain_text=caption.get("caption"),
            reply_markup=params.get("reply_markup"),
            files=files,
        )
        return message

    async def _send_document(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> JsonDict:
        return await self._send_media("sendDocument", "document", params, files)

    async def _send_photo(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        return await self._send_media("sendPhoto", "photo", params, files)

    async def _send_voice(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        return await self._send_media("sendVoice", "voice", params, files)

    async def _edit_message_text(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> JsonDict:
        chat, message = self._editable(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad("message text is empty")
        plain, entities = _render(text, params.get("parse_mode"), params.get("entities"))
        if _u16(plain) > _MAX_TEXT:
            raise _bad("message is too long")
        markup = self._inline_markup(params.get("reply_markup"))
        if (
            plain == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message["text"] = plain
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message.pop("reply_markup", None)  # no reply_markup in the edit removes the keyboard
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        self._record(
            "editMessageText",
            params,
            chat_id=chat.id,
            message_id=message["message_id"],
            result=message,
            text=text,
            plain_text=plain,
            reply_markup=params.get("reply_markup"),
        )
        return copy.deepcopy(message)

    async def _edit_message_reply_markup(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> JsonDict:
        chat, message = self._editable(params)
        markup = self._inline_markup(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        self._record(
            "editMessageReplyMarkup",
            params,
            chat_id=chat.id,
            message_id=message["message_id"],
            result=message,
            reply_markup=params.get("reply_markup"),
        )
        return copy.deepcopy(message)

    async def _delete_message(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> bool:
        chat = self._chat(params, sending=False)
        message_id = params.get("message_id")
        if message_id not in chat.messages:
            raise _bad("message to delete not found")
        del chat.messages[message_id]
        self._record("deleteMessage", params, chat_id=chat.id, message_id=message_id, result=True)
        return True

    async def _answer_callback_query(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> bool:
        query = self._callbacks.get(str(params.get("callback_query_id") or ""))
        if (
            query is None
            or query.answered
            or time.monotonic() - query.created > self.callback_answer_timeout
        ):
            raise _bad(_QUERY_TOO_OLD.removeprefix("Bad Request: "))
        query.answered = True
        text = params.get("text")
        self._record(
            "answerCallbackQuery",
            params,
            chat_id=query.chat_id,
            message_id=query.message_id,
            result=True,
            text=text,
            plain_text=text,
        )
        return True

    async def _get_file(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> JsonDict:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return stored.as_file()

    async def _send_chat_action(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> bool:
        chat = self._chat(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat.id, action, time.monotonic()))
        return True

    @staticmethod
    def _commands_key(params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JsonDict, files: dict[str, tuple[str, bytes]]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise _bad("command description must be non-empty")
        self.commands[self._commands_key(params)] = [dict(c) for c in commands]
        return True

    async def _get_my_commands(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> list[JsonDict]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(
        self, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True
