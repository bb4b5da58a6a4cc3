"""An in-process fake of the Telegram Bot API HTTP server, for tests and benchmarks.

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

The package: ``wire`` (names, errors, records), ``content`` (text, entities, media),
``state`` (what the fake knows), ``scripting`` (users, observation, faults), ``methods``
(the Bot API methods) and ``server`` (HTTP on a real socket).
"""

from testing.telegram.server import FakeBotApi
from testing.telegram.wire import (
    EDIT_METHODS,
    RECORDED_METHODS,
    SEND_METHODS,
    ApiError,
    Call,
    Sent,
    StoredFile,
    WaitTimeout,
)

__all__ = [
    "EDIT_METHODS",
    "RECORDED_METHODS",
    "SEND_METHODS",
    "ApiError",
    "Call",
    "FakeBotApi",
    "Sent",
    "StoredFile",
    "WaitTimeout",
]
