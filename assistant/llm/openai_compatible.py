"""The OpenAI-compatible backend: LangChain's ``ChatOpenAI`` with a ``base_url`` (llama.cpp's
server, vLLM, LM Studio).

Servers differ in how they take a JSON schema: the standard ``{"type": "json_schema", ...}``
(vLLM, LM Studio, OpenAI) or llama.cpp's ``{"type": "json_object", "schema": ...}``, which turns
it into a grammar and refuses the standard form as an unknown type (with a 500 naming ``response_format``). The
first such refusal switches this model to llama.cpp's form, once, and the call is asked again.

The API key is a secret: it goes to the client and nowhere else (never into a log line).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from assistant.errors import LanguageModelError
from assistant.llm.chat import ChatLanguageModel, timeout_error
from assistant.ports import ModelReply, ModelStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_core.language_models import BaseChatModel

_LOGGER = logging.getLogger(__name__)
NO_KEY = "not-needed"  # local servers take any key; the client insists on one


def openai_error(err: BaseException, base_url: str, model: str) -> LanguageModelError:
    """The client's exceptions as our codes (timeouts first: they are connection errors too)."""
    import openai

    if isinstance(err, LanguageModelError):
        return err
    if isinstance(err, TimeoutError | openai.APITimeoutError):
        return timeout_error(base_url)
    if isinstance(err, openai.APIConnectionError):
        return LanguageModelError(
            f"cannot reach the model server at {base_url}", code="unavailable"
        )
    if isinstance(err, openai.NotFoundError):
        return LanguageModelError(f"model {model!r} is not on {base_url}", code="model_missing")
    if isinstance(err, openai.AuthenticationError | openai.PermissionDeniedError):
        return LanguageModelError(
            f"{base_url} refused the API key (openai_api_key)", code="unavailable"
        )
    if isinstance(err, openai.APIStatusError):
        return LanguageModelError(
            f"the model server said {err.status_code}: {err.message}", code="failed"
        )
    return LanguageModelError(f"{type(err).__name__}: {err}", code="failed")


def _standard(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": False},
        }
    }


def _llama_cpp(schema: dict[str, Any]) -> dict[str, Any]:
    from assistant.llm.embedded import grammar_schema

    return {"response_format": {"type": "json_object", "schema": grammar_schema(schema)}}


class OpenAICompatibleModel(ChatLanguageModel):
    """Chat completions on one model of an OpenAI-compatible server, streamed."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "",
        temperature: float = 0.7,
        max_tokens: int = 768,
        timeout: float = 60.0,
    ) -> None:
        import langchain_openai  # noqa: F401  (seconds to import: at start-up, not on a request)

        self.base_url = base_url.rstrip("/")
        self._api_key = api_key or NO_KEY
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._dialect: Callable[[dict[str, Any]], dict[str, Any]] = _standard
        super().__init__(
            f"openai:{model}",
            model,
            self._make,
            json_request=lambda schema: self._dialect(schema),
            map_error=lambda err: openai_error(err, self.base_url, model),
            status=self._list,
            timeout=timeout,
        )

    def __repr__(self) -> str:  # never the key
        return f"OpenAICompatibleModel({self.base_url!r}, {self.model!r})"

    def _make(self) -> BaseChatModel:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        return ChatOpenAI(
            model=self.model,
            base_url=self.base_url,
            api_key=SecretStr(self._api_key),
            temperature=self.temperature,
            max_completion_tokens=self.max_tokens,
            timeout=self.timeout,
            max_retries=0,  # our caller has its own bound and its own fallback
            stream_usage=True,
        )

    async def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        on_chunk: Callable[[int], None] | None = None,
    ) -> ModelReply:
        try:
            return await super().complete_json(system, user, schema, on_chunk)
        except LanguageModelError as err:
            if not _refused_format(err.__cause__) or self._dialect is _llama_cpp:
                raise
        _LOGGER.info("%s refused a json_schema request: asking with a grammar", self.base_url)
        self._dialect = _llama_cpp
        return await super().complete_json(system, user, schema, on_chunk)

    async def _list(self) -> ModelStatus:
        import openai

        client = openai.AsyncOpenAI(
            base_url=self.base_url, api_key=self._api_key, timeout=5.0, max_retries=0
        )
        async with client, asyncio.timeout(min(self.timeout, 5.0)):
            listed = await client.models.list()
        names = tuple(m.id for m in listed.data)
        # llama.cpp's server answers to any model name with the one file it serves.
        has = self.model in names or len(names) == 1
        return ModelStatus(reachable=True, models=names, has_model=has)


def _refused_format(err: BaseException | None) -> bool:
    """Whether the server refused the request's ``response_format`` (llama.cpp's server
    answers 500 with its validation error; others 400 or 422)."""
    import openai

    return isinstance(err, openai.APIStatusError) and "response_format" in str(err)
