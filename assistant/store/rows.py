"""What both stores build the same way from their rows: search conditions and the live list.

SQLite writes ``?`` where PostgreSQL writes ``%s``, and each reads its own rows, but which
filters a search takes, how a time window is bounded (from inclusive, to exclusive) and how a
live session is assembled from its parts are one decision, kept here so the two stores cannot
drift apart (``tests/test_store_ports*.py`` hold both to one behaviour).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from assistant.staff.live import SessionActivity


def conditions(
    equal: Iterable[tuple[str, Any]],
    window: tuple[str, float | None, float | None],
    mark: str,
) -> tuple[list[str], list[Any]]:
    """``column = mark`` for each ``(column, value)`` whose value is not None, and the window
    ``(column, since, until)``: since inclusive, until exclusive."""
    where: list[str] = []
    values: list[Any] = []
    for column, value in equal:
        if value is not None:
            where.append(f"{column} = {mark}")
            values.append(value)
    column, since, until = window
    if since is not None:
        where.append(f"{column} >= {mark}")
        values.append(since)
    if until is not None:
        where.append(f"{column} < {mark}")
        values.append(until)
    return where, values


def live_sessions(
    rows: Sequence[Sequence[Any]],
    recent: Mapping[str, list[dict[str, object]]],
    built: Mapping[str, str],
    acts: Mapping[str, tuple[str, str]],
) -> list[SessionActivity]:
    """The live list from its parts: session rows (key, channel, language, state, job id,
    paused, updated), each session's latest turns, latest build status and staff act."""
    return [
        SessionActivity(
            key=key,
            channel=channel,
            language=language,
            state=state,
            job_id=job_id,
            paused=bool(paused),
            updated=updated or 0.0,
            turns=recent[key],
            last_generation=built.get(key),
            last_help_act=acts.get(key),
        )  # fmt: skip
        for key, channel, language, state, job_id, paused, updated in rows
    ]
