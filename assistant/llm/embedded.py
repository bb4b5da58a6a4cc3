"""The embedded backend: a GGUF model in this process through ``llama-cpp-python``.

A thin LangChain ``BaseChatModel`` of our own over ``Llama.create_chat_completion`` (the chat
template comes from the GGUF file; a JSON schema becomes a llama.cpp grammar through
``response_format``). The model is loaded once per process and file, and all its work runs on
the one thread of its ``ModelSlot`` (``model_slot.py``): loading and every generation queue
there in order, so two sessions never write into the same context at once and the event loop
never waits on the CPU, and the slot knows when the model is busy (enrichment then takes the
template at once). A call made while the model is still loading simply queues behind the
load, bounded by the caller's timeout.

A stream that is cancelled (the caller's timeout, a closed session) sets a flag the worker
checks between tokens, so the model stops writing for nobody and the next job starts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from assistant.errors import LanguageModelError
from assistant.llm.chat import ChatLanguageModel
from assistant.llm.model_slot import ModelSlot
from assistant.ports import ModelStatus

_LOGGER = logging.getLogger(__name__)
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_DONE = object()


@dataclass
class LlamaRunner:
    """One loaded model and the slot whose one thread runs it (load first, then jobs in
    order)."""

    path: Path
    n_ctx: int
    n_threads: int
    slot: ModelSlot = field(default_factory=lambda: ModelSlot("llama"))
    llama: Any = None
    load_seconds: float = 0.0
    failure: LanguageModelError | None = None
    _loading: concurrent.futures.Future[None] | None = None

    def start_loading(self) -> concurrent.futures.Future[None]:
        """Queue the load on the model's thread, once; later calls get the same future."""
        if self._loading is None:
            self._loading = self.slot.submit(self._load, writes=False)
        return self._loading

    def _load(self) -> None:
        if self.failure is not None and self.failure.code == "unavailable" and self.path.is_file():
            self.failure = None  # assembled since: load it now, no restart needed
        if self.llama is not None or self.failure is not None:
            return
        if not self.path.is_file():
            self.failure = LanguageModelError(
                f"the language model file {self.path} is missing: run "
                "`scripts/fetch-models assemble qwen2.5-coder-1.5b-instruct-q4_k_m`",
                code="unavailable",
            )
            return
        started = time.perf_counter()
        try:
            from llama_cpp import Llama

            self.llama = Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
            )
        except Exception as err:  # a broken file or a build without this CPU's instructions
            self.failure = LanguageModelError(
                f"the language model {self.path.name} could not be loaded: {err}", code="failed"
            )
            return
        self.load_seconds = time.perf_counter() - started
        _LOGGER.info("language model %s loaded in %.1f s", self.path.name, self.load_seconds)

    def loaded(self) -> Any:
        """The ``Llama`` object, loading it here if nobody has (on the model's thread)."""
        self._load()
        if self.failure is not None:
            raise self.failure
        return self.llama


_RUNNERS: dict[tuple[Path, int, int], LlamaRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def runner_for(path: Path, n_ctx: int, n_threads: int) -> LlamaRunner:
    """The process's runner for this file: a model is shared by every session, never loaded
    twice."""
    key = (path.resolve(), n_ctx, n_threads)
    with _RUNNERS_LOCK:
        if key not in _RUNNERS:
            _RUNNERS[key] = LlamaRunner(path, n_ctx, n_threads)
        return _RUNNERS[key]


def _as_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    return [
        {"role": _ROLES.get(m.type, "user"), "content": m.content}  # type: ignore[dict-item]
        for m in messages
    ]


class EmbeddedChatModel(BaseChatModel):
    """LangChain's chat-model interface on a llama.cpp model in this process."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    runner: Any  # a LlamaRunner
    temperature: float = 0.7
    max_tokens: int = 768

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-embedded"

    def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "temperature": self.temperature,
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
            "stop": stop or [],
        }
        response_format = kwargs.pop("response_format", None)
        if response_format is not None:
            params["response_format"] = response_format
        return params

    def _pieces(
        self, messages: list[BaseMessage], params: dict[str, Any], stop_flag: threading.Event
    ) -> Iterator[str]:
        """The model's text in pieces, on the model's thread; stops when ``stop_flag`` is set."""
        llama = self.runner.loaded()
        stream = llama.create_chat_completion(_as_dicts(messages), stream=True, **params)
        # The model is loaded and starts reading the prompt (seconds on a CPU): an empty first
        # piece lets progress say so at once, as a server's first chunk would.
        yield ""
        try:
            for chunk in stream:
                if stop_flag.is_set():
                    return
                piece = chunk["choices"][0]["delta"].get("content") or ""
                if piece:
                    yield piece
        finally:
            stream.close()

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        params = self._params(stop, kwargs)
        for piece in self.runner.slot.submit(
            lambda: list(self._pieces(messages, params, threading.Event()))
        ).result():
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.message.content for c in self._stream(messages, stop, **kwargs))  # type: ignore[misc]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        params = self._params(stop, kwargs)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop_flag = threading.Event()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the caller's loop is gone: nobody reads any more
                stop_flag.set()

        def work() -> None:
            try:
                for piece in self._pieces(messages, params, stop_flag):
                    put(piece)
            except BaseException as err:  # handed to the caller, who raises it
                put(err)
            finally:
                put(_DONE)

        job = asyncio.wrap_future(self.runner.slot.submit(work))
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield ChatGenerationChunk(message=AIMessageChunk(content=item))
        finally:
            stop_flag.set()  # a cancelled or abandoned stream stops the model at once
            if not job.done():
                job.cancel()  # still queued behind another job: never starts


LONGEST_GRAMMAR_TEXT = 500  # llama.cpp refuses grammars with longer bounded repetitions


def grammar_schema(schema: Any) -> Any:
    """The schema as llama.cpp can make a grammar of it: a text limit past
    ``LONGEST_GRAMMAR_TEXT`` (a program's 1,500-character source) is left out, since llama.cpp
    unrolls it into too many rules and refuses the whole grammar. The answer is validated
    against the full limits afterwards anyway."""
    if isinstance(schema, list):
        return [grammar_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: grammar_schema(value)
        for key, value in schema.items()
        if not (key == "maxLength" and isinstance(value, int) and value > LONGEST_GRAMMAR_TEXT)
    }


def embedded_error(err: BaseException) -> LanguageModelError:
    """Our own errors as they are; anything else the runtime raised is a failure."""
    if isinstance(err, LanguageModelError):
        return err
    if isinstance(err, TimeoutError):
        return LanguageModelError("the embedded language model took too long", code="timeout")
    return LanguageModelError(f"{type(err).__name__}: {err}", code="failed")


class EmbeddedModel(ChatLanguageModel):
    """The ``LanguageModel`` port on the GGUF file, loaded in the background by ``warm``."""

    def __init__(
        self,
        path: Path,
        *,
        num_ctx: int = 4096,
        threads: int = 2,
        temperature: float = 0.7,
        max_tokens: int = 768,
        timeout: float = 60.0,
    ) -> None:
        self.path = path
        self.runner = runner_for(path, num_ctx, threads)
        self.slot = self.runner.slot  # "busy" for the generation queue (``OneAtATimeModel``)
        self.temperature = temperature
        self.max_tokens = max_tokens
        super().__init__(
            f"embedded:{path.stem}",
            path.stem,
            self._make,
            json_request=lambda schema: {
                "response_format": {"type": "json_object", "schema": grammar_schema(schema)}
            },
            map_error=embedded_error,
            status=self._file_status,
            timeout=timeout,
        )

    def _make(self) -> BaseChatModel:
        self.runner.start_loading()
        return EmbeddedChatModel(
            runner=self.runner, temperature=self.temperature, max_tokens=self.max_tokens
        )

    async def warm(self) -> None:
        """Load the model now, off the event loop (``assistant serve`` calls this at start)."""
        await asyncio.wrap_future(self.runner.start_loading())
        if self.runner.failure is not None:
            _LOGGER.warning("language model: %s", self.runner.failure.message)

    async def _file_status(self) -> ModelStatus:
        name = self.path.name
        if self.runner.failure is not None:
            return ModelStatus(reachable=False, detail=self.runner.failure.message)
        if not self.path.is_file():
            return ModelStatus(
                reachable=False,
                detail=f"{name} is missing: run `scripts/fetch-models assemble "
                "qwen2.5-coder-1.5b-instruct-q4_k_m`",
            )
        return ModelStatus(reachable=True, models=(name,), has_model=True)
