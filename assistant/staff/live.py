"""Who needs help right now: the live sessions a staff member watches, each with its reasons.

A person at a kiosk who is stuck does not ask for a human; the signs are in what has already
happened. Four are read from the stored turns, so every process behind one database sees the
same list and nothing new is recorded for it:

- **re-asks:** the last answers in a row were not understood (``RE_ASKS`` problem replies);
- **silence:** nothing said for ``silence_s`` while the session waits for an answer (a
  session the person paused on purpose, "wait a minute", is not stuck);
- **help twice:** help asked at least twice among the latest turns;
- **failed generation:** the session's latest build failed.

Who is helping a session is read the same way, from what is already recorded: the audit log
holds every staff act on a session, so its latest message, answer typed for the user or
hand-back names the helper (nobody after a hand-back). It survives a restart and every
instance behind the database agrees.

The rules are pure functions of a session's recent activity, so the console, the command line
and the tests all judge alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.events import ReplyKind, SessionState
from assistant.staff.audit import AuditAction

RE_ASKS = 3  # problem replies in a row: the same question missed three times
HELP_TIMES = 2  # help asked this often among the latest turns
RECENT_TURNS = 8  # the turns each rule looks at
SILENCE_S = 120.0  # a question left unanswered this long, in a state that waits for one
# States in which the session waits for the person's answer (silence there means stuck).
WAITING = frozenset(
    {SessionState.CHOOSE_JOB, SessionState.ASK, SessionState.EDIT, SessionState.CONFIRM,
     SessionState.DESCRIBE}
)  # fmt: skip
REASONS = ("re_asks", "silence", "help_twice", "generation_failed")
# The audit log's actions of a staff member stepping into a session; the latest one decides
# who is helping it (whoever acted, until a hand-back).
HELP_ACTS = frozenset(
    {AuditAction.STAFF_MESSAGE, AuditAction.ANSWER_FOR_USER, AuditAction.HAND_BACK}
)


@dataclass(frozen=True, slots=True)
class SessionActivity:
    """A session not ended, as the staff console's live list reads it: its row, its latest
    turns (oldest first, as stored), the status of its latest build and its latest staff act,
    if any."""

    key: str
    channel: str
    language: str
    state: str
    job_id: str | None
    paused: bool
    updated: float
    turns: list[dict[str, Any]]
    last_generation: str | None = None
    last_help_act: tuple[str, str] | None = None  # (who, action): its latest of ``HELP_ACTS``


@dataclass(frozen=True, slots=True)
class LiveSession:
    """One session as the console lists it; ``reasons`` empty when it is going well."""

    key: str
    channel: str
    language: str
    state: str
    job_id: str | None
    question_id: str | None
    idle_s: float
    reasons: tuple[str, ...]
    helping: str | None = None  # the staff member helping it now, if any

    @property
    def needs_help(self) -> bool:
        return bool(self.reasons)


def _kinds(turn: dict[str, Any]) -> set[str]:
    return {str(reply.get("kind")) for reply in turn.get("replies") or []}


def _said(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The turns in which the person said something (not silence, not a resume)."""
    return [turn for turn in turns if (turn.get("text") or "").strip()]


def re_asked(turns: list[dict[str, Any]]) -> bool:
    """The latest ``RE_ASKS`` things said were each answered with a problem."""
    said = _said(turns)[-RE_ASKS:]
    return len(said) == RE_ASKS and all(ReplyKind.PROBLEM in _kinds(turn) for turn in said)


def asked_help_twice(turns: list[dict[str, Any]]) -> bool:
    """Help given at least ``HELP_TIMES`` times among the recent turns."""
    return sum(ReplyKind.HELP in _kinds(turn) for turn in turns) >= HELP_TIMES


def current_question(turns: list[dict[str, Any]]) -> str | None:
    """The question the latest reply asked (None at the menu, the read-back, a delivery)."""
    for turn in reversed(turns):
        for reply in reversed(turn.get("replies") or []):
            if reply.get("question_id"):
                return str(reply["question_id"])
            if reply.get("kind") in (ReplyKind.MENU, ReplyKind.CONFIRM, ReplyKind.DELIVERY):
                return None
    return None


def helping(last_act: tuple[str, str] | None) -> str | None:
    """Who is helping a session, from its latest staff act (who, action) in the audit log:
    whoever sent a message or typed an answer, until somebody hands the session back."""
    if last_act is None:
        return None
    who, action = last_act
    return None if action == AuditAction.HAND_BACK else who


def judge(activity: SessionActivity, now: float, silence_s: float = SILENCE_S) -> LiveSession:
    """The session's line in the live list, with why it needs help (if it does)."""
    turns = activity.turns[-RECENT_TURNS:]
    idle = max(0.0, now - activity.updated)
    state = SessionState(activity.state)
    reasons = []
    if re_asked(turns):
        reasons.append("re_asks")
    if state in WAITING and not activity.paused and idle >= silence_s:
        reasons.append("silence")
    if asked_help_twice(turns):
        reasons.append("help_twice")
    if activity.last_generation == "failed" and state != SessionState.DELIVERED:
        reasons.append("generation_failed")
    return LiveSession(
        key=activity.key,
        channel=activity.channel,
        language=activity.language,
        state=activity.state,
        job_id=activity.job_id,
        question_id=current_question(turns) if state in WAITING else None,
        idle_s=idle,
        reasons=tuple(reasons),
        helping=helping(activity.last_help_act),
    )


def live_sessions(
    activities: list[SessionActivity], now: float, silence_s: float = SILENCE_S
) -> list[LiveSession]:
    """Every live session, those needing help first (most reasons, then longest idle)."""
    judged = [judge(activity, now, silence_s) for activity in activities]
    return sorted(judged, key=lambda s: (not s.needs_help, -len(s.reasons), -s.idle_s))
