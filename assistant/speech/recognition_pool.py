"""Recognition shared by every web page: bounded concurrency, off the event loop for real.

A thread is not enough: PocketSphinx holds the interpreter lock for its whole final pass over
an utterance (measured: two 15 s utterances of noise stopped the event loop for 6.9 s), so
every other user of the process waits. The pool runs recognition in ``workers`` worker
processes, each with its own recognisers built from the same settings; at most ``workers``
utterances are recognised at once, and a new one waits at most ``wait_s`` for a free worker,
then is refused (``RecognitionBusyError``) so its channel can ask the user to say it again.
Without settings (tests that hand in a recogniser object) it runs in threads with the same
bounds. The kiosk and Telegram keep calling ``voice_turn.hear`` without a pool, as before.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.ports import Recognition, SpeechToText
from assistant.speech.recognition import recognize

_LOGGER = logging.getLogger(__name__)

# In a worker process: the recognisers its settings allow, built on first use.
_WORKER_RECOGNIZERS: dict[Settings, list[SpeechToText]] = {}
_WARM_UP_WORDS = {"en": "yes", "ja": "はい"}


class RecognitionBusyError(AssistantError):
    """Every recogniser stayed busy for longer than an utterance may wait."""

    code = "recognition_busy"


def _worker_recognizers(settings: Settings) -> list[SpeechToText]:
    """This worker process's recognisers, built once."""
    from assistant.speech.voice_kit import build_recognizers

    recognizers = _WORKER_RECOGNIZERS.get(settings)
    if recognizers is None:
        recognizers = _WORKER_RECOGNIZERS[settings] = build_recognizers(settings)
    return recognizers


def _recognize_in_worker(
    settings: Settings, engine: str, language: str, grammar: tuple[str, ...] | None, pcm: bytes
) -> Recognition:
    """Runs in a worker process: the named engine of this process's own recognisers (or the
    same routing of several, ``routing.recognizer_for``)."""
    from assistant.speech.routing import recognizer_for

    routed = recognizer_for(_worker_recognizers(settings), language)
    if routed is not None and routed.name == engine:
        return recognize(routed, language, grammar, pcm)
    for recognizer in _worker_recognizers(settings):
        if recognizer.name == engine and recognizer.supports(language):
            return recognize(recognizer, language, grammar, pcm)
    raise LookupError(f"no {engine} recogniser for {language} in the worker")


def _warm_up(settings: Settings, language: str) -> None:
    """Runs in a worker process: load the model for ``language`` by hearing a moment of
    silence, so the first utterance does not wait for it. A one-word grammar, because a free
    search would load a large language model that closed questions never need."""
    word = _WARM_UP_WORDS.get(language, "yes")
    for recognizer in _worker_recognizers(settings):
        if recognizer.supports(language):
            recognize(recognizer, language, (word,), bytes(9600))
            return


class RecognitionPool:
    """At most ``workers`` recognitions at once; a new one waits at most ``wait_s``."""

    def __init__(
        self, workers: int = 1, wait_s: float = 5.0, *, settings: Settings | None = None
    ) -> None:
        self.workers = workers
        self.wait_s = wait_s
        self.settings = settings
        self._slots = asyncio.Semaphore(workers)
        self._executor: ProcessPoolExecutor | None = None

    @property
    def in_processes(self) -> bool:
        """Whether recognition runs in worker processes (else in threads)."""
        return self.settings is not None

    def _processes(self) -> ProcessPoolExecutor:
        if self._executor is None:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn"
            )
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    async def start(self, language: str = "en") -> None:
        """Start the worker processes with the model for ``language`` loaded now, so the
        first speaker does not wait for them."""
        settings = self.settings
        if settings is not None:
            loop = asyncio.get_running_loop()
            executor = self._processes()
            await asyncio.gather(
                *(
                    loop.run_in_executor(executor, _warm_up, settings, language)
                    for _ in range(self.workers)
                )
            )

    async def recognize(
        self, recognizer: SpeechToText, language: str, grammar: Sequence[str] | None, pcm: bytes
    ) -> Recognition:
        """``recognize`` for one utterance within the bounds; RecognitionBusyError when no
        worker became free in time."""
        try:
            async with asyncio.timeout(self.wait_s):
                await self._slots.acquire()
        except TimeoutError:
            raise RecognitionBusyError(
                f"all {self.workers} recognisers busy for {self.wait_s:g} s"
            ) from None
        try:
            phrases = tuple(grammar) if grammar else None
            if self.settings is None:
                return await asyncio.to_thread(recognize, recognizer, language, phrases, pcm)
            loop = asyncio.get_running_loop()
            executor = self._processes()
            try:
                return await loop.run_in_executor(
                    executor,
                    _recognize_in_worker,
                    self.settings,
                    recognizer.name,
                    language,
                    phrases,
                    pcm,
                )
            except BrokenProcessPool:
                # A worker died (out of memory, killed): this utterance fails like an engine
                # error, and the next one gets fresh workers.
                if self._executor is executor:
                    self.close()
                raise
        finally:
            self._slots.release()

    def close(self) -> None:
        """Stop the worker processes (queued utterances are dropped)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
