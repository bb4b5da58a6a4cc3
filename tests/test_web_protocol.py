"""The web chat's client messages: each a dataclass that survives its own wire form, and every
refusal an ``AssistantError`` whose code the page receives."""

from __future__ import annotations

import json

import pytest

from assistant.errors import AssistantError
from assistant.events import Command, CommandName
from channels.web.protocol import (
    AudioEnd,
    AudioStart,
    ClientMessage,
    CommandMessage,
    Hello,
    Ping,
    PreferencesMessage,
    ProtocolError,
    Resume,
    Say,
    parse,
)

KEY = "web:" + "a" * 24

MESSAGES: list[ClientMessage] = [
    Hello(),
    Hello(session=KEY, code="ABC234", language="ja", kiosk="lobby"),
    Say("2"),
    CommandMessage(Command(CommandName.BACK)),
    CommandMessage(Command(CommandName.SWITCH_LANGUAGE, "en")),
    PreferencesMessage({"silence": 2.0, "theme": "contrast", "voice": True}),
    Resume("ABC234"),
    AudioStart("hands_free"),
    AudioEnd(),
    Ping(),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_survives_its_wire_form(message: ClientMessage) -> None:
    assert parse(json.dumps(message.to_wire())) == message


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        ({"type": "command", "name": "wait_longer"}, "bad_field"),  # spoken only, no button
        ({"type": "command", "name": "switch_language", "argument": "fr"}, "bad_field"),
        ({"type": "preferences", "values": {"silence": 9}}, "bad_field"),  # past 5 s
        ({"type": "preferences", "values": {"owner": "me"}}, "bad_field"),
        ({"type": "audio_start", "mode": "forever"}, "bad_field"),
        ({"type": "shout"}, "unknown_type"),
        ([1, 2], "bad_json"),
    ],
)
def test_refusals_are_assistant_errors_with_a_code(wire: object, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(json.dumps(wire))
    assert isinstance(caught.value, AssistantError)
    assert caught.value.to_wire()["code"] == code


def test_a_foreign_session_key_means_a_fresh_session_and_codes_are_upper_case() -> None:
    hello = parse(json.dumps({"type": "hello", "session": "someone-else", "code": " abc234 "}))
    assert hello == Hello(session=None, code="ABC234")
