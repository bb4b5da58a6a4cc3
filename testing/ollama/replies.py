"""Chat and generate answers: validation, the NDJSON stream or whole reply, and scripted faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from aiohttp import web

from assistant.safe_text import has_surrogates
from testing.ollama.scripting import ScriptedOllama
from testing.ollama.wire import (
    _POLL_S,
    DEFAULT_NUM_CTX,
    DEFAULT_STATUS_ERROR,
    DEFAULT_STREAM_ERROR,
    Chunk,
    JsonDict,
    RecordedRequest,
    Reply,
    _chunk_content,
    _client_gone,
    _error,
    _not_found,
    _now,
    _stats,
    _Stop,
    _tokens,
)


class ReplyingOllama(ScriptedOllama):
    """``POST /api/chat`` and ``/api/generate``, answered from the scripts."""

    async def _chat(
        self, request: web.Request, record: RecordedRequest, body: JsonDict
    ) -> web.StreamResponse:
        return await self._complete(request, record, body, chat=True)

    async def _generate(
        self, request: web.Request, record: RecordedRequest, body: JsonDict
    ) -> web.StreamResponse:
        return await self._complete(request, record, body, chat=False)

    async def _complete(
        self, request: web.Request, record: RecordedRequest, body: JsonDict, *, chat: bool
    ) -> web.StreamResponse:
        """Shared chat/generate logic: validation, load-only requests, scripted replies."""
        if not body.get("model"):
            return _error(400, "model is required")
        info = self._find(body)
        if info is None:
            return _not_found(body)
        if "completion" not in info.capabilities:
            return _error(
                400, f'"{body["model"]}" does not support {"chat" if chat else "generate"}'
            )
        fmt = body.get("format")
        if fmt is not None and not (fmt in ("", "json") or isinstance(fmt, dict)):
            return _error(400, 'invalid format: expected "json" or a valid JSON schema')
        stream = body.get("stream", True) is not False
        unloading = self._touch(info, body)
        if chat:
            messages = body.get("messages") or []
            prompt_text = "".join(str(m.get("content") or "") for m in messages)
        else:
            prompt_text = str(body.get("system") or "") + str(body.get("prompt") or "")
        if not (messages if chat else body.get("prompt")):
            # Ollama only loads (or unloads) the model and answers at once.
            reason = "unload" if unloading else "load"
            return web.json_response(
                self._piece(body, chat, "", done=True) | {"done_reason": reason}
            )

        reply = await self._next_reply(info.name, body)
        if reply is None:
            return _error(
                500,
                f"FakeOllama: nothing scripted for model {info.name!r} "
                "(use server.script(...) or server.responder)",
            )
        if reply.status != 200:
            return _error(reply.status, reply.error or DEFAULT_STATUS_ERROR)

        options = body.get("options") or {}
        chunks, done_reason = list(reply.chunks), reply.done_reason
        num_predict = options.get("num_predict")
        if isinstance(num_predict, int) and 0 <= num_predict < len(chunks):
            chunks, done_reason = chunks[:num_predict], "length"
        num_ctx = int(options.get("num_ctx") or DEFAULT_NUM_CTX)
        prompt_tokens = reply.prompt_eval_count
        if prompt_tokens is None:
            prompt_tokens = min(_tokens(prompt_text), num_ctx)
        eval_count = reply.eval_count if reply.eval_count is not None else len(chunks)
        final = self._piece(body, chat, "", done=True) | {
            "done_reason": done_reason,
            **_stats(prompt_tokens, eval_count),
        }
        if not chat:
            final["context"] = list(range(1, min(prompt_tokens + eval_count, 16) + 1))
        faults = [
            (index, kind)
            for index, kind in (
                (reply.hang_after, "hang"),
                (reply.error_after, "error"),
                (reply.close_after, "close"),
            )
            if index is not None
        ]
        fault = min(faults, key=lambda f: f[0]) if faults else None
        if stream:
            return await self._stream(request, record, body, chat, reply, chunks, final, fault)
        return await self._whole(request, record, body, chat, reply, chunks, final, fault)

    def _piece(self, body: JsonDict, chat: bool, chunk: Chunk, *, done: bool) -> JsonDict:
        """One NDJSON object in Ollama's shape for chat (``message``) or generate (``response``)."""
        extra = {} if isinstance(chunk, str) else {k: v for k, v in chunk.items() if k != "content"}
        content = _chunk_content(chunk)
        piece: JsonDict = {"model": body["model"], "created_at": _now()}
        if chat:
            piece["message"] = {"role": "assistant", "content": content, **extra}
        else:
            piece["response"] = content
            if "thinking" in extra:
                piece["thinking"] = extra["thinking"]
        piece["done"] = done
        return piece

    async def _stream(
        self,
        request: web.Request,
        record: RecordedRequest,
        body: JsonDict,
        chat: bool,
        reply: Reply,
        chunks: list[Chunk],
        final: JsonDict,
        fault: tuple[int, str] | None,
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/x-ndjson"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        record.status = 200
        try:
            await self._pause(request, reply.delay_before)
            for index in range(len(chunks) + 1):
                if fault is not None and index == min(fault[0], len(chunks)):
                    await self._strike(request, record, response, reply, fault[1])
                if index == len(chunks):
                    break
                if index:
                    await self._pause(request, reply.delay_per_chunk)
                piece = self._piece(body, chat, chunks[index], done=False)
                await self._write(record, response, piece)
                record.chunks_sent += 1
            await self._write(record, response, final)
            try:
                await response.write_eof()
            except ConnectionError:
                raise _Stop("client_disconnected") from None
        except _Stop as stop:
            stop.response = response
            raise
        return response

    async def _whole(
        self,
        request: web.Request,
        record: RecordedRequest,
        body: JsonDict,
        chat: bool,
        reply: Reply,
        chunks: list[Chunk],
        final: JsonDict,
        fault: tuple[int, str] | None,
    ) -> web.StreamResponse:
        generated = len(chunks) if fault is None else min(fault[0], len(chunks))
        await self._pause(request, reply.delay_before + reply.delay_per_chunk * generated)
        if fault is not None:
            kind = fault[1]
            if kind == "error":
                return _error(500, reply.error or DEFAULT_STREAM_ERROR)
            await self._strike(request, record, None, reply, kind)
        result = dict(final)
        if chat:
            message: JsonDict = {
                "role": "assistant",
                "content": "".join(map(_chunk_content, chunks)),
            }
            thinking = "".join(str(c.get("thinking", "")) for c in chunks if isinstance(c, dict))
            tool_calls = [t for c in chunks if isinstance(c, dict) for t in c.get("tool_calls", [])]
            if thinking:
                message["thinking"] = thinking
            if tool_calls:
                message["tool_calls"] = tool_calls
            result["message"] = message
        else:
            result["response"] = "".join(map(_chunk_content, chunks))
        return web.json_response(result)

    async def _strike(
        self,
        request: web.Request,
        record: RecordedRequest,
        response: web.StreamResponse | None,
        reply: Reply,
        kind: str,
    ) -> None:
        """Apply a fault; always ends the request by raising ``_Stop``."""
        if kind == "error":
            assert response is not None
            await self._write(record, response, {"error": reply.error or DEFAULT_STREAM_ERROR})
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
            raise _Stop("error_line")
        if kind == "close":
            transport = request.transport
            if transport is not None:
                transport.close()  # FIN after the bytes already written: a dying server
            raise _Stop("connection_closed")
        # hang: stall until the client gives up or the server goes down
        while not self._closing.is_set():
            if _client_gone(request):
                raise _Stop("client_disconnected")
            await self._pause(request, _POLL_S)
        raise _Stop("server_down")

    async def _pause(self, request: web.Request, seconds: float) -> None:
        """Sleep, but end the request if the server goes down or the client leaves."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if _client_gone(request):
                raise _Stop("client_disconnected")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), min(left, _POLL_S))
            if self._closing.is_set():
                transport = request.transport
                if transport is not None:
                    transport.abort()
                raise _Stop("server_down")

    async def _write(
        self, record: RecordedRequest, response: web.StreamResponse, obj: JsonDict
    ) -> None:
        line = json.dumps(obj, ensure_ascii=False)
        if has_surrogates(line):  # a lone surrogate travels as a JSON escape, like "\\ud800"
            line = json.dumps(obj)
        try:
            await response.write(line.encode() + b"\n")
        except ConnectionError:
            raise _Stop("client_disconnected") from None
