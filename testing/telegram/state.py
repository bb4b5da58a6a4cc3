"""The fake's state (chats, updates, files, faults) and the helpers every Bot API method uses."""

from __future__ import annotations

import asyncio
import copy
import math
import mimetypes
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from testing.telegram.content import _render
from testing.telegram.wire import (
    _MAX_CAPTION,
    ApiError,
    Call,
    JsonDict,
    Sent,
    StoredFile,
    _bad,
    _CallbackQuery,
    _Chat,
    _Fault,
    _u16,
)


class ApiState:
    """What the fake server knows, and how a method call reads and changes it."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        bot_username: str = "facility_test_bot",
        bot_first_name: str = "Facility Assistant",
        strict_chats: bool = True,
        min_send_interval: float | None = None,
        callback_answer_timeout: float = 15.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_chats = strict_chats
        self.min_send_interval = min_send_interval
        self.callback_answer_timeout = callback_answer_timeout
        self.host = host

        self.sent: list[Sent] = []
        self.calls: Counter[str] = Counter()
        self.call_log: list[Call] = []
        self.files: dict[str, StoredFile] = {}
        self.chat_actions: list[tuple[int | str, str, float]] = []
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.webhook: JsonDict = {}
        self.allowed_updates: list[str] | None = None
        self.dropped_updates: list[JsonDict] = []

        self._chats: dict[int, _Chat] = {}
        self._updates: list[JsonDict] = []
        self._last_update_id = 100_000_000
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._last_callback_id = 4_000_000_000
        self._file_counter = 0
        self._files_by_path: dict[str, StoredFile] = {}
        self._faults: list[_Fault] = []
        self._poll_generation = 0
        self._updates_changed = asyncio.Event()
        self._sent_changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def _notify_updates(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def _notify_sent(self) -> None:
        self._sent_changed.set()
        self._sent_changed = asyncio.Event()

    def _chat_for_push(self, chat_id: int) -> _Chat:
        if chat_id not in self._chats:
            self.add_chat(chat_id)
        return self._chats[chat_id]

    def _user(self, chat: _Chat, user_id: int | None) -> JsonDict:
        user: JsonDict = {
            "id": user_id if user_id is not None else chat.id,
            "is_bot": False,
            "first_name": chat.first_name,
            "language_code": chat.language_code,
        }
        if chat.last_name:
            user["last_name"] = chat.last_name
        if chat.username:
            user["username"] = chat.username
        return user

    def _user_message(self, chat: _Chat, user_id: int | None) -> JsonDict:
        message = {
            "message_id": chat.next_message_id(),
            "from": self._user(chat, user_id),
            "chat": chat.as_chat(),
            "date": int(time.time()),
        }
        chat.messages[message["message_id"]] = message
        return message

    def _chat(self, params: JsonDict, *, sending: bool = True) -> _Chat:
        """The target chat, failing like Telegram for a missing, unknown or blocking one."""
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad("chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            if self.strict_chats or not isinstance(chat_id, int):
                raise _bad("chat not found")
            self.add_chat(chat_id)
            chat = self._chats[chat_id]
        if chat.blocked and sending:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _check_flood(self, chat: _Chat) -> None:
        if self.min_send_interval is None or chat.last_send is None:
            return
        remaining = chat.last_send + self.min_send_interval - time.monotonic()
        if remaining > 0:
            retry_after = max(1, math.ceil(remaining))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def _bot_message(self, chat: _Chat, params: JsonDict, content: JsonDict) -> JsonDict:
        self._check_flood(chat)
        message: JsonDict = {
            "message_id": chat.next_message_id(),
            "from": self.bot_user,
            "chat": chat.as_chat(),
            "date": int(time.time()),
        }
        reply_to = params.get("reply_to_message_id")
        if isinstance(params.get("reply_parameters"), dict):
            reply_to = params["reply_parameters"].get("message_id")
            if params["reply_parameters"].get("allow_sending_without_reply"):
                params = {**params, "allow_sending_without_reply": True}
        if reply_to is not None:
            original = chat.messages.get(reply_to)
            if original is not None:
                message["reply_to_message"] = copy.deepcopy(original)
            elif not params.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
        message.update(content)
        markup = self._inline_markup(params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = message
        chat.last_send = time.monotonic()
        return message

    def _record(
        self,
        method: str,
        params: JsonDict,
        *,
        chat_id: int | str | None,
        message_id: int | None,
        result: Any,
        text: str | None = None,
        plain_text: str | None = None,
        reply_markup: JsonDict | None = None,
        files: dict[str, tuple[str, bytes]] | None = None,
    ) -> None:
        self.sent.append(
            Sent(
                method=method,
                chat_id=chat_id,
                text=text,
                plain_text=plain_text,
                reply_markup=reply_markup,
                message_id=message_id,
                files=dict(files or {}),
                params=dict(params),
                time=time.monotonic(),
                result=copy.deepcopy(result),
            )
        )
        self._notify_sent()

    @staticmethod
    def _check_button_url(url: Any) -> None:
        parts = urlsplit(url) if isinstance(url, str) else None
        valid = parts is not None and (
            (parts.scheme in ("http", "https") and "." in (parts.hostname or ""))
            or parts.scheme == "tg"
        )
        if not valid:
            raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")

    def _inline_markup(self, markup: Any) -> JsonDict | None:
        """Validate reply_markup; return the inline keyboard Telegram attaches, if any."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
                return None  # reply keyboards are shown to the user, not kept on the message
            raise _bad("can't parse reply keyboard markup JSON object")
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard markup JSON object")
        actions = {
            "url",
            "callback_data",
            "web_app",
            "login_url",
            "switch_inline_query",
            "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat",
            "copy_text",
            "callback_game",
            "pay",
        }
        for button in (button for row in rows for button in row):
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad("can't parse inline keyboard button: Text is empty")
            present = actions & button.keys()
            if not present:
                raise _bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
            if "url" in button:
                self._check_button_url(button["url"])
        if not any(rows):
            return None  # an empty keyboard is no keyboard
        return {"inline_keyboard": [[dict(button) for button in row] for row in rows]}

    def _store_file(
        self, kind: str, data: bytes, filename: str | None, mime_type: str | None, suffix: str
    ) -> StoredFile:
        self._file_counter += 1
        number = self._file_counter
        folder = {"voice": "voice", "photo": "photos", "document": "documents"}[kind]
        stored = StoredFile(
            file_id=f"fake-{kind}-{number}-{self.bot_id}",
            file_unique_id=f"AgAD{number:06d}",
            file_path=f"{folder}/file_{number}{suffix}",
            data=data,
            filename=filename,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _input_file(
        self, kind: str, params: JsonDict, files: dict[str, tuple[str, bytes]]
    ) -> tuple[StoredFile, str | None]:
        """The uploaded or re-sent file of ``kind``; Telegram's errors when there is none."""
        if kind in files:
            filename, data = files[kind]
            if not data:
                raise _bad("file must be non-empty")
            mime = mimetypes.guess_type(filename)[0]
            suffix = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
            if kind == "photo":
                suffix = ".jpg"
            elif kind == "voice":
                suffix = ".oga"
            return self._store_file(kind, data, filename, mime, suffix), filename
        reference = params.get(kind)
        if isinstance(reference, str) and reference in self.files:
            stored = self.files[reference]
            return stored, stored.filename
        if isinstance(reference, str) and reference.startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")
        if reference:
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {kind} in the request")

    def _caption(self, params: JsonDict) -> JsonDict:
        caption = params.get("caption")
        if not caption:
            return {}
        plain, entities = _render(caption, params.get("parse_mode"), params.get("caption_entities"))
        if _u16(plain) > _MAX_CAPTION:
            raise _bad("message caption is too long")
        content: JsonDict = {"caption": plain} if plain else {}
        if entities and plain:
            content["caption_entities"] = entities
        return content

    def _editable(self, params: JsonDict) -> tuple[_Chat, JsonDict]:
        if params.get("inline_message_id"):
            raise _bad("message to edit not found")
        chat = self._chat(params)
        message = chat.messages.get(params.get("message_id") or 0)
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _bad("message can't be edited")
        return chat, message

    @property
    def bot_user(self) -> JsonDict:
        """The bot's User object, as getMe returns it and as ``from`` of its messages."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def add_chat(
        self,
        chat_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "en",
    ) -> None:
        """Make a private chat known (as if the user had pressed Start) without an update."""
        chat = self._chats.get(chat_id)
        if chat is None:
            self._chats[chat_id] = _Chat(
                id=chat_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
            )
        else:
            chat.first_name, chat.last_name = first_name, last_name
            chat.username, chat.language_code = username, language_code
