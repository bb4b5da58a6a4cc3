"""The Ollama backend: LangChain's ``ChatOllama`` (which always streams) on the official client.

The client raises different things for the same cause (a server that is down is a
``ConnectionError`` for a plain call but an ``httpx.ConnectError`` at the first chunk of a
stream), so they are mapped here, in one place, onto the codes every caller knows.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from assistant.errors import LanguageModelError
from assistant.llm.chat import ChatLanguageModel, timeout_error
from assistant.ports import ModelStatus

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def ollama_error(err: BaseException, host: str, model: str) -> LanguageModelError:
    """One code for each way the server or the client can fail."""
    import httpx
    import ollama

    if isinstance(err, LanguageModelError):
        return err
    if isinstance(err, ollama.ResponseError):
        if err.status_code == 404:
            return LanguageModelError(
                f"model {model!r} is not on {host}: run `ollama pull {model}`",
                code="model_missing",
            )
        return LanguageModelError(f"the model server said: {err.error}", code="failed")
    if isinstance(err, TimeoutError | httpx.TimeoutException):
        return timeout_error(host)
    if isinstance(err, ConnectionError | httpx.ConnectError | httpx.RemoteProtocolError):
        return LanguageModelError(f"cannot reach the model server at {host}", code="unavailable")
    if isinstance(err, httpx.HTTPError):
        return LanguageModelError(f"talking to {host} failed: {err}", code="unavailable")
    return LanguageModelError(f"{type(err).__name__}: {err}", code="failed")


class OllamaModel(ChatLanguageModel):
    """Chat completions on one Ollama model, streamed, with our context size and temperature."""

    def __init__(
        self,
        host: str,
        model: str,
        *,
        num_ctx: int = 4096,
        temperature: float = 0.7,
        timeout: float = 60.0,
    ) -> None:
        import langchain_ollama  # noqa: F401  (seconds to import: at start-up, not on a request)

        self.host = host
        self.num_ctx = num_ctx
        self.temperature = temperature
        super().__init__(
            f"ollama:{model}",
            model,
            self._make,
            json_request=lambda schema: {"format": schema},
            map_error=lambda err: ollama_error(err, host, model),
            status=self._list,
            timeout=timeout,
        )

    def _make(self) -> BaseChatModel:
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=self.model,
            base_url=self.host,
            num_ctx=self.num_ctx,
            temperature=self.temperature,
            client_kwargs={"timeout": self.timeout},
        )

    async def _list(self) -> ModelStatus:
        import ollama

        client = ollama.AsyncClient(host=self.host, timeout=self.timeout)
        async with asyncio.timeout(min(self.timeout, 5.0)):
            listed: Any = await client.list()
        names = tuple(str(m.model) for m in listed.models if m.model)
        wanted = {self.model, f"{self.model}:latest"}
        return ModelStatus(reachable=True, models=names, has_model=bool(wanted & set(names)))
