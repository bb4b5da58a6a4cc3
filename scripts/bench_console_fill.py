"""The history ``scripts/bench_console.py`` serves the console from (issue 16's figures).

A few conversations are walked through the real dialog manager once, then their session rows
and turns are copied under new keys and times in one transaction (``executemany``), so the
console reads what it would read after months of use without months of turns through the
manager: 10,000 sessions and 100,000 turns take seconds. Most sessions are days old (spread
over 90 days), ``RECENT_SHARE`` of them within the live list's hour. Every fifth session has a
build: most finished with an artifact awaiting review, some failed; and staff have left an
audit trail, so the artifacts, charts and audit pages read real rows too.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_ROOT, Settings
from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.jobs.loader import load_jobs
from assistant.jobs.phrases import load_phrases
from assistant.store.sqlite import SQLiteStore
from testing.cafe_walk import cafe_walk

DAY = 86400.0
RECENT_SHARE = 0.01  # of the sessions, used within the live list's hour
BUILT_EVERY = 5  # every fifth session asked for its artifact
FAILED_EVERY = 10  # of those builds, every tenth failed
AUDIT_PER_SESSION = 0.5  # audit entries (sign-ins, staff messages) per session
# Conversations walked once and copied: a café page, a quiz with misses, one in Japanese.
SCRIPTS = {
    "en": [*cafe_walk(), "back", "help", "yes"],
    "en-quiz": ["", "4", "Animals", "1", "banana", "lots", "purple", "help", "2", "back", "5"],
    "ja": [*cafe_walk(language="ja"), "戻る", "ヘルプ", "はい"],
}


async def _templates(path: Path, turns_each: int) -> list[str]:
    """Walk each script for ``turns_each`` turns through the real manager; their keys."""
    store = SQLiteStore(path)
    await store.open()
    manager = DialogManager(
        jobs=load_jobs(PROJECT_ROOT / "dialogs" / "jobs"),
        phrases=load_phrases(PROJECT_ROOT / "dialogs" / "locales"),
        store=store,
        default_language="en",
    )
    keys = []
    try:
        for name, script in SCRIPTS.items():
            for extra in (0, 1):  # a template of each length the totals need
                key = f"template:{name}:{turns_each + extra}"
                language = "ja" if name == "ja" else "en"
                for n in range(turns_each + extra):
                    text = script[n % len(script)]
                    await manager.handle(Turn(key, text, language=language, channel="web"))
                keys.append(key)
    finally:
        await store.close()
    return keys


async def fill(data_dir: Path, sessions: int, turns: int) -> None:
    """``sessions`` sessions and ``turns`` turns in the store's schema, most days old."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True, mode=0o700)
    path = Settings(data_dir=data_dir).database_path
    turns_each, extra = divmod(turns, sessions)
    keys = await _templates(path, turns_each)
    await asyncio.to_thread(_copy, path, keys, sessions, extra)


def _copy(path: Path, keys: list[str], sessions: int, extra: int) -> None:
    """The templates' rows copied under new keys and times, in one transaction; the first
    ``extra`` sessions are copies of the templates one turn longer."""
    now = time.time()
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = {k: dict(db.execute("SELECT * FROM sessions WHERE key=?", (k,)).fetchone())
                for k in keys}  # fmt: skip
        history = {k: [dict(t) for t in db.execute(
            "SELECT * FROM turns WHERE session_key=? ORDER BY id", (k,))] for k in keys}  # fmt: skip
        db.execute("DELETE FROM turns")
        db.execute("DELETE FROM sessions")
        recent = max(1, int(sessions * RECENT_SHARE))
        session_rows, turn_rows = [], []
        for i in range(sessions):
            longer = i < extra  # the remainder of the turns, one more each
            key = keys[(i % len(SCRIPTS)) * 2 + longer]
            # The newest ``recent`` within the hour, the rest spread over 90 days.
            start = now - (60 + i * 30 if i < recent else DAY + (i * 7919 % (89 * 86400)))
            row = dict(rows[key], key=f"web:bench{i:06d}", code=f"B{i:07d}")
            last = history[key][-1]["at"] - history[key][0]["at"]
            row["created"], row["updated"] = start, start + last
            session_rows.append(row)
            first = history[key][0]["at"]
            for turn in history[key]:
                turn_rows.append({**turn, "id": None, "session_key": row["key"],
                                  "at": start + turn["at"] - first})  # fmt: skip
        _insert(db, "sessions", session_rows)
        _insert(db, "turns", turn_rows)
        generations, artifacts = _builds(session_rows)
        _insert(db, "generations", generations)
        _insert(db, "artifacts", artifacts)
        _insert(db, "audit_log", _audit(session_rows))
    for file in path.parent.iterdir():
        file.chmod(0o600)  # private, as the service makes its own files


def _insert(db: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Many rows into one table in one statement (the caller's transaction)."""
    if not rows:
        return
    columns = list(rows[0])
    db.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(row[c] for c in columns) for row in rows],
    )


def _builds(sessions: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Generations and their artifacts for every ``BUILT_EVERY``-th session."""
    generations, artifacts = [], []
    for n, session in enumerate(sessions[::BUILT_EVERY]):
        job, at = session["job_id"] or "cafe_page", session["updated"]
        failed = n % FAILED_EVERY == 0
        artifact = f"bench{n:06d}"
        generations.append({
            "session_key": session["key"], "job_id": job, "language": session["language"],
            "answers": "{}", "series": artifact, "version": 1,
            "status": "failed" if failed else "done", "attempts": 1, "created": at,
            "started": at + 0.1, "finished": at + 2.5 + n % 7,
            "artifact_id": None if failed else artifact,
            "error_code": "render_timeout" if failed else None,
            "error_message": "timed out" if failed else None,
        })  # fmt: skip
        if not failed:
            manifest = {"llm": {"model": "qwen2.5-coder-1.5b", "outcome": "used", "seconds": 4.0}}
            artifacts.append({
                "id": artifact, "series": artifact, "version": 1, "session_key": session["key"],
                "job_id": job, "folder": f"/nonexistent/{artifact}", "files": '["index.html"]',
                "manifest": json.dumps(manifest), "created": at + 2.5, "token": f"t{artifact}",
                "expires": at + 30 * DAY,
            })  # fmt: skip
    return generations, artifacts


def _audit(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Staff's trail: a sign-in, or a message into a session, for some of the sessions."""
    every = max(1, round(1 / AUDIT_PER_SESSION))
    return [
        {"at": s["updated"] + 5, "who": "sam", "role": "staff",
         "action": "staff_message" if n % 2 else "sign_in", "address": "192.0.2.7",
         "session_key": s["key"] if n % 2 else None, "artifact_id": None,
         "detail": json.dumps({"text": "Pick 1"} if n % 2 else {})}
        for n, s in enumerate(sessions[::every])
    ]  # fmt: skip
