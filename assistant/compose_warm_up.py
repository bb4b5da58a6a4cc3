"""Opening the slow parts in the background at start (issue 13, part B): a mixin of
``Services``, kept apart from the wiring so the composition root reads as what is built.

The knowledge base, the speech engines, the jobs' embeddings and the language model load one
after another in a background thread each (``assistant/startup.py``) while the service already
answers; a stop before they finished stops them between steps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from assistant.startup import WarmUp, in_background_thread

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.dialog.manager import DialogManager
    from assistant.knowledge.answers import LazyKnowledge
    from assistant.ports import LanguageModel
    from assistant.speech.voice_kit import VoiceKit


class WarmUpParts:
    """Start-up work of one service (mixed into ``Services``)."""

    settings: Settings
    manager: DialogManager
    knowledge: LazyKnowledge | None
    model: LanguageModel | None
    _warm_up: WarmUp | None

    if TYPE_CHECKING:  # the service's own, declared for the type checker only

        def voice_kit(self) -> VoiceKit | None: ...

    def start_warm_up(
        self, *, voice_languages: Sequence[str] = (), finally_: Callable[[], None] | None = None
    ) -> WarmUp | None:
        """Open the knowledge base, the speech engines and the language model in the
        background (``assistant/startup.py``); the caller goes on at once. ``voice_languages``
        (a kiosk: its language first) puts speech first, since the kiosk's first reply is
        spoken; a server opens the knowledge base first, which every delivery may ask.
        ``finally_`` runs on the event loop once every step has ended (the server freezes
        its heap then)."""
        if not self.settings.warm_up or self._warm_up is not None:
            return self._warm_up
        warm_up = WarmUp()
        speech = self._speech_step(voice_languages)
        if speech is not None and voice_languages:
            warm_up.add("speech", speech)
        if self.knowledge is not None:
            warm_up.add("knowledge base", self.knowledge.ready)
        chooser = self.manager.flow.chooser
        if chooser.embedder is not None:  # issue 14: the jobs' examples, embedded once

            async def job_choice() -> None:
                await in_background_thread(chooser.prepare, "job-choice")

            warm_up.add("job choice", job_choice)
        if speech is not None and not voice_languages:
            warm_up.add("speech", speech)
        warm = getattr(self.model, "warm", None)  # part C's models load their weights here
        if warm is not None:
            warm_up.add("language model", warm)
        if finally_ is not None:
            after = finally_

            async def last() -> None:
                after()

            warm_up.add("afterwards", last)
        warm_up.start()
        self._warm_up = warm_up
        return warm_up

    def _speech_step(self, voice_languages: Sequence[str]) -> Callable[[], Awaitable[None]] | None:
        """Loading the voices and recognisers this process speaks and hears with, if any."""
        settings = self.settings
        # Web speech keeps loading on a page's first microphone (issue 12): warming Kokoro,
        # Piper and a recognition process on a busy server's core measured web turns at p50
        # 102 ms and p99 7.3 s in the 2,000-session run, against 3.9 ms and 1.9 s without.
        if not (voice_languages or settings.telegram_token):
            return None
        languages = list(dict.fromkeys([*voice_languages, settings.language, "ja", "en"]))

        async def step() -> None:
            kit = await asyncio.to_thread(self.voice_kit)  # built already by a voice channel
            if kit is not None:
                await asyncio.to_thread(kit.warm, languages)

        return step

    async def stop_warm_up(self) -> None:
        """Stop the start-up work (a service stopping before it finished): the chooser's
        thread stops between batches, so its embedding no longer takes the cores (and the
        interpreter) that closing the devices and the store need. Safe to call twice."""
        self.manager.flow.chooser.close()  # issue 14: its warm-up stops between batches
        if self._warm_up is not None:
            await self._warm_up.stop()
