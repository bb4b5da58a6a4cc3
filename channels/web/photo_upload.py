"""The web chat's photo upload (issue 15, part U): ``POST /photo``, not the websocket.

A picture is megabytes; the websocket's frames are kept small on purpose (``oversize.py``),
so the page sends the file's bytes as one HTTP body instead. The route is guarded like the
websocket: only our own pages' Origin and Host, and a token the server gave that page in its
session message (an HMAC of the session key with a secret of this process), sent in a header
(``X-Photo-Token``): a form on another site can neither read the token nor set the header, so
the route is safe from cross-site requests without cookies. The size limit holds at the HTTP
layer: a declared length over it is refused before a byte is read, and a body that grows
past it is cut off. The picture then becomes a turn like any other, and its replies (the
alt-text question, or the refusal in words) reach every page of the session.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets

from aiohttp import web

from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.http_guard import reads_own_body
from assistant.photos import PhotoError, PhotoStore
from channels.web.hub import SessionHub
from channels.web.origins import OriginPolicy

_LOGGER = logging.getLogger(__name__)
TOKEN_HEADER = "X-Photo-Token"
_CHUNK = 64 * 1024


class PhotoUpload:
    """Issues upload tokens for sessions and takes pictures posted with one."""

    def __init__(
        self,
        manager: DialogManager,
        hub: SessionHub,
        photos: PhotoStore,
        origins: OriginPolicy,
        channel: str,
        body_timeout: float = 30.0,
    ) -> None:
        self.manager = manager
        self.hub = hub
        self.photos = photos
        self.origins = origins
        self.channel = channel
        self.body_timeout = body_timeout  # as for every other body (assistant/http_guard.py)
        self._secret = secrets.token_bytes(32)  # tokens last as long as this process

    def token(self, key: str) -> str:
        """The token a page of session ``key`` sends with its pictures."""
        encoded = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
        return f"{encoded}.{self._mac(key)}"

    def _mac(self, key: str) -> str:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()[:40]

    def _key(self, token: str | None) -> str | None:
        """The session a token names, or None for a forged or malformed one."""
        if not token or len(token) > 600 or "." not in token:
            return None
        encoded, mac = token.rsplit(".", 1)
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return key if hmac.compare_digest(mac, self._mac(key)) else None

    @reads_own_body
    async def handle(self, request: web.Request) -> web.Response:
        """Take one picture for the session the token names; the answer is in the chat."""
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        port = sockname[1] if isinstance(sockname, tuple) and len(sockname) > 1 else 0
        refusal = self.origins.refusal(
            origin=request.headers.get("Origin"), host=request.headers.get("Host"), port=port
        )
        if refusal is not None or request.headers.get("Origin") is None:
            _LOGGER.warning("web: refused a photo from %s: %s", request.remote, refusal)
            return web.json_response({"code": "forbidden_origin"}, status=403)
        key = self._key(request.headers.get(TOKEN_HEADER))
        session = await self.manager.session(key) if key else None
        if key is None or session is None:
            return web.json_response({"code": "forbidden"}, status=403)
        try:
            async with asyncio.timeout(self.body_timeout):
                data = await self._body(request)
        except TimeoutError:
            response = web.json_response({"code": "timeout"}, status=408)
            response.force_close()
            return response
        if data is None:
            await self._turn(key, session.language, None, "too_big")
            response = web.json_response({"code": "too_big"}, status=413)
            response.force_close()  # the rest of the body is not read
            return response
        try:
            photo = await asyncio.to_thread(self.photos.accept, data)
        except PhotoError as err:
            _LOGGER.info("web: photo refused for %s: %s (%s)", key, err.code, err.message)
            await self._turn(key, session.language, None, err.code)
            # The request did its work (the refusal is said in the chat): not an HTTP error.
            return web.json_response({"code": err.code, "accepted": False})
        await self._turn(key, session.language, photo.id, None)
        return web.json_response(
            {"code": "ok", "accepted": True, "width": photo.width, "height": photo.height}
        )

    async def _body(self, request: web.Request) -> bytes | None:
        """The body, or None when it is (or grows) larger than the limit."""
        limit = self.photos.max_bytes
        if request.content_length is not None and request.content_length > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _turn(self, key: str, language: str, photo: str | None, problem: str | None) -> None:
        """The picture (or why it was refused) as a turn; its replies go to the pages."""
        turn = Turn(
            key, language=language, channel=self.channel, photo=photo, photo_problem=problem
        )
        with self.hub.writing(key):
            replies = await self.manager.handle(turn)
            await self.hub.publish(key, replies)
            await self.hub.note_stored(key)
