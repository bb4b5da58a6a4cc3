"""The web chat's wire protocol: what the page may send, checked before anything acts on it.

Everything a browser sends is untrusted. ``parse`` turns one websocket text frame into one of
the message dataclasses below (each with ``to_wire``/``from_wire``) or raises ``ProtocolError`` with a code and a locale key, so the connection
can answer in the user's language and carry on; a bad message never changes the session.

Client → server (JSON objects, ``type`` first):

* ``hello``: ``session`` (a key this browser was given), ``code``, ``language``, ``kiosk``
  (watch a kiosk screen: only from the kiosk's own machine, or with its ``token``)
* ``say``: ``text`` (typed, or the number of a pressed choice)
* ``command``: ``name`` (back, repeat, help, switch_language, ...), ``argument``
* ``preferences``: ``values`` (see ``PREFERENCES``)
* ``resume``: ``code`` (continue a session from another device)
* ``audio_start``: ``mode`` ``once`` or ``hands_free``; then binary frames of 16 kHz 16-bit
  mono PCM; then ``audio_end``
* ``ping``

Server → client: ``session``, ``replies``, ``heard``, ``listening`` (``active``; the page
opens its microphone only on ``true``), ``speech``, ``stop_speech`` (the user said stop:
silence what is playing; each reply also carries ``stop``), ``error`` (an
``AssistantError.to_wire()``: ``code`` and ``message``), ``notice``, ``pong``. A client that keeps sending what is
refused is told once more and then closed with code 1008 and the reason in words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.dialog.commands import BUTTON_COMMANDS
from assistant.errors import InputError
from assistant.events import Command, CommandName
from assistant.preferences import SILENCE
from assistant.safe_text import clean
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


class ProtocolError(InputError):
    """A message the server will not act on; ``key`` (its code) names the user's sentence."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key, code=key)
        self.key = key
        self.params = params


def _text(message: dict[str, Any], name: str, *, required: bool, limit: int) -> str | None:
    value = message.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ProtocolError("bad_field", field=name)
    # A JSON string may hold a lone surrogate ("\\ud800") that no store or frame can encode.
    return clean(value)


def _preference(name: str, value: Any) -> Any:
    rule = PREFERENCES.get(name)
    if rule is None:  # the name is shown back to the user in the sentence: made encodable
        raise ProtocolError("bad_field", field=clean(name))
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


@dataclass(frozen=True, slots=True)
class Hello:
    """Open (or reopen) a session: by its key, by a continuation code, or watch a kiosk."""

    session: str | None = None
    code: str | None = None
    language: str | None = None
    kiosk: str | None = None
    token: str | None = None  # the kiosk screen's token, when the screen is not local

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the page sends."""
        fields = {"session": self.session, "code": self.code, "language": self.language,
                  "kiosk": self.kiosk, "token": self.token}  # fmt: skip
        return {"type": "hello", **{k: v for k, v in fields.items() if v is not None}}

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> Hello:
        """Checked: a key that is not ours is ignored (a fresh session), anything else refused."""
        session = _text(message, "session", required=False, limit=64)
        code = _text(message, "code", required=False, limit=16)
        language = message.get("language")
        kiosk = message.get("kiosk")
        token = _text(message, "token", required=False, limit=256)
        if language is not None and language not in ("ja", "en"):
            raise ProtocolError("bad_field", field="language")
        if kiosk is not None and not (isinstance(kiosk, str) and WATCH_PATTERN.fullmatch(kiosk)):
            raise ProtocolError("bad_field", field="kiosk")
        return cls(
            session=session if session and KEY_PATTERN.fullmatch(session) else None,
            code=code.strip().upper() if code else None,
            language=language,
            kiosk=kiosk,
            token=token or None,
        )


@dataclass(frozen=True, slots=True)
class Say:
    """Typed words, or the number of a pressed choice."""

    text: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the page sends."""
        return {"type": "say", "text": self.text}

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> Say:
        """Checked: a string no longer than ``MAX_ANSWER``."""
        return cls(_text(message, "text", required=True, limit=MAX_ANSWER) or "")


@dataclass(frozen=True, slots=True)
class CommandMessage:
    """A command pressed as a button (back, repeat, help, switch_language...)."""

    command: Command

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the page sends."""
        wire: dict[str, Any] = {"type": "command", "name": self.command.name.value}
        if self.command.argument is not None:
            wire["argument"] = self.command.argument
        return wire

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> CommandMessage:
        """Checked: a command a button may send, and a language as its only argument."""
        name = message.get("name")
        if name not in BUTTON_COMMANDS:
            raise ProtocolError("bad_field", field="name")
        argument = message.get("argument")
        if argument is not None and argument not in ("ja", "en"):
            raise ProtocolError("bad_field", field="argument")
        return cls(Command(CommandName(name), argument))


@dataclass(frozen=True, slots=True)
class PreferencesMessage:
    """Settings the page changed, kept with the session (see ``PREFERENCES``)."""

    values: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the page sends."""
        return {"type": "preferences", "values": dict(self.values)}

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> PreferencesMessage:
        """Checked: known names only, each value of its kind and within its range."""
        values = message.get("values")
        if not isinstance(values, dict) or not values:
            raise ProtocolError("bad_field", field="values")
        return cls({name: _preference(name, v) for name, v in values.items()})


@dataclass(frozen=True, slots=True)
class Resume:
    """Continue a session from another device by its code."""

    code: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the page sends."""
        return {"type": "resume", "code": self.code}

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> Resume:
        """Checked: a short string, upper-cased (codes are read out and typed by hand)."""
        return cls((_text(message, "code", required=True, limit=16) or "").strip().upper())


@dataclass(frozen=True, slots=True)
class AudioStart:
    """Binary PCM frames follow: ``once`` for one utterance, or ``hands_free``."""

    mode: str = "once"

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the page sends."""
        return {"type": "audio_start", "mode": self.mode}

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> AudioStart:
        """Checked: one of ``AUDIO_MODES``."""
        mode = message.get("mode", "once")
        if mode not in AUDIO_MODES:
            raise ProtocolError("bad_field", field="mode")
        return cls(mode)


@dataclass(frozen=True, slots=True)
class AudioEnd:
    """The microphone was closed: what was heard so far is the utterance."""

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the page sends."""
        return {"type": "audio_end"}

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> AudioEnd:
        """Nothing to check."""
        return cls()


@dataclass(frozen=True, slots=True)
class Ping:
    """Keep-alive; answered with ``pong`` and never counted against the budget."""

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the page sends."""
        return {"type": "ping"}

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> Ping:
        """Nothing to check."""
        return cls()


ClientMessage = (
    Hello | Say | CommandMessage | PreferencesMessage | Resume | AudioStart | AudioEnd | Ping
)
_MESSAGES: dict[str, Callable[[dict[str, Any]], ClientMessage]] = {
    "hello": Hello.from_wire,
    "say": Say.from_wire,
    "command": CommandMessage.from_wire,
    "preferences": PreferencesMessage.from_wire,
    "resume": Resume.from_wire,
    "audio_start": AudioStart.from_wire,
    "audio_end": AudioEnd.from_wire,
    "ping": Ping.from_wire,
}


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
    if not isinstance(kind, str) or kind not in _MESSAGES:
        raise ProtocolError("unknown_type")
    return _MESSAGES[kind](message)
