"""Deadlines for slow HTTP clients: headers, bodies and idle connections.

aiohttp bounds only an idle connection (``keepalive_timeout``, 3630 s under ``AppRunner``)
and has no deadline for a request's headers or body, so a client sending one header line
every few seconds holds a connection (and its memory) as long as it likes; fifty of them
tie up the server. Three bounds, each its own setting:

* headers: ``DeadlineRequestHandler`` (aiohttp's ``RequestHandler`` with one timer) closes
  a connection whose request line and headers are not complete within ``header_timeout``
  of the connection or of the first byte of its next request;
* body: ``body_deadline`` (a middleware) reads a request's body within ``body_timeout``
  before any handler sees it, else 408; the body is kept, so handlers read it as usual;
* idle: ``keepalive_timeout`` of the runner.

``GuardedRunner`` is ``AppRunner`` serving with that handler. It reaches into two private
names of aiohttp's ``Server`` (``_loop``, ``_kwargs``); tests/test_http_edges.py pins the
behaviour over real sockets, so an aiohttp upgrade that changes them fails there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

_LOGGER = logging.getLogger(__name__)

EDGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
SERVER_NAME = "facility-assistant"  # no versions: they only tell a probe what to try

REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n"
    b"Server: " + SERVER_NAME.encode() + b"\r\n\r\n"
)


# After the 408, what the client still sends is read and dropped this long before the close:
# closing with its bytes unread makes the kernel answer with a reset, which on the client's
# side discards the 408 it had not read yet (the same lingering close aiohttp does itself).
LINGER_S = 1.0


class DeadlineRequestHandler(RequestHandler):
    """One connection; its request line and headers must arrive within ``header_timeout``."""

    def __init__(self, manager: web.Server, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._body: StreamReader | None = None  # the last request's body, while it arrives
        self._lingering = False  # answered 408: what still comes in is dropped until the close

    def _waiting_for_headers(self) -> bool:
        """Between requests: not a websocket, not in the middle of a body."""
        if self._upgraded or self._payload_parser is not None:
            return False
        return self._body is None or self._body.is_eof()

    def _arm(self) -> None:
        if self._header_timer is None and self._header_timeout > 0:
            self._header_timer = self._loop.call_later(self._header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.transport is None or not self._waiting_for_headers():
            return
        peer = self.transport.get_extra_info("peername")
        _LOGGER.info("http: closed a connection from %s: headers not complete in time", peer)
        if self._current_request is not None:  # a response is under way: just close
            self.force_close()
            return
        self.transport.write(REQUEST_TIMEOUT)
        if isinstance(self.transport, asyncio.WriteTransport) and self.transport.can_write_eof():
            self.transport.write_eof()  # the 408 and the end, while we still read
        self._lingering = True
        self._loop.call_later(LINGER_S, self.force_close)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """A new connection: its first request's headers are due within the bound."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Bytes in: the first of a request starts its deadline, complete headers end it."""
        if self._lingering:
            return
        if self._waiting_for_headers():
            self._arm()
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:
            self._disarm()
            if self._messages:
                payload = self._messages[-1][1]
                self._body = payload if isinstance(payload, StreamReader) else None

    def connection_lost(self, exc: BaseException | None) -> None:
        """Gone: nothing left to time."""
        self._disarm()
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's error page (a malformed request never reaches the application's
        hooks), with the same headers every other response carries."""
        response = super().handle_error(request, status, exc, message)
        response.headers.update(EDGE_HEADERS)
        response.headers["Server"] = SERVER_NAME
        return response


class _GuardedServer(web.Server):
    """aiohttp's ``Server``, making ``DeadlineRequestHandler`` connections."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout

    def __call__(self) -> RequestHandler:
        return DeadlineRequestHandler(
            self, loop=self._loop, header_timeout=self.header_timeout, **self._kwargs
        )


class GuardedRunner(web.AppRunner):
    """``AppRunner`` whose connections must send their headers within ``header_timeout``;
    ``keepalive_timeout`` (in ``kwargs``) bounds idle connections as usual."""

    def __init__(self, app: web.Application, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._header_timeout = header_timeout

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return _GuardedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            header_timeout=self._header_timeout,
            **plain._kwargs,
        )


def reads_own_body(handler: Any) -> Any:
    """Mark a handler that reads its body itself, with its own size limit and ``timeout``
    (issue 15: a photo upload is larger than every other body, and says why it refuses)."""
    handler.reads_own_body = True
    return handler


def body_deadline(timeout: float) -> Any:
    """A middleware reading each request's body within ``timeout`` seconds, else 408."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if getattr(handler, "reads_own_body", False):
            return await handler(request)
        if request.body_exists and request.can_read_body:
            try:
                async with asyncio.timeout(timeout):
                    await request.read()  # kept by aiohttp: the handler reads it again
            except TimeoutError:
                _LOGGER.info("http: request body from %s not complete in time", request.remote)
                response = web.Response(status=408, text="Request Timeout")
                response.force_close()
                return response
        return await handler(request)

    return middleware
