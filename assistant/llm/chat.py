"""The ``LanguageModel`` port over one LangChain chat model, whatever serves it.

Each backend (embedded llama.cpp, Ollama, an OpenAI-compatible server) is a LangChain
``BaseChatModel`` plus two small things only it knows: how to ask for JSON that follows a schema
(Ollama's ``format``, OpenAI's ``response_format``, llama.cpp's grammar) and how its failures map
onto ``LanguageModelError`` codes. Everything else is here once: streaming with the chunk count
for progress, the bound on the whole call, what is done with the text, and the "recently
unreachable" memory.

What the model writes is outside text: a plain answer is made valid here (``safe_text.clean``),
so a lone surrogate or an escape sequence never reaches the dialog, the store or a socket. JSON
data cannot be mended without changing what the model meant, so data holding a lone surrogate
(a ``"\\ud800"`` escape) or a control character is refused as ``invalid_output``, and the
caller uses its template.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from assistant.errors import LanguageModelError
from assistant.ports import ModelReply, ModelStatus
from assistant.safe_text import clean, has_controls, has_surrogates

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

_LOGGER = logging.getLogger(__name__)
# After "cannot reach the server", optional work for the model is skipped this long: with the
# server down, searching the knowledge base for examples before every delivery only slowed a
# busy server (2,000 web sessions: deliveries queued for 50 s).
UNREACHABLE_MEMORY_S = 30.0

JsonRequest = Callable[[dict[str, Any]], dict[str, Any]]
ErrorMapper = Callable[[BaseException], LanguageModelError]


class ChatLanguageModel:
    """Streams one chat model's answers as text or JSON, bounded by ``timeout``.

    ``make_chat`` builds the LangChain model on first use: HTTP clients bind to the event loop
    they are first used in, and the embedded model must not load before it is asked to.
    """

    def __init__(
        self,
        name: str,
        model: str,
        make_chat: Callable[[], BaseChatModel],
        *,
        json_request: JsonRequest,
        map_error: ErrorMapper,
        status: Callable[[], Awaitable[ModelStatus]],
        timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.model = model
        self.timeout = timeout
        self._make_chat = make_chat
        self._json_request = json_request
        self._map_error = map_error
        self._status = status
        self._chat: BaseChatModel | None = None
        self._unreachable_at = float("-inf")  # monotonic time of the last "cannot reach"

    @property
    def chat(self) -> BaseChatModel:
        """The LangChain chat model, made on first use."""
        if self._chat is None:
            self._chat = self._make_chat()
        return self._chat

    async def status(self) -> ModelStatus:
        try:
            return await self._status()
        except Exception as err:
            return ModelStatus(reachable=False, detail=self._map_error(err).message)

    async def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        on_chunk: Callable[[int], None] | None = None,
    ) -> ModelReply:
        reply = await self._stream(system, user, self._json_request(schema), on_chunk)
        try:
            data = valid_json(json.loads(reply.text))
        except ValueError as err:
            refused = LanguageModelError(
                f"the model's answer is not usable JSON: {err}", code="invalid_output"
            )
            _LOGGER.warning("language model: %s", refused.message)
            raise refused from err
        return ModelReply(
            data, reply.text, reply.model, reply.prompt_tokens, reply.output_tokens, reply.seconds
        )

    async def complete_text(self, system: str, user: str) -> ModelReply:
        return await self._stream(system, user, {}, None)

    def recently_unreachable(self) -> bool:
        return time.monotonic() - self._unreachable_at < UNREACHABLE_MEMORY_S

    async def _stream(
        self,
        system: str,
        user: str,
        options: dict[str, Any],
        on_chunk: Callable[[int], None] | None,
    ) -> ModelReply:
        started = time.perf_counter()
        if self._chat is None:  # LangChain's first import takes a second: not on the loop
            await asyncio.to_thread(lambda: self.chat)
        from langchain_core.messages import HumanMessage, SystemMessage

        parts: list[str] = []
        count = prompt_tokens = output_tokens = 0
        messages = [SystemMessage(system), HumanMessage(user)]
        try:
            async with asyncio.timeout(self.timeout):
                async for chunk in self.chat.astream(messages, **options):
                    text = chunk.content if isinstance(chunk.content, str) else ""
                    parts.append(text)
                    count += 1
                    if on_chunk is not None:
                        on_chunk(count)
                    usage = getattr(chunk, "usage_metadata", None)
                    if usage:
                        prompt_tokens = usage.get("input_tokens", 0) or prompt_tokens
                        output_tokens = usage.get("output_tokens", 0) or output_tokens
        except Exception as err:  # KeyboardInterrupt, SystemExit, CancelledError go through
            mapped = self._map_error(err)
            _LOGGER.warning("language model: %s (%s)", mapped.message, mapped.code)
            if mapped.code == "unavailable":
                self._unreachable_at = time.monotonic()
            raise mapped from err
        self._unreachable_at = float("-inf")
        return ModelReply(
            None,
            clean("".join(parts)),
            self.model,
            prompt_tokens,
            output_tokens or count,
            time.perf_counter() - started,
        )


def valid_json(value: Any) -> Any:
    """JSON data with every text checked (Windows line ends become newlines); raises
    ``ValueError`` for a lone surrogate or a control character anywhere in it."""
    if isinstance(value, str):
        value = value.replace("\r\n", "\n")
        if has_surrogates(value):
            raise ValueError("a text holds invalid Unicode (a lone surrogate)")
        if has_controls(value):
            raise ValueError("a text holds control characters")
        return value
    if isinstance(value, list):
        return [valid_json(item) for item in value]
    if isinstance(value, dict):
        return {valid_json(key): valid_json(item) for key, item in value.items()}
    return value


def timeout_error(where: str) -> LanguageModelError:
    """The one "late" error every backend gives."""
    return LanguageModelError(f"{where} took too long", code="timeout")
