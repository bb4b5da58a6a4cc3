"""What Telegram computes from a message: trimmed text and entities, image sizes, voice length."""

from __future__ import annotations

import re
from typing import Any

from testing.telegram.wire import JsonDict, _bad, _u16


def _trim(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Telegram strips leading and trailing whitespace and shifts entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = _u16(text[: len(text) - len(text.lstrip())])
    limit = _u16(stripped)
    kept: list[JsonDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _render(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JsonDict]]:
    """Text as displayed plus its entities, as Telegram computes them for a message.

    ``parse_mode`` markup (HTML, MarkdownV2) is not modelled: the bot sends plain text, so a
    change that starts sending markup is refused here, loudly, rather than half-checked.
    """
    if parse_mode:
        raise _bad(f"parse_mode {parse_mode!r} is not modelled by this fake: send plain text")
    if entities:
        if not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        plain, found = text, [dict(entity) for entity in entities]
    else:
        plain, found = text, []
    plain, found = _trim(plain, found)
    found.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return plain, found


def _command_entities(text: str) -> list[JsonDict]:
    """bot_command entities like Telegram adds to user messages (``/start``, ``/help@bot``)."""
    found = []
    for match in re.finditer(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@\w+)?", text):
        found.append(
            {
                "type": "bot_command",
                "offset": _u16(text[: match.start()]),
                "length": _u16(match.group()),
            }
        )
    return found


# --------------------------------------------------------------------------- media sniffing


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF, BMP or WebP; None when it is not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"BM") and len(data) >= 26:
        return int.from_bytes(data[18:22], "little"), abs(
            int.from_bytes(data[22:26], "little", signed=True)
        )
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return (
                int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1,
            )
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            return (
                int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF,
            )
        return None
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            length = int.from_bytes(data[index + 2 : index + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD):
                height = int.from_bytes(data[index + 5 : index + 7], "big")
                width = int.from_bytes(data[index + 7 : index + 9], "big")
                return width, height
            index += 2 + length
        return None
    return None


def _ogg_opus_duration(data: bytes) -> float | None:
    """Seconds of an Ogg Opus stream from its last granule position and pre-skip."""
    if not data.startswith(b"OggS"):
        return None
    head = data.find(b"OpusHead")
    last = data.rfind(b"OggS")
    if head < 0 or last < 0 or len(data) < last + 14:
        return None
    pre_skip = int.from_bytes(data[head + 10 : head + 12], "little")
    granule = int.from_bytes(data[last + 6 : last + 14], "little")
    return max(granule - pre_skip, 0) / 48000
