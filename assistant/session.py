"""A session's state: what the dialog manager reads, changes and hands to the store."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from assistant.events import SessionState

# Six characters a person can read out or type without confusing 0/O or 1/I.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


# A page's look beyond its answers ("make the title bigger"): size steps per part, three
# either way at most (generators/look.py turns them into style rules).
LOOK_PARTS = ("title", "text", "photo")
MAX_LOOK_STEPS = 3


def clamp_look_step(step: int) -> int:
    """A size step within what the layouts can hold."""
    return max(-MAX_LOOK_STEPS, min(MAX_LOOK_STEPS, step))


def clean_look(raw: object) -> dict[str, int]:
    """Only known parts with whole, non-zero steps in range: a stored look is data, never CSS."""
    if not isinstance(raw, dict):
        return {}
    return {
        part: clamp_look_step(step)
        for part, step in raw.items()
        if part in LOOK_PARTS and isinstance(step, int) and not isinstance(step, bool) and step
    }


# What a user may do with a delivered artifact when the facility allows it (issue 16).
SHARE_KINDS = ("publish", "send")


def new_code() -> str:
    """A fresh code for continuing a session on another device."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job heard unsurely at the menu, held for a yes or no.

    ``guessed``: understood from the person's own words as a close call (issue 14), asked as
    "Did you mean …?"; a no then offers the list rather than "say it again"."""

    job_id: str
    guessed: bool = False


@dataclass(frozen=True, slots=True)
class PendingAnswer:
    """An answer heard unsurely, held for a yes or no before it is kept."""

    question_id: str
    value: Any


@dataclass(frozen=True, slots=True)
class PendingValue:
    """An optional question answered "yes, I have one": the next words are the value itself."""

    question_id: str


@dataclass(frozen=True, slots=True)
class PendingCancel:
    """A cancel said with answers given, held for "are you sure?" before they are wiped."""


@dataclass(frozen=True, slots=True)
class PendingPhoto:
    """A photo received for a photo question, held until its alt text ("what is in the
    picture?") is said or typed; stored, so a restart resumes at that question."""

    question_id: str
    photo_id: str


@dataclass(frozen=True, slots=True)
class PendingShare:
    """Putting the delivered artifact on the facility's site (``publish``) or sending it by
    e-mail (``send``), offered when the facility allows it and held for a yes after the
    read-back. A sending first waits for its address; the address lives here only until the
    yes or no, then it goes with the request and is not kept (issue 16)."""

    kind: str  # publish or send
    address: str = field(default="", repr=False)


Pending = PendingJob | PendingAnswer | PendingValue | PendingCancel | PendingPhoto | PendingShare


def asks_yes_no(pending: Pending | None) -> bool:
    """Whether what is held waits for a yes or no (an asked-for value or a photo's alt text
    waits for free words, and so does a sending that has no address yet)."""
    if isinstance(pending, PendingShare):
        return pending.kind != "send" or bool(pending.address)
    return pending is not None and not isinstance(pending, PendingValue | PendingPhoto)


def pending_to_json(pending: Pending | None) -> dict[str, Any] | None:
    """The stored form, the same JSON rows have always held (``job``, or ``question``+``value``)."""
    if isinstance(pending, PendingJob):
        return {"job": pending.job_id, **({"guessed": True} if pending.guessed else {})}
    if isinstance(pending, PendingAnswer):
        return {"question": pending.question_id, "value": pending.value}
    if isinstance(pending, PendingValue):
        return {"asked_for": pending.question_id}
    if isinstance(pending, PendingCancel):
        return {"cancel": True}
    if isinstance(pending, PendingPhoto):
        return {"photo_for": pending.question_id, "photo": pending.photo_id}
    if isinstance(pending, PendingShare):
        return {"share": pending.kind, "address": pending.address}
    return None


def pending_from_json(stored: object) -> Pending | None:
    """Inverse of ``pending_to_json``; anything unreadable is no pending answer at all."""
    if not isinstance(stored, dict):
        return None
    if isinstance(stored.get("job"), str):
        return PendingJob(stored["job"], stored.get("guessed") is True)
    if isinstance(stored.get("question"), str):
        return PendingAnswer(stored["question"], stored.get("value"))
    if isinstance(stored.get("asked_for"), str):
        return PendingValue(stored["asked_for"])
    if stored.get("cancel") is True:
        return PendingCancel()
    if isinstance(stored.get("photo_for"), str) and isinstance(stored.get("photo"), str):
        return PendingPhoto(stored["photo_for"], stored["photo"])
    if stored.get("share") in SHARE_KINDS:
        address = stored.get("address")
        return PendingShare(stored["share"], address if isinstance(address, str) else "")
    return None


@dataclass(slots=True)
class Session:
    """One user's conversation, as stored between turns.

    ``index`` is the current question while asking; ``edit_id`` the question being changed;
    ``revision`` grows with every stored turn so two writers can never silently overwrite
    each other.
    """

    key: str
    language: str
    channel: str
    code: str = field(default_factory=new_code)
    state: SessionState = SessionState.WELCOME
    job_id: str | None = None
    index: int = 0
    answers: dict[str, Any] = field(default_factory=dict)
    edit_id: str | None = None
    paused: bool = False
    preferences: dict[str, Any] = field(default_factory=dict)
    generation_id: int | None = None
    series: str | None = None
    version: int = 0
    artifact_id: str | None = None
    pending: Pending | None = None
    ask_next: list[str] = field(default_factory=list)
    # How the delivered page looks beyond its answers ("make the title bigger"): part -> step
    # (generators/look.py); and the inputs of earlier versions, newest last, for "undo".
    look: dict[str, int] = field(default_factory=dict)
    undo: list[dict[str, Any]] = field(default_factory=list)
    # The digest of the job's text when the session started it (``Job.digest``): after a
    # restart the session finishes with that version, found again among the saved ones.
    job_digest: str | None = None
    revision: int = 0
    created: float = 0.0
    updated: float = 0.0


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One row of the audit history: what came in, and what went out."""

    session_key: str
    at: float
    channel: str
    text: str | None
    state_before: str
    state_after: str
    replies: list[dict[str, Any]]
    # The recogniser's confidence when the words were spoken (None when typed or when no
    # words came): stored so the console can chart how well each question is heard.
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """Confirmed answers handed to the generation queue; ``series`` groups versions."""

    session_key: str
    job_id: str
    language: str
    answers: dict[str, Any]
    series: str
    version: int
    id: int | None = None
    look: dict[str, int] = field(default_factory=dict)  # size steps per part (generators/look)
    # The artifact's public page link, chosen before it is built so a page can print it as a
    # QR code (the event poster); "" when there is none. Never stored with the request.
    link: str = ""


@dataclass(frozen=True, slots=True)
class ShareRequest:
    """A user's yes to putting their artifact on the facility's site or sending it by
    e-mail, carried out once the turn is stored; the address goes no further than the mail
    it is for (never the session's row or its history)."""

    kind: str  # publish or send (SHARE_KINDS)
    session_key: str
    artifact_id: str
    language: str
    address: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Artifact:
    """A finished artifact: its folder, its files and the manifest written beside them."""

    id: str
    series: str
    version: int
    session_key: str
    job_id: str
    folder: str
    files: tuple[str, ...]
    manifest: dict[str, Any]
    created: float
    token: str = ""
    expires: float | None = None

    @property
    def zip_path(self) -> str:
        """The download: every file of the manifest, in one zip beside the folder's files."""
        return f"{self.folder}/{self.id}.zip"
