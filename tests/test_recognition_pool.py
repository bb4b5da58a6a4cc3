"""Recognition for many web pages at once: bounded, and never on the event loop's back."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.ports import Recognition
from assistant.speech import audio
from assistant.speech.recognition_pool import RecognitionBusyError, RecognitionPool
from testing import require
from testing.speech_audio import speak_en


class SlowStream:
    def __init__(self, owner: SlowRecognizer) -> None:
        self.owner = owner

    def accept(self, pcm: bytes) -> str | None:
        return None

    def finish(self) -> Recognition:
        with self.owner.lock:
            self.owner.running += 1
            self.owner.most = max(self.owner.most, self.owner.running)
            if self.owner.running == 2:
                self.owner.both.set()
        self.owner.release.wait(10)
        with self.owner.lock:
            self.owner.running -= 1
        return Recognition("four", 0.9, engine="slow")


class SlowRecognizer:
    """Blocks until released, and counts how many run at once."""

    name = "slow"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.both = threading.Event()  # two are running at once
        self.running = self.most = 0

    def supports(self, language: str) -> bool:
        return True

    def start(self, language: str, grammar: Sequence[str] | None = None) -> SlowStream:
        return SlowStream(self)


async def test_at_most_the_workers_recognise_and_a_late_utterance_is_refused() -> None:
    slow = SlowRecognizer()
    pool = RecognitionPool(workers=2, wait_s=0.3)
    running = [asyncio.create_task(pool.recognize(slow, "en", None, b"\0" * 960)) for _ in range(2)]
    assert await asyncio.to_thread(slow.both.wait, 10)
    with pytest.raises(RecognitionBusyError):
        await pool.recognize(slow, "en", None, b"\0" * 960)  # waited 0.3 s, then refused
    waiting = asyncio.create_task(pool.recognize(slow, "en", None, b"\0" * 960))
    slow.release.set()
    results = await asyncio.gather(*running, waiting)
    assert [r.text for r in results] == ["four"] * 3
    assert slow.most == 2


@pytest.mark.slow
async def test_recognition_in_workers_leaves_the_event_loop_free(tmp_path: Path) -> None:
    """Noise through PocketSphinx (which keeps the interpreter lock while it decodes) does
    not stop the loop; and a worker hears real speech as the in-process recogniser does."""
    require.module("pocketsphinx", "pip install pocketsphinx")
    from assistant.speech.engines.pocketsphinx import PocketSphinxRecognizer

    settings = Settings(data_dir=tmp_path, models_dir=tmp_path / "none", stt_engine_ja="none")
    pool = RecognitionPool(workers=1, wait_s=60.0, settings=settings)
    sphinx = PocketSphinxRecognizer()
    try:
        await pool.start()
        speech = audio.silence(0.3) + speak_en("number four") + audio.silence(0.3)
        heard = await pool.recognize(sphinx, "en", ("number four", "number five"), speech)
        assert heard.text == "number four" and heard.engine == "pocketsphinx"
        lags: list[float] = []

        async def tick() -> None:
            while True:
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - before - 0.01)

        ticker = asyncio.create_task(tick())
        await pool.recognize(sphinx, "en", None, os.urandom(15 * 32_000))
        ticker.cancel()
        assert len(lags) > 10 and max(lags) < 1.0, (len(lags), max(lags))
    finally:
        pool.close()


@pytest.mark.slow
async def test_a_worker_that_dies_fails_one_utterance_and_the_next_gets_a_new_one(
    tmp_path: Path,
) -> None:
    require.module("pocketsphinx", "pip install pocketsphinx")
    import signal

    from assistant.speech.engines.pocketsphinx import PocketSphinxRecognizer

    settings = Settings(data_dir=tmp_path, models_dir=tmp_path / "none", stt_engine_ja="none")
    pool = RecognitionPool(workers=1, wait_s=60.0, settings=settings)
    sphinx = PocketSphinxRecognizer()
    speech = audio.silence(0.3) + speak_en("number four") + audio.silence(0.3)
    try:
        await pool.start()
        assert pool._executor is not None
        for process in list(pool._executor._processes.values()):
            os.kill(process.pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            await pool.recognize(sphinx, "en", ("number four",), speech)
        heard = await pool.recognize(sphinx, "en", ("number four",), speech)
        assert heard.text == "number four"
    finally:
        pool.close()
