"""``assistant live [--minutes N] [--lang ja|en]``: who is using the service now, and who needs
help, for staff at a terminal before (and beside) the console. Those needing help come
first, with their reasons in words."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from assistant.compose_store import store_for
from assistant.config import Settings
from assistant.events import SessionState
from assistant.jobs.phrases import load_phrases
from assistant.staff.live import live_sessions


def add_live_parser(commands: Any) -> None:
    """The ``live`` command and its options."""
    live = commands.add_parser("live", help="the sessions in use now; those needing help first")
    live.add_argument("--minutes", type=float, default=60.0, help="used within this (60)")
    live.add_argument("--lang", choices=("ja", "en"), help="language of the reasons")


def _state(state: str, language: str, say: Callable[..., str]) -> str:
    """The state as the console names it ("Answering a question", not "ask")."""
    known = {value.value for value in SessionState}
    return say(language, f"staff.sessions.state_{state}") if state in known else state


async def run_live(settings: Settings, args: argparse.Namespace) -> int:
    """Print one line per live session: needs help or not, why, where, and how long idle."""
    if args.minutes <= 0:
        print("error: --minutes must be more than 0")
        return 2
    phrases = load_phrases(settings.locales_dir)
    language = args.lang or settings.language
    store = store_for(settings)
    await store.open()
    try:
        now = time.time()
        found = live_sessions(await store.live_activity(now - args.minutes * 60), now)
    finally:
        await store.close()
    say = phrases.say
    if not found:
        print(say(language, "staff_live.none", minutes=f"{args.minutes:g}"))
        return 0
    for session in found:
        reasons = say(language, "staff_live.separator").join(
            say(language, f"staff_live.reason.{reason}") for reason in session.reasons
        )
        print(
            say(
                language,
                "staff_live.line_help" if session.needs_help else "staff_live.line_ok",
                session=session.key,
                channel=session.channel,
                job=session.job_id or "-",
                question=session.question_id or "-",
                state=_state(session.state, language, say),
                idle=f"{session.idle_s:.0f}",
                reasons=reasons,
            )  # fmt: skip
        )
    return 0
