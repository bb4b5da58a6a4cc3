"""The voice commands: ``say``, ``transcribe`` and ``kiosk``.

Apart from the rest of the command line because they need the speech extra: every speech
import is inside a function, so ``assistant serve`` starts without numpy or an engine.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from assistant.compose import Services
from assistant.config import Settings

_LOGGER = logging.getLogger(__name__)
STOP_S = 10.0  # how long a stopping kiosk may take to close before it is left behind
EXIT_INTERRUPTED = 130  # a shell's code for "ended by Ctrl-C"


def _device(value: str | None) -> int | str | None:
    """A device given by index (``2``) or by name (``USB Audio``)."""
    return int(value) if value is not None and value.isdigit() else value


async def say(settings: Settings, args: argparse.Namespace) -> int:
    """``assistant say``: speak a text with the kiosk's voice, or write it to a WAV file."""
    from assistant.speech.audio import write_wav
    from assistant.speech.devices.speaker import Speaker
    from assistant.speech.voice_kit import build_voice

    voice = build_voice(settings)
    pcm = await asyncio.to_thread(voice.synthesis.synthesize, args.text, args.lang)
    if args.out:
        write_wav(args.out, pcm)
        print(f"{args.out}: {len(pcm) / 32000:.2f} s")
        return 0
    speaker = Speaker()
    try:
        await speaker.play(pcm)
    finally:
        await speaker.close()
    return 0


def transcribe(settings: Settings, args: argparse.Namespace) -> int:
    """``assistant transcribe``: what the recogniser hears in a WAV file, for staff to try."""
    from assistant.speech.audio import read_wav
    from assistant.speech.recognition import recognize
    from assistant.speech.routing import recognizer_for
    from assistant.speech.voice_kit import build_recognizers

    # Recognisers only: building the voices too would report a missing voice to someone who
    # only asked what a file says.
    recognizer = recognizer_for(build_recognizers(settings), args.lang)
    if recognizer is None:
        print(f"error: no recogniser for {args.lang}: run scripts/fetch-models", file=sys.stderr)
        return 2
    grammar = tuple(p.strip() for p in args.grammar.split("|")) if args.grammar else None
    result = recognize(recognizer, args.lang, grammar, read_wav(args.wav))
    print(f"text: {result.text}")
    print(f"confidence: {result.confidence:.2f}")
    print(f"engine: {result.engine or recognizer.name}")
    return 0


async def kiosk(settings: Settings, args: argparse.Namespace) -> int:
    """``assistant kiosk``: the voice kiosk on this machine's microphone and speaker."""
    from assistant.speech.devices.microphone import Microphone
    from assistant.speech.devices.speaker import Speaker
    from assistant.speech.voice_kit import build_voice
    from channels.kiosk.channel import KioskChannel
    from channels.kiosk.pictures import KioskPictures

    services = Services.build(settings)
    voice = services.voice_kit() or build_voice(settings)
    await services.start()
    # Voices, recogniser, knowledge base and model load in the background; the kiosk's first
    # reply is spoken at once by Open JTalk if Kokoro is still loading.
    services.start_warm_up(voice_languages=[args.lang or settings.language])
    speaker = Speaker(_device(args.output_device))
    pictures = None
    if settings.kiosk_pictures_dir and services.photos is not None:  # issue 15, part U
        pictures = KioskPictures(settings.kiosk_pictures_dir, services.photos, services.phrases)
    try:
        microphone = Microphone(_device(args.input_device), realtime=args.realtime_input)
        async with microphone:
            kiosk = KioskChannel(
                services.manager, source=microphone, sink=speaker,
                recognizer_for=voice.recognizer_for, synthesis=voice.synthesis, vad=voice.vad,
                session_key=f"kiosk:{args.session}", language=args.lang,
                stop_when_ended=args.exit_when_done, reprompt_after=settings.kiosk_reprompt_s,
                pause_after=settings.kiosk_pause_s, pictures=pictures,
            )  # fmt: skip
            print("listening; press Ctrl-C to stop", file=sys.stderr, flush=True)
            try:
                stuck = await _run_until_stopped(kiosk.run())
            finally:  # Ctrl-C: start-up work stops first, then the devices close
                await services.stop_warm_up()
    finally:
        await speaker.close()
        await services.stop()
    if stuck:  # everything is stored and closed; only the stuck task is left behind
        logging.shutdown()
        os._exit(EXIT_INTERRUPTED)
    return 0


async def _run_until_stopped(run: Coroutine[Any, Any, None]) -> bool:
    """Run the kiosk until it ends or Ctrl-C/SIGTERM; True when it ignored being stopped.

    The signals are the loop's own (not KeyboardInterrupt into whatever runs), and a kiosk
    that has not ended ``STOP_S`` after it was cancelled is left behind with its stack in the
    log: staff pressing Ctrl-C must get their terminal back (a kiosk once ran on for minutes
    after it, while start-up work held the machine)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    kiosk, stopping = asyncio.create_task(run, name="kiosk"), asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({kiosk, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)
    if kiosk.done():
        kiosk.result()  # its own end, or its error
        return False
    kiosk.cancel()
    done, _ = await asyncio.wait({kiosk}, timeout=STOP_S)
    if done:
        return False
    stack = io.StringIO()
    kiosk.print_stack(file=stack)
    _LOGGER.warning(
        "the kiosk did not stop %.0f s after Ctrl-C; leaving it:\n%s", STOP_S, stack.getvalue()
    )
    return True
