"""Replies as Telegram messages: pure, so every layout decision can be tested without a bot.

One turn's replies become one message (a chat full of fragments is hard to follow), with the
last reply's choices as an inline keyboard, one large button per row. Progress and delivery
are messages of their own: progress is edited while generation runs, delivery is followed by
the zip and the QR code.

A button carries the number the user would otherwise say and a short tag of the question it
belongs to, so pressing a button left over from an earlier question does nothing surprising.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from assistant.events import Reply, ReplyKind
from assistant.session import Session

MAX_TEXT = 4096  # Telegram's limit for one message
MAX_CALLBACK_DATA = 64  # bytes


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: what it shows, and what pressing it sends back."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send; ``kind`` is message, progress or delivery."""

    text: str
    buttons: tuple[Button, ...] = ()
    kind: str = "message"
    links: dict[str, str] = field(default_factory=dict)


def question_tag(session: Session | None) -> str:
    """Six hex characters naming what the session is asking right now."""
    if session is None:
        return "none00"
    where = (
        f"{session.state.value}|{session.job_id}|{session.index}|{session.edit_id}|"
        f"{session.pending is not None}|{session.version}"
    )
    return hashlib.blake2s(where.encode(), digest_size=3).hexdigest()


def button_data(tag: str, number: int) -> str:
    return f"{tag}:{number}"


def parse_button(data: str | None) -> tuple[str, int] | None:
    """``(tag, number)`` from a button's data, or None for anything else."""
    if not data or len(data.encode()) > MAX_CALLBACK_DATA:
        return None
    tag, _, number = data.partition(":")
    if len(tag) != 6 or not number.isdigit() or len(number) > 3:
        return None
    return tag, int(number)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Text cut at line ends into pieces Telegram accepts."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        pieces.append(text)
    return pieces


def _buttons(reply: Reply, tag: str) -> tuple[Button, ...]:
    return tuple(
        Button(
            f"{choice.number}. {choice.label}" if choice.number > 0 else choice.label,
            button_data(tag, choice.number),
        )
        for choice in reply.choices
    )


def render(replies: list[Reply], tag: str) -> list[Outgoing]:
    """The messages for one turn's (or one delivery's) replies, in order."""
    out: list[Outgoing] = []
    texts: list[str] = []

    def flush(buttons: tuple[Button, ...] = ()) -> None:
        if texts:
            pieces = split_text("\n\n".join(texts))
            out.extend(Outgoing(piece) for piece in pieces[:-1])
            out.append(Outgoing(pieces[-1], buttons))
            texts.clear()

    for reply in replies:
        if reply.kind == ReplyKind.PROGRESS:
            flush()
            out.append(Outgoing(reply.text, kind="progress"))
        elif reply.kind == ReplyKind.DELIVERY:
            flush()
            links = {link.kind: link.url for link in reply.links}
            lines = [reply.text]
            lines += [f"{link.label}: {link.url}" for link in reply.links if link.kind != "qr"]
            out.append(Outgoing("\n".join(lines), kind="delivery", links=links))
        else:
            texts.append(reply.text)
    last_with_choices = next((r for r in reversed(replies) if r.choices), None)
    flush(_buttons(last_with_choices, tag) if last_with_choices is not None else ())
    return out
