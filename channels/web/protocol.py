"""The web chat's wire protocol: what the page may send, checked before anything acts on it.

Everything a browser sends is untrusted. ``parse`` turns one websocket text frame into a
``ClientMessage`` or raises ``ProtocolError`` with a code and a locale key, so the connection
can answer in the user's language and carry on; a bad message never changes the session.

Client → server (JSON objects, ``type`` first):

* ``hello``: ``session`` (a key this browser was given), ``code``, ``language``, ``kiosk``
* ``say``: ``text`` (typed, or the number of a pressed choice)
* ``command``: ``name`` (back, repeat, help, switch_language, ...), ``argument``
* ``preferences``: ``values`` (see ``PREFERENCES``)
* ``resume``: ``code`` (continue a session from another device)
* ``audio_start``: ``mode`` ``once`` or ``hands_free``; then binary frames of 16 kHz 16-bit
  mono PCM; then ``audio_end``
* ``ping``

Server → client: ``session``, ``replies``, ``heard``, ``listening`` (``active``; the page
opens its microphone only on ``true``), ``speech``, ``stop_speech`` (the user said stop:
silence what is playing), ``error``, ``notice``, ``pong``. A client that keeps sending what is
refused is told once more and then closed with code 1008 and the reason in words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from assistant.dialog.commands import BUTTON_COMMANDS
from assistant.preferences import SILENCE
from assistant.session import CODE_ALPHABET, CODE_LENGTH

MAX_TEXT_FRAME = 64 * 1024  # far above any answer; a larger frame is refused, not parsed
MAX_ANSWER = 2000  # characters; the dialog itself explains anything over its own limit
KEY_PATTERN = re.compile(r"web:[A-Za-z0-9_-]{24}")
WATCH_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")
CODE_PATTERN = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
AUDIO_MODES = ("once", "hands_free")


@dataclass(frozen=True, slots=True)
class Range:
    """A number preference and the values it may take."""

    low: float
    high: float


# Page preferences kept with the session; anything else is refused by name.
PREFERENCES: dict[str, type | Range | tuple[str, ...]] = {
    "theme": ("default", "contrast"),
    "text_size": Range(1.0, 2.5),
    "scan": bool,
    "scan_auto": bool,
    "scan_speed": Range(0.5, 5.0),
    "hold_time": Range(0.3, 3.0),  # seconds the switch is held to choose
    "voice": bool,
    "hands_free": bool,
    "silence": Range(SILENCE.low, SILENCE.high),  # the same end-of-speech setting the kiosk reads
}


class ProtocolError(Exception):
    """A message the server will not act on; ``key`` names the sentence for the user."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """One checked message from the page."""

    type: str
    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def _text(message: dict[str, Any], name: str, *, required: bool, limit: int) -> str | None:
    value = message.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ProtocolError("bad_field", field=name)
    return value


def _preference(name: str, value: Any) -> Any:
    rule = PREFERENCES.get(name)
    if rule is None:
        raise ProtocolError("bad_field", field=name)
    if rule is bool:
        if not isinstance(value, bool):
            raise ProtocolError("bad_field", field=name)
        return value
    if isinstance(rule, Range):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProtocolError("bad_field", field=name)
        if not rule.low <= float(value) <= rule.high:
            raise ProtocolError("bad_field", field=name)
        return float(value)
    if value not in rule:  # type: ignore[operator]
        raise ProtocolError("bad_field", field=name)
    return value


def _hello(message: dict[str, Any]) -> dict[str, Any]:
    session = _text(message, "session", required=False, limit=64)
    code = _text(message, "code", required=False, limit=16)
    language = message.get("language")
    kiosk = message.get("kiosk")
    if language is not None and language not in ("ja", "en"):
        raise ProtocolError("bad_field", field="language")
    if kiosk is not None and not (isinstance(kiosk, str) and WATCH_PATTERN.fullmatch(kiosk)):
        raise ProtocolError("bad_field", field="kiosk")
    return {
        "session": session if session and KEY_PATTERN.fullmatch(session) else None,
        "code": code.strip().upper() if code else None,
        "language": language,
        "kiosk": kiosk,
    }


def _fields(kind: str, message: dict[str, Any]) -> dict[str, Any]:
    if kind == "hello":
        return _hello(message)
    if kind == "say":
        return {"text": _text(message, "text", required=True, limit=MAX_ANSWER)}
    if kind == "command":
        name = message.get("name")
        if name not in BUTTON_COMMANDS:
            raise ProtocolError("bad_field", field="name")
        argument = message.get("argument")
        if argument is not None and argument not in ("ja", "en"):
            raise ProtocolError("bad_field", field="argument")
        return {"name": name, "argument": argument}
    if kind == "preferences":
        values = message.get("values")
        if not isinstance(values, dict) or not values:
            raise ProtocolError("bad_field", field="values")
        return {"values": {name: _preference(name, v) for name, v in values.items()}}
    if kind == "resume":
        code = (_text(message, "code", required=True, limit=16) or "").strip().upper()
        return {"code": code}
    if kind == "audio_start":
        mode = message.get("mode", "once")
        if mode not in AUDIO_MODES:
            raise ProtocolError("bad_field", field="mode")
        return {"mode": mode}
    if kind in ("audio_end", "ping"):
        return {}
    raise ProtocolError("unknown_type")


def parse(frame: str) -> ClientMessage:
    """One text frame as a checked message, or ``ProtocolError`` saying what was wrong."""
    if len(frame) > MAX_TEXT_FRAME:
        raise ProtocolError("too_large")
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError) as err:
        raise ProtocolError("bad_json") from err
    if not isinstance(message, dict):
        raise ProtocolError("bad_json")
    kind = message.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("unknown_type")
    return ClientMessage(kind, _fields(kind, message))
