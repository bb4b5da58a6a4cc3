"""A fake sound card for tests: ALSA plugins that need no kernel, driven through a fake HOME.

There is no sound hardware on the test machines. ALSA reads ``~/.asoundrc``, and its ``file``
plugin over a ``null`` slave makes a capture device that reads a raw file and a playback
device that writes one. PortAudio reads the ALSA configuration once, when ``sounddevice`` is
imported, so code under test runs in a subprocess whose ``HOME`` is the folder written here.

Typical use::

    card = FakeSoundCard.create(tmp_path, mic_pcm=speech)
    result = card.run_python("from assistant.speech.devices.listing import list_devices; ...")
    card.played()  # what the code under test sent to the speaker

Or a whole spoken session: ``card.run_assistant("kiosk", ...)``.

Capture from a file runs faster than real time, and past the end of the file ALSA keeps
delivering (zeros here, but do not rely on it): pad with silence (``mic_file``) and stop
reading at the known length.

For a dialog the microphone is a FIFO instead (``MicPipe``): the test writes the room and the
person's answers as the conversation goes, and the program under test reads it paced to real
time (``Microphone(realtime=True)``, ``assistant kiosk --realtime-input``).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from ctypes.util import find_library
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from assistant.speech import audio

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Only the ``default`` device, built from inline plugins: a named device with capture (even
# a null one) would become PortAudio's fallback microphone when the default one is broken.
ASOUNDRC = """\
# Written by tests/alsa.py: a microphone reading {mic} and a speaker writing {speaker}.
pcm.!default {{
    type asym
    playback.pcm {{
        type file
        slave.pcm {{ type null }}
        file "{speaker}"
        format "raw"
    }}
    capture.pcm {{
        type file
        slave.pcm {{ type null }}
        file "/dev/null"
        infile "{mic}"
        format "raw"
    }}
}}
"""


def write_asoundrc(home: Path, mic_raw: Path, speaker_raw: Path) -> Path:
    """``home/.asoundrc`` whose default device reads ``mic_raw`` and writes ``speaker_raw``.

    Both files are raw 16-bit little-endian mono at whatever rate the stream is opened with
    (16 kHz for project PCM). The speaker file is truncated each time a stream is opened.
    """
    for path in (mic_raw, speaker_raw):
        if '"' in str(path) or "\\" in str(path):
            raise ValueError(f"{path}: ALSA configuration cannot quote this path")
    home.mkdir(parents=True, exist_ok=True)
    asoundrc = home / ".asoundrc"
    asoundrc.write_text(ASOUNDRC.format(mic=mic_raw.resolve(), speaker=speaker_raw.resolve()))
    return asoundrc


def mic_file(path: Path, pcm: bytes, pad_seconds: float = 1.0) -> Path:
    """Project PCM followed by ``pad_seconds`` of silence, as a raw microphone file."""
    path.write_bytes(pcm + audio.silence(pad_seconds))
    return path


def sound_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment with ``HOME`` pointing at the fake sound card."""
    env = dict(os.environ)
    env.pop("ALSA_CONFIG_PATH", None)  # it would replace the configuration that reads .asoundrc
    env.pop("XDG_CONFIG_HOME", None)  # newer ALSA also reads $XDG_CONFIG_HOME/alsa/asoundrc
    env["HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_python(
    home: Path, code: str, *, timeout: float = 60, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet in a subprocess that sees the fake sound card."""
    return _run([sys.executable, "-c", code], home, timeout=timeout, check=check, env=env)


def run_json(home: Path, code: str, *, timeout: float = 60, **env: str) -> Any:
    """Run a snippet that prints one JSON document on its last line; return it parsed."""
    result = run_python(home, code, timeout=timeout, **env)
    lines = result.stdout.strip().splitlines()
    assert lines, f"no output\nstderr:\n{result.stderr}"
    return json.loads(lines[-1])


def run_assistant(
    home: Path,
    *args: str,
    timeout: float = 120,
    check: bool = True,
    input: str | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """Run the ``assistant`` command (as ``python -m assistant``) with the fake sound card."""
    command = [sys.executable, "-m", "assistant", *args]
    return _run(command, home, timeout=timeout, check=check, env=env, input=input)


def _run(
    command: list[str],
    home: Path,
    *,
    timeout: float,
    check: bool,
    env: dict[str, str],
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=sound_env(home, **env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{command[:3]} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


@dataclass(frozen=True)
class FakeSoundCard:
    """A folder with ``home/.asoundrc``, the microphone file and the speaker file."""

    home: Path
    mic: Path
    speaker: Path

    @classmethod
    def create(
        cls, folder: Path, mic_pcm: bytes = b"", *, pad_seconds: float = 1.0
    ) -> FakeSoundCard:
        """A card whose microphone will hear ``mic_pcm`` then silence."""
        home = folder / "home"
        card = cls(home=home, mic=folder / "mic.raw", speaker=folder / "speaker.raw")
        mic_file(card.mic, mic_pcm, pad_seconds)
        write_asoundrc(home, card.mic, card.speaker)
        return card

    def set_mic(self, pcm: bytes, pad_seconds: float = 1.0) -> None:
        """What the microphone hears the next time a stream opens."""
        mic_file(self.mic, pcm, pad_seconds)

    def played(self) -> bytes:
        """Raw audio written to the speaker since its stream was last opened."""
        return self.speaker.read_bytes() if self.speaker.exists() else b""

    def run_python(self, code: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """``run_python`` with this card."""
        return run_python(self.home, code, **kwargs)

    def run_json(self, code: str, **kwargs: Any) -> Any:
        """``run_json`` with this card."""
        return run_json(self.home, code, **kwargs)

    def run_assistant(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """``run_assistant`` with this card."""
        return run_assistant(self.home, *args, **kwargs)


STOP_LIMIT_S = 60.0  # generous: a busy machine, a kiosk closing its devices


class KioskDidNotStopError(AssertionError):
    """Ctrl-C did not stop ``assistant kiosk``: a bug in the kiosk, not a slow machine."""


def stop_kiosk(
    process: subprocess.Popen[Any],
    mic: MicPipe,
    *,
    output: Path | None = None,
    room: Callable[[float], bytes] = audio.silence,
    limit: float = STOP_LIMIT_S,
) -> None:
    """Stop ``assistant kiosk`` as staff would (Ctrl-C), then close its microphone pipe.

    A kiosk that ignores Ctrl-C for ``limit`` seconds is killed and the caller fails with
    what it printed (``output``, the file its stdout and stderr went to). ``room`` keeps the
    microphone fed meanwhile: closing, the device reads to the end of its block, and a pipe
    that ran dry would hold it (and the kiosk) in that read for ever.
    """
    try:
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + limit
        while process.poll() is None and time.monotonic() < deadline:
            mic.keep_room(room)
            time.sleep(0.02)
        if process.poll() is None:
            process.send_signal(signal.SIGUSR1)  # every thread's stack, into its output
            time.sleep(2.0)
            process.kill()
            process.wait()
            printed = "(its output was not kept)"
            if output is not None and output.is_file():
                printed = output.read_text(encoding="utf-8", errors="replace")[-16000:]
            raise KioskDidNotStopError(
                f"Ctrl-C did not stop the kiosk within {limit:.0f} s; it printed:\n{printed}"
            )
    finally:
        mic.close()


def portaudio_available() -> bool:
    """Whether device tests can run here (for ``pytest.mark.skipif``)."""
    # Checked without importing sounddevice: that would start PortAudio in the test process.
    return find_spec("sounddevice") is not None and find_library("portaudio") is not None


F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, named in the module only from Python 3.10 on Linux


class MicPipe:
    """A FIFO as the fake card's microphone, written by the test: the room and the person in it.

    ALSA's ``file`` capture asks the FIFO for a whole device period at a time and, when a
    read comes back short, fills the rest of the period with stale audio from its ring buffer
    (measured: 88 old samples after every 1,024 written). So the reader must be paced to
    real time (``--realtime-input``) and the pipe must never run dry: ``keep_room`` tops it up
    with room sound whenever less than ``lead`` seconds are waiting, and ``say`` puts a whole
    utterance in at once. The pipe holds about 32 s, far more than an answer.
    """

    def __init__(self, path: Path, *, lead: float = 0.3) -> None:
        os.mkfifo(path)
        self.path = path
        self.lead_bytes = round(lead * audio.SAMPLE_RATE) * audio.SAMPLE_WIDTH
        # Read-write, so opening does not wait for the reader and the reader never sees EOF.
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        with contextlib.suppress(OSError):
            fcntl.fcntl(self._fd, F_SETPIPE_SZ, 1 << 20)

    def waiting_bytes(self) -> int:
        """Bytes written and not yet read by the device."""
        if self._fd is None:
            return 0
        count = array.array("i", [0])
        fcntl.ioctl(self._fd, termios.FIONREAD, count)
        return count[0]

    def keep_room(self, room: Callable[[float], bytes], block: float = 0.064) -> None:
        """Top the pipe up with ``room(block)`` until ``lead`` seconds are waiting."""
        while self._fd is not None and self.waiting_bytes() < self.lead_bytes:
            self.write(room(block))

    def write(self, pcm: bytes) -> None:
        """All of ``pcm``, waiting for the reader when the pipe is full."""
        view = memoryview(pcm)
        while view and self._fd is not None:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                time.sleep(0.01)

    def close(self) -> None:
        """No writer any more: the device reads end-of-file from now on."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
