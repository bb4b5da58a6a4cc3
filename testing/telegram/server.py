"""The fake Bot API server itself: HTTP on a real socket, method calls routed to handlers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from testing.telegram.methods import BotMethods
from testing.telegram.wire import (
    _BOOL_PARAMS,
    _DEFAULT_DESCRIPTIONS,
    _INT_PARAMS,
    _JSON_PARAMS,
    _MAX_UPLOAD,
    ApiError,
    Call,
    JsonDict,
    _bad,
)


class FakeBotApi(BotMethods):
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

    @functools.cached_property
    def _methods(self) -> dict[str, tuple[str, Callable[..., Any]]]:
        """Method names, lower-cased as Telegram matches them, to their handlers."""
        return {
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
