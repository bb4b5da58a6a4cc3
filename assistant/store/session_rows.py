"""A session as a row, for both stores: one column list and one conversion each way.

SQLite keeps JSON as text and PostgreSQL as ``jsonb``; each store passes its own ``encode``
(how a JSON value is written) and ``decode`` (how it is read back), and everything else (which
columns, which are JSON, that an empty value is stored as NULL, the defaults of a missing one)
is decided here once, so the two stores cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.events import SessionState
from assistant.session import Session, pending_from_json, pending_to_json

SESSION_COLUMNS = (
    "key", "code", "language", "channel", "state", "job_id", "idx", "answers", "edit_id",
    "paused", "preferences", "generation_id", "series", "version", "artifact_id", "pending",
    "ask_next", "look", "undo", "job_digest", "revision", "created", "updated",
)  # fmt: skip

Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]


def _empty_as_null(value: Any, encode: Encode) -> Any:
    """An empty list or mapping is stored as NULL (old rows have NULL there too)."""
    return encode(value) if value else None


def session_row(session: Session, encode: Encode) -> tuple[Any, ...]:
    """The session's values in ``SESSION_COLUMNS`` order, JSON columns through ``encode``."""
    return (
        session.key, session.code, session.language, session.channel, session.state.value,
        session.job_id, session.index, encode(session.answers), session.edit_id,
        session.paused, encode(session.preferences), session.generation_id, session.series,
        session.version, session.artifact_id,
        _empty_as_null(pending_to_json(session.pending), encode),
        _empty_as_null(session.ask_next, encode), _empty_as_null(session.look, encode),
        _empty_as_null(session.undo, encode), session.job_digest, session.revision,
        session.created, session.updated,
    )  # fmt: skip


def session_from_row(row: tuple[Any, ...], decode: Decode) -> Session:
    """The session a row in ``SESSION_COLUMNS`` order holds, JSON columns through ``decode``."""
    values = dict(zip(SESSION_COLUMNS, row, strict=True))

    def json_value(column: str, empty: Any) -> Any:
        stored = values[column]
        return decode(stored) if stored is not None else empty

    pending = json_value("pending", None)
    return Session(
        key=values["key"], code=values["code"], language=values["language"],
        channel=values["channel"], state=SessionState(values["state"]), job_id=values["job_id"],
        index=values["idx"] or 0, answers=json_value("answers", {}) or {},
        edit_id=values["edit_id"], paused=bool(values["paused"]),
        preferences=json_value("preferences", {}) or {},
        generation_id=values["generation_id"], series=values["series"],
        version=values["version"] or 0, artifact_id=values["artifact_id"],
        pending=pending_from_json(pending) if pending else None,
        ask_next=json_value("ask_next", []) or [], look=json_value("look", {}) or {},
        undo=json_value("undo", []) or [], job_digest=values["job_digest"],
        revision=values["revision"], created=values["created"] or 0.0,
        updated=values["updated"] or 0.0,
    )  # fmt: skip
