"""The sound devices PortAudio (``sounddevice``) sees, and how one is chosen and opened.

``sounddevice`` is imported only when a device is needed, so memory sources and a text-only
service work without PortAudio; a missing library or device is an ``AudioDeviceError`` whose
message says what to install or connect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from assistant.errors import AssistantError
from assistant.speech import audio

_LOGGER = logging.getLogger(__name__)

NO_PORTAUDIO = "sound support needs libportaudio2: apt-get install libportaudio2"
NO_SOUNDDEVICE = "sound support needs the speech extra: pip install 'facility-assistant[speech]'"
NO_MICROPHONE = "no microphone found; check the cable or `assistant check`"
NO_SPEAKER = "no speaker found; check the cable or `assistant check`"
NO_DEVICE = "no sound device found; check the cable or `assistant check`"


class AudioDeviceError(AssistantError):
    """A sound device is missing, cannot be opened, or failed while in use."""

    code = "audio_device"


@dataclass(frozen=True, slots=True)
class AudioDevice:
    """One PortAudio device as ``assistant check`` and configuration show it."""

    index: int
    name: str
    inputs: int
    outputs: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False


def sounddevice_module() -> ModuleType:
    """``sounddevice``, imported late so that memory sources work without PortAudio."""
    try:
        import sounddevice
    except OSError as err:  # the wheel does not carry PortAudio itself
        raise AudioDeviceError(NO_PORTAUDIO, code="audio_unavailable") from err
    except ImportError as err:
        raise AudioDeviceError(NO_SOUNDDEVICE, code="audio_unavailable") from err
    return sounddevice


def list_devices() -> list[AudioDevice]:
    """Every device PortAudio sees, so staff can pick one by index or name."""
    sd = sounddevice_module()
    try:
        found = list(sd.query_devices())
        default_in, default_out = sd.default.device
    except sd.PortAudioError as err:
        raise AudioDeviceError(NO_DEVICE, code="audio_device_missing") from err
    if not found:
        raise AudioDeviceError(NO_DEVICE, code="audio_device_missing")
    return [
        AudioDevice(
            index=int(info["index"]),
            name=str(info["name"]),
            inputs=int(info["max_input_channels"]),
            outputs=int(info["max_output_channels"]),
            default_samplerate=float(info["default_samplerate"]),
            is_default_input=info["index"] == default_in,
            is_default_output=info["index"] == default_out,
        )
        for info in found
    ]


def device_info(sd: ModuleType, device: int | str | None, kind: str) -> dict[str, Any]:
    """The chosen (or default) device of ``kind``; one clear error when there is none."""
    missing = NO_MICROPHONE if kind == "input" else NO_SPEAKER
    channels_key = f"max_{kind}_channels"
    try:
        if device is None:
            index = sd.default.device[0 if kind == "input" else 1]
            if index is None or index < 0:
                raise AudioDeviceError(missing, code="audio_device_missing")
            info = dict(sd.query_devices(index))
        else:
            info = dict(sd.query_devices(device))
    except (ValueError, sd.PortAudioError) as err:
        named = "" if device is None else f" ({device!r})"
        raise AudioDeviceError(f"{missing}{named}", code="audio_device_missing") from err
    if info[channels_key] < 1:
        raise AudioDeviceError(
            f"{missing} ({info['name']!r} has no {kind})", code="audio_device_missing"
        )
    return info


def device_rate(sd: ModuleType, info: dict[str, Any], kind: str, wanted: int | None) -> int:
    """16 kHz when the device takes it (no resampling), else its own default rate."""
    if wanted is not None:
        return wanted
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=info["index"], samplerate=audio.SAMPLE_RATE, channels=1, dtype="int16")
    except (ValueError, sd.PortAudioError):
        rate = round(info["default_samplerate"])
        _LOGGER.info("%s does not take 16 kHz; resampling from %d Hz", info["name"], rate)
        return rate
    return audio.SAMPLE_RATE


def close_stream(stream: Any) -> None:
    try:
        stream.abort()
        stream.close()
    except Exception:  # closing is best effort; the device may already be gone
        _LOGGER.warning("closing %r failed", stream, exc_info=True)
