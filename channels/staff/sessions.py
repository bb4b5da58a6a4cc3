"""The console's live sessions and live help (issue 16, part S): ``/staff/sessions``.

Viewers watch; staff act. The list and a session's transcript are pages that work without
script, and the same routes answer JSON (``Accept: application/json``) so ``sessions.js`` can
refresh them every few seconds. Three acts, each a CSRF-checked POST for staff and above,
each written to the audit log: a message into the session, an answer typed for the user
(checked like the user's own), and handing the session back. Who is helping a session is read
back from those entries (``assistant/staff/live.py``), so the list and the transcript name the
helper until the hand-back, across restarts and instances.
"""

from __future__ import annotations

import functools
import time
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import get_session

from assistant.events import ReplyKind
from assistant.safe_text import clean
from assistant.staff.accounts import role_rank
from assistant.staff.audit import AuditAction
from assistant.staff.live import HELP_ACTS, LiveSession, helping, live_sessions
from channels.staff import app as console_app  # a module: app.py adds these routes
from channels.staff.guard import STAFF_KEY, csrf_token, language, require_role, say
from channels.staff.parts import ConsoleParts, parts
from channels.staff.transcript import Say, state_name, transcript_rows

WINDOW_MINUTES = 60.0  # sessions used within this are live
MAX_MESSAGE = 500  # characters of a staff message or an answer typed for the user
ACTS = {  # the form's act → its audit action
    "message": AuditAction.STAFF_MESSAGE,
    "answer": AuditAction.ANSWER_FOR_USER,
    "hand-back": AuditAction.HAND_BACK,
}


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _idle(request: web.Request, seconds: float) -> str:
    if seconds < 120:
        return say(request, "sessions.idle_seconds", seconds=f"{seconds:.0f}")
    return say(request, "sessions.idle_minutes", minutes=f"{seconds / 60:.0f}")


def _row(request: web.Request, console: ConsoleParts, live: LiveSession) -> dict[str, Any]:
    """One line of the list, worded for the page and the script alike."""
    lang = language(request)
    job = console.jobs.jobs.get(live.job_id or "")
    return {
        "key": live.key,
        "url": f"/staff/sessions/{quote(live.key, safe='')}?lang={lang}",
        "channel": live.channel,
        "job": job.title.get(lang) if job is not None else "—",
        "question": live.question_id or "—",
        "idle": _idle(request, live.idle_s),
        "needs_help": live.needs_help,
        "help": say(request, "sessions.needs_help" if live.needs_help else "sessions.ok"),
        "reasons": "; ".join(say(request, f"sessions.reason_{r}") for r in live.reasons),
        "helping": _helping(request, live.helping),
    }


def _helping(request: web.Request, name: str | None) -> str:
    """The words "Helping: sam", or "" when nobody is helping."""
    return say(request, "sessions.helping", name=name) if name else ""


@require_role("viewer")
async def session_list(request: web.Request) -> web.StreamResponse:
    """Every live session, those needing help first; JSON for the refreshing script."""
    console = parts(request)
    now = time.time()
    found = live_sessions(await console.store.live_activity(now - WINDOW_MINUTES * 60), now)
    rows = [_row(request, console, live) for live in found]
    if _wants_json(request):
        return web.json_response({"sessions": rows}, headers={"Cache-Control": "no-store"})
    return console_app.render(
        request,
        "sessions.html",
        title=say(request, "part_sessions"),
        rows=rows,
        minutes=f"{WINDOW_MINUTES:g}",
    )


async def _transcript(
    request: web.Request, key: str, status: int = 200, **extra: Any
) -> web.StreamResponse:
    """The transcript page (or its JSON), with what an act just said when it was refused."""
    console = parts(request)
    session = await console.store.load(key)
    if session is None:
        raise web.HTTPNotFound(text=say(request, "sessions.unknown"))
    words: Say = functools.partial(say, request)  # console sentences in the request's language
    rows = transcript_rows(await console.store.history(key), words)
    acts = await console.store.latest_session_acts([key], HELP_ACTS)
    summary = say(request, "sessions.summary", channel=session.channel,
                  state=state_name(session.state.value, words))  # fmt: skip
    helper = _helping(request, helping(acts.get(key)))
    if _wants_json(request):
        return web.json_response(
            {"turns": rows, "state": session.state.value, "summary": summary, "helping": helper},
            headers={"Cache-Control": "no-store"},
        )
    account = request[STAFF_KEY]
    done = request.query.get("done", "")
    return console_app.render(
        request,
        "sessions_transcript.html",
        status=status,
        title=say(request, "sessions.transcript_of", session=key),
        key=key,
        path=f"/staff/sessions/{quote(key, safe='')}",
        summary=summary,
        helping=helper,
        rows=rows,
        can_act=role_rank(account.role) >= role_rank("staff"),  # the forms; POSTs check again
        csrf=csrf_token(await get_session(request)),
        note=say(request, f"sessions.done_{done.replace('-', '_')}") if done in ACTS else "",
        message=extra.get("message", ""),
        refused=extra.get("refused", ()),
        text=extra.get("text", ""),
        act=extra.get("act", ""),
    )


@require_role("viewer")
async def transcript(request: web.Request) -> web.StreamResponse:
    """One session's turns, what was said and replied, updating live."""
    return await _transcript(request, request.match_info["key"])


def _checked_text(request: web.Request, text: str) -> str | None:
    """The reason a typed text is refused (empty or too long), or None. It is cleaned of
    control characters first and stays plain text: every page and channel shows it as text."""
    if not text.strip():
        return say(request, "sessions.text_empty")
    if len(text) > MAX_MESSAGE:
        return say(request, "sessions.text_too_long", limit=str(MAX_MESSAGE))
    return None


@require_role("staff")
async def act(request: web.Request) -> web.StreamResponse:
    """A staff act on one session: message, answer for the user, or hand back."""
    key, what = request.match_info["key"], request.match_info["act"]
    if what not in ACTS:
        raise web.HTTPNotFound(text=say(request, "sessions.unknown"))
    console = parts(request)
    account = request[STAFF_KEY]
    form = await request.post()
    text = clean(str(form.get("text", ""))).strip() if what != "hand-back" else ""
    if what != "hand-back":
        problem = _checked_text(request, text)
        if problem is not None:
            return await _transcript(
                request, key, 422, message=problem, text=text[:MAX_MESSAGE], act=what
            )
    try:
        if what == "message":
            replies = await console.manager.staff_say(
                key, account.name, "staff.sessions.to_user", text=text
            )
        elif what == "answer":
            replies = await console.manager.answer_for_user(key, text, account.name)
        else:
            replies = await console.manager.staff_say(key, account.name, "staff.sessions.carry_on")
    except LookupError:
        raise web.HTTPNotFound(text=say(request, "sessions.unknown")) from None
    problems = [r.text for r in replies if r.kind == ReplyKind.PROBLEM]
    await console.audit.record(
        account.name, account.role, ACTS[what], address=request.remote or "", session_key=key,
        detail={"text": text, "refused": bool(problems)} if text else {},
    )  # fmt: skip
    if problems:
        return await _transcript(request, key, 422, refused=problems, text=text, act=what)
    target = f"/staff/sessions/{quote(key, safe='')}?lang={language(request)}&done={what}"
    raise web.HTTPSeeOther(target)


def add_routes(app: web.Application) -> None:
    """The live sessions' routes, on the console app."""
    app.router.add_get("/sessions", session_list)
    app.router.add_get("/sessions/{key}", transcript)
    app.router.add_post("/sessions/{key}/{act}", act)
