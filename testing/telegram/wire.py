"""The Bot API's wire: method names, parameter types, Telegram's error texts, and the records
the fake keeps of chats, messages, files and calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
