"""An in-process fake of the Telegram Bot API HTTP server, for tests.

Why a fake server and not mocks: the production bot talks to Telegram through aiogram, and
the bugs worth catching live in the wire protocol (how parameters are encoded, what the
responses must contain for aiogram to parse them, which HTTP status turns into which
exception, how long polling and offsets behave). So the bot under test runs unchanged
against this server through ``TelegramAPIServer.from_base(api.base_url)``; nothing inside
aiogram is patched.

The fake follows the real Bot API where it matters to a bot:

* ``POST/GET {base}/bot{token}/{method}`` with query, urlencoded, multipart or JSON
  parameters; method names are case-insensitive; nested objects arrive JSON-encoded in
  form fields; uploads arrive as ``attach://<field>`` references (aiogram's way) or as
  direct file fields.
* Responses ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
  "description": "...", "parameters": {...}}`` with the HTTP status equal to the code.
* Telegram's own error texts for the mistakes a bot really makes: unknown chat, blocked
  user, empty or too long text, callback data over 64 bytes,
  button URLs without a dot in the host (``localhost``), editing with identical content
  ("message is not modified"), answering a callback query too late, two concurrent
  ``getUpdates`` (409), ``getUpdates`` while a webhook is set (409).
* ``parse_mode`` markup is not modelled (the bot never sends it): a call with it is refused.
* Editing a message without ``reply_markup`` removes its inline keyboard, as Telegram does.

Tests script users with ``push_*``/``press``, observe the bot through ``sent``,
``messages``, ``wait_for`` and friends, and inject faults with ``fail_next``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import mimetypes
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

JsonDict = dict[str, Any]

#: Methods that put a new message into a chat.
SEND_METHODS: tuple[str, ...] = ("sendMessage", "sendDocument", "sendPhoto", "sendVoice")
#: Methods that change a message the bot sent earlier.
EDIT_METHODS: tuple[str, ...] = ("editMessageText", "editMessageReplyMarkup")
#: Methods whose successful calls are recorded in ``FakeBotApi.sent``.
RECORDED_METHODS: tuple[str, ...] = (
    *SEND_METHODS,
    *EDIT_METHODS,
    "deleteMessage",
    "answerCallbackQuery",
)

# Update types Telegram delivers when allowed_updates is empty or was never set.
_DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)

_DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: _POLL_CONFLICT,
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}

# Parameter types: form fields are all strings, so the server has to know which are what.
_INT_PARAMS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "timeout",
        "duration",
        "reply_to_message_id",
        "cache_time",
        "max_connections",
        "message_thread_id",
        "width",
        "height",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "allow_paid_broadcast",
        "show_caption_above_media",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "link_preview_options",
        "allowed_updates",
        "entities",
        "caption_entities",
        "reply_parameters",
        "commands",
        "scope",
    }
)

_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_UPLOAD = 50 * 1024 * 1024


def _u16(text: str) -> int:
    """Length in UTF-16 code units: Telegram measures texts and entity offsets this way."""
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """A Bot API error response (status, description, optional retry_after)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class WaitTimeout(AssertionError):
    """``wait_for`` saw no matching record in time; the message lists what was sent."""


@dataclass
class Sent:
    """One successful call of a method in ``RECORDED_METHODS``.

    ``text`` is the raw ``text``/``caption`` parameter the bot sent (markup included);
    ``plain_text`` is what the user sees (markup parsed away, trimmed).
    ``files`` maps the API parameter name (``document``, ``photo``, ``voice``) to
    ``(filename, bytes)`` of the upload. ``time`` is ``time.monotonic()``.
    """

    method: str
    chat_id: int | str | None
    text: str | None
    plain_text: str | None
    reply_markup: JsonDict | None
    message_id: int | None
    files: dict[str, tuple[str, bytes]]
    params: JsonDict
    time: float
    result: Any

    @property
    def buttons(self) -> list[JsonDict]:
        """Inline keyboard buttons of ``reply_markup``, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def button(self, text: str) -> JsonDict:
        """The inline button labelled ``text``; KeyError lists the labels there are."""
        for candidate in self.buttons:
            if candidate.get("text") == text:
                return candidate
        raise KeyError(f"no button {text!r}; buttons: {[b.get('text') for b in self.buttons]}")


@dataclass
class Call:
    """One request that reached a known token: for debugging and for counting retries."""

    method: str
    params: JsonDict
    status: int
    time: float
    injected: bool = False


@dataclass
class StoredFile:
    """A file the server can serve through getFile and the download route."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    filename: str | None = None
    mime_type: str | None = None

    def as_file(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class _Fault:
    method: str
    status: int | None
    retry_after: int | None
    delay: float
    description: str | None
    times: int
    chat_id: int | str | None
    deliver: bool


@dataclass
class _Chat:
    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str = "en"
    blocked: bool = False
    last_message_id: int = 0
    messages: dict[int, JsonDict] = field(default_factory=dict)
    last_send: float | None = None

    def as_chat(self) -> JsonDict:
        chat: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class _CallbackQuery:
    chat_id: int
    message_id: int
    created: float
    answered: bool = False


# --------------------------------------------------------------------------- text and entities


def _trim(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Telegram strips leading and trailing whitespace and shifts entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = _u16(text[: len(text) - len(text.lstrip())])
    limit = _u16(stripped)
    kept: list[JsonDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _render(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JsonDict]]:
    """Text as displayed plus its entities, as Telegram computes them for a message.

    ``parse_mode`` markup (HTML, MarkdownV2) is not modelled: the bot sends plain text, so a
    change that starts sending markup is refused here, loudly, rather than half-checked.
    """
    if parse_mode:
        raise _bad(f"parse_mode {parse_mode!r} is not modelled by this fake: send plain text")
    if entities:
        if not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        plain, found = text, [dict(entity) for entity in entities]
    else:
        plain, found = text, []
    plain, found = _trim(plain, found)
    found.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return plain, found


def _command_entities(text: str) -> list[JsonDict]:
    """bot_command entities like Telegram adds to user messages (``/start``, ``/help@bot``)."""
    found = []
    for match in re.finditer(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@\w+)?", text):
        found.append(
            {
                "type": "bot_command",
                "offset": _u16(text[: match.start()]),
                "length": _u16(match.group()),
            }
        )
    return found


# --------------------------------------------------------------------------- media sniffing


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF, BMP or WebP; None when it is not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"BM") and len(data) >= 26:
        return int.from_bytes(data[18:22], "little"), abs(
            int.from_bytes(data[22:26], "little", signed=True)
        )
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return (
                int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1,
            )
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            return (
                int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF,
            )
        return None
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            length = int.from_bytes(data[index + 2 : index + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD):
                height = int.from_bytes(data[index + 5 : index + 7], "big")
                width = int.from_bytes(data[index + 7 : index + 9], "big")
                return width, height
            index += 2 + length
        return None
    return None


def _ogg_opus_duration(data: bytes) -> float | None:
    """Seconds of an Ogg Opus stream from its last granule position and pre-skip."""
    if not data.startswith(b"OggS"):
        return None
    head = data.find(b"OpusHead")
    last = data.rfind(b"OggS")
    if head < 0 or last < 0 or len(data) < last + 14:
        return None
    pre_skip = int.from_bytes(data[head + 10 : head + 12], "little")
    granule = int.from_bytes(data[last + 6 : last + 14], "little")
    return max(granule - pre_skip, 0) / 48000


# --------------------------------------------------------------------------- the server


class FakeBotApi:
    """A Telegram Bot API server on 127.0.0.1 that tests script and inspect.

    ``async with FakeBotApi() as api:`` serves on a free port until the block ends; point
    aiogram at it with ``TelegramAPIServer.from_base(api.base_url)``.

    ``strict_chats``: sending to a chat that never wrote to the bot fails with Telegram's
    "chat not found", so a bot that assumes it can message anyone is caught; ``add_chat``
    and every ``push_*`` make a chat known. ``min_send_interval``: when set, a second
    message to one chat sooner than this many seconds gets Telegram's 429 flood error.
    ``callback_answer_timeout``: answering a callback query later than this fails with
    "query is too old", as it does on Telegram.
    """

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
        self._methods: dict[str, tuple[str, Callable[..., Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._true,
                "close": self._true,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "sendVoice": self._send_voice,
                "getFile": self._get_file,
                "sendChatAction": self._send_chat_action,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Serve on a free port of ``host``."""
        app = web.Application(client_max_size=_MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Stop serving; long polls and injected hangs end at once instead of lingering."""
        self._closing.set()
        self._notify_updates()
        self._notify_sent()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` for ``TelegramAPIServer.from_base``."""
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return f"http://{self.host}:{self._port}"

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

    # ------------------------------------------------------------------ scripting users

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

    # ------------------------------------------------------------------ HTTP plumbing

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        body: JsonDict = {
            "ok": False,
            "error_code": error.status,
            "description": error.description,
        }
        if error.retry_after is not None:
            body["parameters"] = {"retry_after": error.retry_after}
        return web.json_response(body, status=error.status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return self._error(ApiError(404, "Not Found"))
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        requested = request.match_info["method"]
        entry = self._methods.get(requested.lower())
        name, handler = entry if entry is not None else (requested, None)
        started = time.monotonic()
        try:
            params, files = await self._read_params(request)
        except ApiError as error:
            self.calls[name] += 1
            self.call_log.append(Call(name, {}, error.status, started))
            return self._error(error)
        self.calls[name] += 1
        call = Call(name, {k: v for k, v in params.items() if k not in files}, 200, started)
        self.call_log.append(call)
        if handler is None:
            call.status = 404
            return self._error(ApiError(404, "Not Found"))

        fault = self._take_fault(requested.lower(), params)
        if fault is not None:
            call.injected = True
            if fault.delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), fault.delay)
            if fault.status is not None or self._closing.is_set():
                status = fault.status or 502
                description = fault.description or _DEFAULT_DESCRIPTIONS.get(
                    status, HTTPStatus(status).phrase
                )
                if status == 429 and fault.description is None:
                    description = f"Too Many Requests: retry after {fault.retry_after}"
                call.status = status
                return self._error(ApiError(status, description, fault.retry_after))
            if not fault.deliver and (request.transport is None or request.transport.is_closing()):
                call.status = 504  # the client gave up; the call is dropped, not carried out
                return self._error(ApiError(504, "Gateway Timeout"))

        try:
            result = await handler(params, files)
        except ApiError as error:
            call.status = error.status
            return self._error(error)
        return self._ok(result)

    async def _read_params(
        self, request: web.Request
    ) -> tuple[JsonDict, dict[str, tuple[str, bytes]]]:
        """Parameters from the query string and body, typed; uploads by API field name."""
        raw: JsonDict = dict(request.query)
        uploads: dict[str, tuple[str, bytes]] = {}
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as error:
                    raise _bad("can't parse JSON request body") from error
                if not isinstance(body, dict):
                    raise _bad("can't parse JSON request body")
                raw.update(body)
            else:
                try:
                    form = await request.post()
                except web.HTTPRequestEntityTooLarge as error:
                    raise ApiError(413, "Request Entity Too Large") from error
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = (value.filename or key, value.file.read())
                    else:
                        raw[key] = value
        files: dict[str, tuple[str, bytes]] = {}
        for key, value in list(raw.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                attached = uploads.pop(value.removeprefix("attach://"), None)
                if attached is None:
                    raise _bad(f'can\'t find attached file "{value.removeprefix("attach://")}"')
                files[key] = attached
                del raw[key]
        files.update(uploads)
        params = {key: self._coerce(key, value) for key, value in raw.items()}
        for key in files:
            params.pop(key, None)
        return params, files

    @staticmethod
    def _coerce(key: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if key in ("chat_id", "user_id"):
            return int(value) if re.fullmatch(r"-?\d+", value) else value
        if key in _INT_PARAMS:
            try:
                return int(value)
            except ValueError as error:
                raise _bad(f"invalid {key} specified") from error
        if key in _BOOL_PARAMS:
            return value.lower() in ("true", "1")
        if key in _JSON_PARAMS:
            try:
                return json.loads(value)
            except ValueError as error:
                if key == "reply_markup":
                    raise _bad("can't parse reply keyboard markup JSON object") from error
                raise _bad(f"can't parse {key} JSON object") from error
        return value

    # ------------------------------------------------------------------ state helpers

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

    # ------------------------------------------------------------------ methods

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
