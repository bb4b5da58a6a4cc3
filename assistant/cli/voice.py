"""The voice commands: ``say``, ``transcribe`` and ``kiosk``.

Apart from the rest of the command line because they need the speech extra: every speech
import is inside a function, so ``assistant serve`` starts without numpy or an engine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from assistant.compose import Services
from assistant.config import Settings


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
                await kiosk.run()
            finally:  # Ctrl-C: start-up work stops first, then the devices close
                await services.stop_warm_up()
    finally:
        await speaker.close()
        await services.stop()
    return 0
