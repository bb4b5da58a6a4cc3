"""Sound devices: real sounddevice over ALSA file devices (in subprocesses), and memory fakes.

PortAudio reads the ALSA configuration when it starts, so every device test runs its code in a
subprocess whose HOME holds the fake sound card's ``.asoundrc`` (see ``tests/alsa.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from assistant.speech import audio
from assistant.speech.devices.memory import MemorySink, MemorySource, iter_chunks
from assistant.speech.devices.pacing import Rechunker
from testing.alsa import FakeSoundCard, write_asoundrc


def needs_portaudio(test):  # noqa: ANN001, ANN201
    """libportaudio2 is installed by scripts/test; without it these tests fail with its message."""
    return test


def tone(seconds: float, rate: int = audio.SAMPLE_RATE, hz: float = 440.0) -> bytes:
    """A sine at ``rate``, computed from time so two rates hold the same sound."""
    t = np.arange(round(seconds * rate)) / rate
    return np.round(np.sin(2 * np.pi * hz * t) * 9000).astype("<i2").tobytes()


def noise(seconds: float, seed: int = 7) -> bytes:
    """Deterministic noise: any reordering or loss of bytes would show."""
    rng = np.random.default_rng(seed)
    return rng.integers(-12000, 12000, round(seconds * audio.SAMPLE_RATE), dtype="<i2").tobytes()


# --- real devices, in subprocesses -------------------------------------------------------


@needs_portaudio
def test_list_devices_finds_the_default_devices(tmp_path: Path) -> None:
    card = FakeSoundCard.create(tmp_path)
    devices = card.run_json(
        "import json, dataclasses\n"
        "from assistant.speech.devices.listing import list_devices\n"
        "print(json.dumps([dataclasses.asdict(d) for d in list_devices()]))\n"
    )
    default = [d for d in devices if d["name"] == "default"]
    assert len(default) == 1
    assert default[0]["inputs"] >= 1 and default[0]["outputs"] >= 1
    assert default[0]["is_default_input"] and default[0]["is_default_output"]


@needs_portaudio
@pytest.mark.slow
def test_microphone_yields_the_exact_pcm_in_30_ms_frames(tmp_path: Path) -> None:
    pcm = noise(3.0)
    card = FakeSoundCard.create(tmp_path, pcm)
    out = tmp_path / "heard.raw"
    result = card.run_json(
        f"""
import asyncio, json
from assistant.speech.devices.microphone import Microphone
async def main():
    frames = []
    # The file device runs faster than real time: keep everything, stop at the known length.
    async with Microphone(buffer_seconds=600) as mic:
        async for frame in mic.frames():
            frames.append(frame)
            if len(frames) == {len(pcm) // audio.FRAME_BYTES}:
                break
    open({str(out)!r}, "wb").write(b"".join(frames))
    print(json.dumps({{"sizes": sorted({{len(f) for f in frames}}), "dropped": mic.dropped_frames}}))
asyncio.run(main())
"""
    )
    assert result == {"sizes": [audio.FRAME_BYTES], "dropped": 0}
    assert out.read_bytes() == pcm


@needs_portaudio
@pytest.mark.parametrize(("rate", "tolerance"), [(48_000, 0), (44_100, 8)])
@pytest.mark.slow
def test_microphone_resamples_a_device_at_another_rate(
    tmp_path: Path, rate: int, tolerance: int
) -> None:
    card = FakeSoundCard.create(tmp_path)
    card.mic.write_bytes(tone(2.0, rate) + bytes(rate * 2))  # the device's own rate, padded
    out = tmp_path / "heard.raw"
    card.run_python(
        f"""
import asyncio
from assistant.speech.devices.microphone import Microphone
async def main():
    frames = []
    async with Microphone(samplerate={rate}, buffer_seconds=600) as mic:
        async for frame in mic.frames():
            frames.append(frame)
            if len(frames) == 60:
                break
    assert {{len(f) for f in frames}} == {{960}}
    open({str(out)!r}, "wb").write(b"".join(frames))
asyncio.run(main())
"""
    )
    heard = np.frombuffer(out.read_bytes(), dtype="<i2").astype(int)
    expected = np.frombuffer(tone(2.0)[: len(heard) * 2], dtype="<i2").astype(int)
    assert np.abs(heard - expected).max() <= tolerance


@needs_portaudio
@pytest.mark.slow
def test_microphone_drops_the_oldest_frames_when_the_consumer_falls_behind(
    tmp_path: Path,
) -> None:
    card = FakeSoundCard.create(tmp_path, noise(2.0), pad_seconds=5.0)
    result = card.run_json(
        """
import asyncio, json
from assistant.speech.devices.microphone import Microphone
async def main():
    async with Microphone(buffer_seconds=0.3) as mic:
        await asyncio.sleep(0.5)  # the file device fills the small buffer at once
        frames = []
        async for frame in mic.frames():
            frames.append(frame)
            if len(frames) == 10:
                break
    print(json.dumps({"dropped": mic.dropped_frames, "sizes": sorted({len(f) for f in frames})}))
asyncio.run(main())
"""
    )
    assert result["dropped"] > 0
    assert result["sizes"] == [audio.FRAME_BYTES]


@needs_portaudio
@pytest.mark.slow
def test_speaker_output_lands_in_the_speaker_file(tmp_path: Path) -> None:
    first, second, third = tone(1.0), noise(0.5), noise(1.2, seed=3)
    card = FakeSoundCard.create(tmp_path)
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    for name, pcm in (("first", first), ("second", second), ("third", third)):
        (sounds / f"{name}.raw").write_bytes(pcm)
    result = card.run_json(
        f"""
import asyncio, json, time
from pathlib import Path
from assistant.speech.devices.speaker import Speaker
from assistant.speech.devices.memory import iter_chunks
sounds = Path({str(sounds)!r})
async def later(chunks):
    for chunk in chunks:
        await asyncio.sleep(0.1)  # a synthesiser taking its time between sentences
        yield chunk
async def main():
    async with Speaker() as speaker:
        start = time.monotonic()
        plain = await speaker.play((sounds / "first.raw").read_bytes())
        took = time.monotonic() - start
        quiet = await speaker.play((sounds / "second.raw").read_bytes(), volume=0.5)
        streamed = await speaker.play_stream(later(iter_chunks((sounds / "third.raw").read_bytes(), 0.37)))
        blocking = await speaker.play_stream(iter_chunks((sounds / "first.raw").read_bytes(), 0.25))
        print(json.dumps({{"results": [plain, quiet, streamed, blocking], "took": took,
                          "playing": speaker.is_playing, "ended": speaker.ended_at is not None}}))
asyncio.run(main())
"""
    )
    assert result["results"] == [True, True, True, True]
    assert result["playing"] is False and result["ended"] is True
    assert 0.9 <= result["took"] <= 2.0  # played at about real-time speed, even on a null device
    assert card.played() == first + audio.scale(second, 0.5) + third + first


STOP_SNIPPET = """
import asyncio, json, time
from assistant.speech.devices.speaker import Speaker
async def main():
    sound = bytes(range(256)) * (5 * 32000 // 256)  # 5 s of loud, non-silent bytes
    runs = []
    async with Speaker() as speaker:
        for _ in range(5):
            task = asyncio.create_task(speaker.play(sound))
            await asyncio.sleep(0.5)
            was_playing = speaker.is_playing
            asked = time.monotonic()
            speaker.stop()
            completed = await task
            runs.append({"latency": time.monotonic() - asked, "completed": completed,
                         "was_playing": was_playing, "playing": speaker.is_playing})
    print(json.dumps(runs))
asyncio.run(main())
"""


@needs_portaudio
@pytest.mark.slow
def test_stop_interrupts_a_5_second_sound_within_100_ms(tmp_path: Path) -> None:
    card = FakeSoundCard.create(tmp_path)
    runs = card.run_json(STOP_SNIPPET)
    latencies = [run["latency"] for run in runs]
    print(
        f"stop latency over {len(runs)} runs: max {max(latencies) * 1000:.1f} ms, "
        f"each {[round(x * 1000, 2) for x in latencies]} ms"
    )
    assert all(run["was_playing"] and not run["playing"] for run in runs)
    assert not any(run["completed"] for run in runs)
    assert max(latencies) <= 0.1
    # The file holds the five interrupted plays (the stream stays open): about 0.5 s each plus
    # what was written ahead when stop came (the pacing lead: device latency + 50 ms + a block).
    seconds = audio.duration(card.played())
    print(f"speaker file: {seconds:.3f} s for 5 stops at 0.5 s")
    assert 2.5 <= seconds <= 5 * 0.75


@needs_portaudio
def test_stop_ends_a_stream_waiting_for_its_next_chunk(tmp_path: Path) -> None:
    card = FakeSoundCard.create(tmp_path)
    result = card.run_json(
        """
import asyncio, json, time
from assistant.speech.devices.speaker import Speaker
async def slow():
    yield bytes(3200)
    await asyncio.sleep(30)  # a synthesiser stuck on the next sentence
    yield bytes(3200)
async def main():
    async with Speaker() as speaker:
        task = asyncio.create_task(speaker.play_stream(slow()))
        queued = asyncio.create_task(speaker.play(bytes(32000)))
        await asyncio.sleep(0.3)
        asked = time.monotonic()
        speaker.stop()
        results = [await task, await queued]
        print(json.dumps({"results": results, "latency": time.monotonic() - asked}))
asyncio.run(main())
"""
    )
    assert result["results"] == [False, False]  # stop() also cancels what was waiting to play
    assert result["latency"] <= 0.1


@needs_portaudio
@pytest.mark.slow
def test_missing_capture_device_raises_one_clear_error(tmp_path: Path) -> None:
    write_asoundrc(tmp_path / "home", tmp_path / "no-such-mic.raw", tmp_path / "speaker.raw")
    card = FakeSoundCard(
        home=tmp_path / "home", mic=tmp_path / "no-such-mic.raw", speaker=tmp_path / "speaker.raw"
    )
    result = card.run_json(OPEN_MICROPHONE.format(device=None))
    assert result == {
        "error": "AudioDeviceError",
        "code": "audio_device_missing",
        "message": "no microphone found; check the cable or `assistant check`",
    }


@needs_portaudio
@pytest.mark.slow
def test_a_microphone_that_fails_to_open_raises_one_clear_error(tmp_path: Path) -> None:
    card = FakeSoundCard.create(tmp_path)
    # PortAudio saw the device when it started; the file is gone when the stream opens.
    code = f"import os, sounddevice\nos.remove({str(card.mic)!r})\n" + OPEN_MICROPHONE.format(
        device=None
    )
    result = card.run_json(code)
    assert result["error"] == "AudioDeviceError"
    assert result["code"] == "audio_device_failed"
    assert result["message"].startswith("cannot open microphone 'default'")


@needs_portaudio
@pytest.mark.slow
def test_an_unknown_microphone_name_raises_one_clear_error(tmp_path: Path) -> None:
    card = FakeSoundCard.create(tmp_path)
    result = card.run_json(OPEN_MICROPHONE.format(device=repr("usb headset")))
    assert result["code"] == "audio_device_missing"
    assert (
        result["message"]
        == "no microphone found; check the cable or `assistant check` ('usb headset')"
    )


@needs_portaudio
@pytest.mark.slow
def test_no_sound_device_at_all(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(
        'pcm.!default { type asym; playback.pcm "nosuch"; capture.pcm "nosuch" }\n'
    )
    card = FakeSoundCard(home=home, mic=tmp_path / "mic.raw", speaker=tmp_path / "speaker.raw")
    result = card.run_json(
        """
import asyncio, json
from assistant.speech.devices.listing import AudioDeviceError, list_devices
from assistant.speech.devices.speaker import Speaker
errors = []
try:
    list_devices()
except AudioDeviceError as err:
    errors.append(err.message)
async def main():
    try:
        async with Speaker() as speaker:
            await speaker.play(bytes(960))
    except AudioDeviceError as err:
        errors.append(err.message)
asyncio.run(main())
print(json.dumps(errors))
"""
    )
    assert result == [
        "no sound device found; check the cable or `assistant check`",
        "no speaker found; check the cable or `assistant check`",
    ]


@needs_portaudio
def test_missing_portaudio_is_explained(tmp_path: Path) -> None:
    card = FakeSoundCard.create(tmp_path)
    result = card.run_json(
        """
import ctypes.util, json
ctypes.util.find_library = lambda name: None  # as on a system without libportaudio2
from assistant.speech.devices.listing import AudioDeviceError, list_devices
try:
    list_devices()
except AudioDeviceError as err:
    print(json.dumps([err.code, err.message]))
"""
    )
    assert result == [
        "audio_unavailable",
        "sound support needs libportaudio2: apt-get install libportaudio2",
    ]


OPEN_MICROPHONE = """
import asyncio, json
from assistant.speech.devices.listing import AudioDeviceError
from assistant.speech.devices.microphone import Microphone
async def main():
    try:
        async with Microphone({device}):
            print(json.dumps({{"error": None}}))
    except AudioDeviceError as err:
        print(json.dumps({{"error": type(err).__name__, "code": err.code, "message": err.message}}))
asyncio.run(main())
"""


# --- in-process: re-chunking and the memory fakes -----------------------------------------


def test_rechunker_makes_exact_frames_from_odd_blocks() -> None:
    pcm = noise(1.0)
    chunker = Rechunker(audio.SAMPLE_RATE)
    frames: list[bytes] = []
    for start in range(0, len(pcm), 278):  # 139 samples: what ALSA's file device gave here
        frames += chunker.push(pcm[start : start + 278])
    assert {len(f) for f in frames} == {audio.FRAME_BYTES}
    assert b"".join(frames) == pcm[: len(frames) * audio.FRAME_BYTES]
    assert len(frames) == len(pcm) // audio.FRAME_BYTES


@pytest.mark.parametrize(("rate", "tolerance"), [(48_000, 0), (44_100, 8), (22_050, 30)])
def test_rechunker_resamples_without_drift_across_blocks(rate: int, tolerance: int) -> None:
    source = tone(2.0, rate)
    chunker = Rechunker(rate)
    frames: list[bytes] = []
    rng = np.random.default_rng(1)
    start = 0
    while start < len(source):
        size = int(rng.integers(1, 700)) * 2
        frames += chunker.push(source[start : start + size])
        start += size
    heard = np.frombuffer(b"".join(frames), dtype="<i2").astype(int)
    expected = np.frombuffer(tone(2.0), dtype="<i2").astype(int)[: len(heard)]
    assert len(frames) >= 65
    assert np.abs(heard - expected).max() <= tolerance


async def test_memory_source_yields_padded_frames() -> None:
    pcm = noise(0.1)  # 1600 samples: three frames and a third
    frames = [frame async for frame in MemorySource(pcm).frames()]
    assert [len(f) for f in frames] == [audio.FRAME_BYTES] * 4
    assert b"".join(frames) == pcm + bytes(4 * audio.FRAME_BYTES - len(pcm))


async def test_memory_source_in_real_time_takes_as_long_as_the_audio() -> None:
    source = MemorySource(audio.silence(0.3), realtime=True)
    start = time.monotonic()
    count = len([frame async for frame in source.frames()])
    assert count == 10
    assert 0.25 <= time.monotonic() - start <= 0.6


async def test_memory_source_close_ends_frames() -> None:
    async with MemorySource(audio.silence(10)) as source:
        frames = []
        async for frame in source.frames():
            frames.append(frame)
            if len(frames) == 3:
                await source.close()
    assert len(frames) == 3


async def test_memory_source_reads_wav(tmp_path: Path) -> None:
    audio.write_wav(tmp_path / "hello.wav", tone(0.3, 22_050), rate=22_050)
    frames = [frame async for frame in MemorySource.from_wav(tmp_path / "hello.wav").frames()]
    assert len(frames) == 10


async def test_memory_sink_plays_in_real_time_and_keeps_what_was_heard() -> None:
    sink = MemorySink()
    sound = noise(0.3)
    start = time.monotonic()
    assert not sink.is_playing and sink.playing_since is None
    task = asyncio.create_task(sink.play(sound, volume=0.5))
    await asyncio.sleep(0.05)
    assert sink.is_playing and sink.should_gate_microphone()
    assert await task is True
    assert 0.28 <= time.monotonic() - start <= 0.6
    assert bytes(sink.played) == audio.scale(sound, 0.5)
    assert sink.utterances == [audio.scale(sound, 0.5)]
    assert not sink.is_playing and sink.ended_at is not None
    assert sink.should_gate_microphone(tail=10.0)
    assert not sink.should_gate_microphone(tail=0.0)


async def _ticks(every: float = 0.005) -> AsyncIterator[None]:
    """A poll of a state the sink has no event for (how much it has played so far)."""
    while True:
        await asyncio.sleep(every)
        yield None


async def test_memory_sink_stop_interrupts_within_a_block() -> None:
    """Once stopped, at most the block already handed over is heard: measured in audio, not
    in wall-clock time, so a busy machine that starts the playback late changes nothing."""
    sink = MemorySink(block_ms=20)
    task = asyncio.create_task(sink.play(noise(5.0)))
    async for _ in _ticks():  # the state we wait for, not a duration
        if audio.duration(bytes(sink.played)) >= 0.3:
            break
    played_when_asked = audio.duration(bytes(sink.played))
    sink.stop()
    assert await asyncio.wait_for(task, 5.0) is False
    assert audio.duration(bytes(sink.played)) - played_when_asked <= 0.02 + 1e-9
    assert audio.duration(bytes(sink.played)) < 1.0  # nowhere near the 5 s sound
    assert not sink.is_playing


async def test_memory_sink_stop_also_cancels_waiting_plays() -> None:
    sink = MemorySink(speed=10)
    first = asyncio.create_task(sink.play(noise(2.0)))
    second = asyncio.create_task(sink.play(noise(1.0)))
    await asyncio.sleep(0.02)
    sink.stop()
    assert [await first, await second] == [False, False]
    assert await sink.play(noise(0.1)) is True  # a later play is not affected


async def test_memory_sink_plays_streams_of_both_kinds() -> None:
    sound = noise(0.6)

    async def later() -> AsyncIterator[bytes]:
        for chunk in iter_chunks(sound, 0.25):
            await asyncio.sleep(0.01)
            yield chunk

    sink = MemorySink(speed=float("inf"))
    assert await sink.play_stream(iter_chunks(sound, 0.2)) is True
    assert await sink.play_stream(later()) is True
    assert sink.utterances == [sound, sound]


async def test_memory_sink_stop_while_waiting_for_a_chunk() -> None:
    async def stuck() -> AsyncIterator[bytes]:
        yield audio.silence(0.05)
        await asyncio.sleep(30)  # a synthesiser stuck on the next sentence
        yield audio.silence(0.05)

    sink = MemorySink()
    task = asyncio.create_task(sink.play_stream(stuck()))
    await asyncio.sleep(0.1)
    asked = time.monotonic()
    sink.stop()
    assert await task is False
    assert time.monotonic() - asked <= 0.05
    assert not sink.is_playing
