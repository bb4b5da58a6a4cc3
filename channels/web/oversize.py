"""A websocket that says why when it closes on a frame over the size limit.

aiohttp reads a frame over ``max_msg_size``, stops, and closes with 1009 and no reason, so the
page would only say "the connection was lost". The connection gives this socket the sentence
in the session's language; it is sent as an error message and carried as the close reason
(which the page shows), the same way a flooding client is told.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from aiohttp import WSCloseCode, web

CLOSE_REASON_BYTES = 123  # the most a websocket close frame may carry


def close_reason(sentence: str) -> bytes:
    """``sentence`` cut to fit a close frame, on a character boundary."""
    return sentence.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore").encode()


class SayingWebSocket(web.WebSocketResponse):
    """A ``WebSocketResponse`` whose close for an oversized frame carries a sentence."""

    too_large: Callable[[], str] | None = None  # the sentence, in the session's language

    async def close(
        self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True
    ) -> bool:
        """Close; for 1009 without a reason, first send the sentence and make it the reason."""
        say = self.too_large
        if code == WSCloseCode.MESSAGE_TOO_BIG and not message and say and not self.closed:
            sentence = say()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.send_json(
                    {"type": "error", "code": "frame_too_large", "message": sentence}
                )
            message = close_reason(sentence)
        return await super().close(code=code, message=message, drain=drain)
