"""A session's stored turns as the console's transcript shows them (issue 16, part S).

Each history row becomes one line: when, who spoke (the person, a staff member typing for
them, a staff member's own message, or the service itself, e.g. a delivery), what was said and
what was replied, and the state it left the session in, named in the page's language.
Everything stays text: the page escapes it and the script sets textContent.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from assistant.dialog.manager import STAFF_CHANNEL
from assistant.events import SessionState

Say = Callable[..., str]
SERVICE_CHANNELS = frozenset({"generator"})  # rows the service wrote with nobody speaking


def _who(row: dict[str, Any], say: Say) -> tuple[str, bool]:
    """Who the row speaks for, and whether a staff member did it."""
    channel = str(row.get("channel") or "")
    if channel.startswith(STAFF_CHANNEL):
        name = channel[len(STAFF_CHANNEL) :]
        if row.get("text") is None:
            return say("sessions.who_staff", name=name), True
        return say("sessions.who_for_user", name=name), True
    if channel in SERVICE_CHANNELS or row.get("text") is None:
        return say("sessions.who_service"), False
    return say("sessions.who_user"), False


def state_name(state: str, say: Say) -> str:
    """A session state as staff read it ("Answering a question", not "ask"); a state this
    version does not know (older rows) stays as stored."""
    if state not in {known.value for known in SessionState}:
        return state
    return say(f"sessions.state_{state}")


def transcript_rows(history: list[dict[str, Any]], say: Say) -> list[dict[str, Any]]:
    """The transcript's lines, oldest first; rows with nothing said or replied are left out
    (a preference saved, a session ended)."""
    rows = []
    for turn in history:
        replies = [str(reply.get("text") or "") for reply in turn.get("replies") or []]
        replies = [text for text in replies if text]
        said = turn.get("text")
        if not replies and not said:
            continue
        who, by_staff = _who(turn, say)
        at = datetime.datetime.fromtimestamp(float(turn["at"]), tz=datetime.UTC)
        rows.append(
            {
                "at": at.strftime("%H:%M:%S"),
                "who": who,
                "by_staff": by_staff,
                "said": said or "",
                "replies": replies,
                "state": state_name(str(turn.get("state_after") or ""), say),
            }
        )
    return rows
