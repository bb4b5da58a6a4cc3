"""How replies look in Telegram: one message per turn, buttons that name their question."""

from __future__ import annotations

from assistant.events import ArtifactLink, Choice, Progress, Reply, ReplyKind, SessionState
from assistant.session import Session
from channels.telegram.render import (
    MAX_CALLBACK_DATA,
    button_data,
    parse_button,
    question_tag,
    render,
    split_text,
)


def _reply(kind: ReplyKind, text: str, **kwargs: object) -> Reply:
    return Reply(kind, text, text, "en", SessionState.ASK, **kwargs)  # type: ignore[arg-type]


def test_a_turn_is_one_message_with_the_last_choices_as_buttons() -> None:
    replies = [
        _reply(ReplyKind.INFO, "Got it: Animal quiz."),
        _reply(
            ReplyKind.QUESTION,
            "Question 2 of 4. What is it about?",
            choices=(Choice("animals", "animals", 1), Choice("food", "food", 2)),
        ),
    ]
    [message] = render(replies, "abc123")
    assert message.text == "Got it: Animal quiz.\n\nQuestion 2 of 4. What is it about?"
    assert [(b.label, b.data) for b in message.buttons] == [
        ("1. animals", "abc123:1"),
        ("2. food", "abc123:2"),
    ]


def test_confirm_make_it_is_a_button_without_a_number() -> None:
    reply = _reply(
        ReplyKind.CONFIRM,
        "Here are your answers.",
        choices=(Choice("make", "Yes, make it", 0), Choice("q1", "Change answer 1", 1)),
    )
    [message] = render([reply], "abc123")
    assert [b.label for b in message.buttons] == ["Yes, make it", "1. Change answer 1"]
    assert parse_button(message.buttons[0].data) == ("abc123", 0)


def test_progress_and_delivery_are_messages_of_their_own() -> None:
    links = (
        ArtifactLink("preview", "http://h/p/t/", "Preview"),
        ArtifactLink("download", "http://h/a/t", "Download"),
        ArtifactLink("qr", "http://h/q/t.svg", "QR code"),
    )
    out = render(
        [
            _reply(ReplyKind.PROGRESS, "Making it.", progress=Progress("queued")),
            _reply(ReplyKind.DELIVERY, "Your quiz is ready.", links=links),
            _reply(ReplyKind.QUESTION, "What next?", choices=(Choice("finish", "Finish", 1),)),
        ],
        "abc123",
    )
    assert [m.kind for m in out] == ["progress", "delivery", "message"]
    assert out[1].text == "Your quiz is ready.\nPreview: http://h/p/t/\nDownload: http://h/a/t"
    assert out[1].links["qr"] == "http://h/q/t.svg"
    assert out[2].buttons[0].label == "1. Finish"


def test_long_text_is_split_at_line_ends_under_the_limit() -> None:
    text = "\n".join(f"line {n} " + "x" * 50 for n in range(200))
    pieces = split_text(text, 1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert "\n".join(pieces) == text


def test_the_tag_changes_with_the_question_and_buttons_are_checked() -> None:
    session = Session(key="telegram:1", language="en", channel="telegram")
    first = question_tag(session)
    session.state = SessionState.ASK
    session.job_id = "quiz_game"
    asking = question_tag(session)
    session.index = 1
    assert len({first, asking, question_tag(session)}) == 3
    data = button_data(asking, 12)
    assert len(data.encode()) <= MAX_CALLBACK_DATA
    assert parse_button(data) == (asking, 12)
    for bad in (None, "", "abc:1", "abc123:x", "abc123:-1", "abc123:1234", "x" * 70):
        assert parse_button(bad) is None, bad
