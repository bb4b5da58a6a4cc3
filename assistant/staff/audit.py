"""The staff audit log: who did what, when, from where, on which session or artifact.

Sign-ins, failed sign-ins and every staff action are written here by the console (issue 16).
The log is append-only in the database itself (triggers refuse UPDATE and DELETE, migration
``m012_audit_log``), so this module offers writing and reading only. It speaks to the store
through ``AuditStore``, a port of plain dicts, so the SQLite store (or a later PostgreSQL one)
needs nothing from this package.

A detail is a short JSON object. Values under names that look like secrets (a password, a
token, a one-time code) are replaced before they are written: the audit log is read and
exported by people who must never see them.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TextIO

# Names of detail keys whose values never reach the log.
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|otp|cookie|csrf|^code$|continuation", re.IGNORECASE
)
REDACTED = "[redacted]"
# A detail longer than this (as JSON) is cut, so one entry stays a line, not a document.
DETAIL_LIMIT = 2000
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "id", "time", "who", "role", "action", "address", "session", "artifact", "detail",
)  # fmt: skip


class AuditAction(StrEnum):
    """The actions issue 16 names, so every writer spells them alike and the console can
    offer them as a filter; ``AuditLog.record`` takes any other text as well."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    LOCKED_OUT = "locked_out"
    ACCOUNT_ADDED = "account_added"
    ACCOUNT_DISABLED = "account_disabled"
    PASSWORD_RESET = "password_reset"
    STAFF_MESSAGE = "staff_message"
    ANSWER_FOR_USER = "answer_for_user"
    HAND_BACK = "hand_back"
    APPROVE = "approve"
    SEND_BACK = "send_back"
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    SEND = "send"
    JOB_SAVED = "job_saved"
    JOB_ROLLED_BACK = "job_rolled_back"
    KNOWLEDGE_CHANGED = "knowledge_changed"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit log, as written."""

    id: int
    at: float
    who: str
    role: str
    action: str
    address: str = ""
    session_key: str | None = None
    artifact_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What to look for: every field given must match; ``None`` filters nothing."""

    who: str | None = None
    action: str | None = None
    session_key: str | None = None
    artifact_id: str | None = None
    since: float | None = None  # inclusive
    until: float | None = None  # exclusive
    text: str | None = None  # anywhere in names, address or detail
    limit: int = 1000  # 0: every match (an export)


class AuditStore(Protocol):
    """Where the log lives: rows in, rows out, nothing else (no update, no delete)."""

    async def append_audit(self, row: dict[str, Any]) -> int:
        """Add one row; returns its id."""
        ...

    async def search_audit(self, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Rows matching ``filters``, newest first."""
        ...

    async def latest_session_acts(
        self, keys: list[str], actions: Collection[str]
    ) -> dict[str, tuple[str, str]]:
        """Each of the sessions ``keys``' newest row among ``actions``: (who, action)."""
        ...


def redacted(detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` with every secret-looking value replaced, in nested objects too."""
    clean: dict[str, Any] = {}
    for key, value in detail.items():
        if _SECRET_KEY.search(str(key)):
            clean[str(key)] = REDACTED
        elif isinstance(value, Mapping):
            clean[str(key)] = redacted(value)
        else:
            clean[str(key)] = value
    return clean


def _short(detail: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) <= DETAIL_LIMIT:
        return json.loads(text)  # what cannot be JSON became text, as it will be stored
    return {"truncated": text[:DETAIL_LIMIT]}


class AuditLog:
    """Writes and searches the audit log through the store's port."""

    def __init__(self, store: AuditStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def record(
        self,
        who: str,
        role: str,
        action: str,
        *,
        address: str = "",
        session_key: str | None = None,
        artifact_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry now; secrets in ``detail`` are redacted first."""
        entry = AuditEntry(
            id=0, at=self.clock(), who=who, role=role, action=action, address=address,
            session_key=session_key, artifact_id=artifact_id,
            detail=_short(redacted(detail or {})),
        )  # fmt: skip
        row = asdict(entry)
        del row["id"]
        entry_id = await self.store.append_audit(row)
        return AuditEntry(**{**asdict(entry), "id": entry_id})

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        """Entries matching ``query``, newest first, at most ``query.limit``."""
        filters = asdict(query)
        limit = filters.pop("limit")
        rows = await self.store.search_audit(filters, limit)
        return [AuditEntry(**row) for row in rows]


def neutralised(value: str) -> str:
    """``value`` made inert for a spreadsheet: a leading ``'`` before a formula's first sign."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_row(entry: AuditEntry) -> list[str]:
    """One entry as the cells of ``CSV_COLUMNS``, every cell neutralised."""
    cells = [
        str(entry.id),
        datetime.datetime.fromtimestamp(entry.at).astimezone().isoformat(timespec="seconds"),
        entry.who, entry.role, entry.action, entry.address, entry.session_key or "",
        entry.artifact_id or "", json.dumps(entry.detail, ensure_ascii=False, sort_keys=True),
    ]  # fmt: skip
    return [neutralised(cell) for cell in cells]


def write_csv(entries: Iterable[AuditEntry], stream: TextIO) -> int:
    """Write a header and one row per entry to ``stream``; returns the rows written."""
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for entry in entries:
        writer.writerow(csv_row(entry))
        count += 1
    return count
