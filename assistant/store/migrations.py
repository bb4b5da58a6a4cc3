"""The schema of the SQLite store, as registered migrations applied in order at open.

Migrations are history: one that shipped is never edited or removed, since databases in the
field have applied it. A table that is no longer used (``seen_updates``) is dropped by a later
migration, not by rewriting the one that made it.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("facility_assistant")


@MIGRATIONS()
def m001_initial(db: sqlite_utils.Database) -> None:
    """Sessions, turns, the generation queue and artifacts."""
    db.table("sessions").create(
        {
            "key": str,
            "code": str,
            "language": str,
            "channel": str,
            "state": str,
            "job_id": str,
            "idx": int,
            "answers": str,
            "edit_id": str,
            "paused": int,
            "preferences": str,
            "generation_id": int,
            "series": str,
            "version": int,
            "artifact_id": str,
            "revision": int,
            "created": float,
            "updated": float,
        },
        pk="key",
        not_null={"code", "language", "channel", "state", "revision"},
    )
    db.table("sessions").create_index(["code"], unique=True)
    db.table("turns").create(
        {
            "id": int,
            "session_key": str,
            "at": float,
            "channel": str,
            "text": str,
            "state_before": str,
            "state_after": str,
            "replies": str,
        },
        pk="id",
    )
    db.table("turns").create_index(["session_key", "id"])
    db.table("generations").create(
        {
            "id": int,
            "session_key": str,
            "job_id": str,
            "language": str,
            "answers": str,
            "series": str,
            "version": int,
            "status": str,
            "attempts": int,
            "created": float,
            "started": float,
            "finished": float,
            "artifact_id": str,
            "error_code": str,
            "error_message": str,
        },
        pk="id",
    )
    db.table("generations").create_index(["status", "id"])
    db.table("artifacts").create(
        {
            "id": str,
            "series": str,
            "version": int,
            "session_key": str,
            "job_id": str,
            "folder": str,
            "files": str,
            "manifest": str,
            "created": float,
        },
        pk="id",
    )
    db.table("artifacts").create_index(["series", "version"], unique=True)


@MIGRATIONS()
def m002_artifact_links(db: sqlite_utils.Database) -> None:
    """Unguessable download tokens and optional expiry for delivery links."""
    db.table("artifacts").add_column("token", str)
    db.table("artifacts").add_column("expires", float)
    db.table("artifacts").create_index(["token"], unique=True)


@MIGRATIONS()
def m003_pending_answer(db: sqlite_utils.Database) -> None:
    """An answer heard unsurely, waiting for the user's yes before it is kept."""
    db.table("sessions").add_column("pending", str)


@MIGRATIONS()
def m004_channel_links(db: sqlite_utils.Database) -> None:
    """Which session a chat continues (after /resume CODE), and updates already handled.

    Chat platforms deliver updates at least once: after a restart the same update can come
    again, and it must not become a second turn.
    """
    db.table("channel_links").create(
        {"address": str, "session_key": str, "updated": float}, pk="address"
    )
    db.table("channel_links").create_index(["session_key"])
    db.table("seen_updates").create(
        {"source": str, "update_id": int, "at": float}, pk=("source", "update_id")
    )


@MIGRATIONS()
def m005_ask_next(db: sqlite_utils.Database) -> None:
    """Questions still to ask after a free description filled the others (auto mode)."""
    db.table("sessions").add_column("ask_next", str)


@MIGRATIONS()
def m006_telegram_ledger(db: sqlite_utils.Database) -> None:
    """The Telegram channel's durable inbox and outbox (see ``assistant/store/ledger.py``).

    The channel used to create these tables itself, so they may exist already: hence
    ``IF NOT EXISTS``.
    """
    for statement in _LEDGER_SCHEMA:
        db.execute(statement)


_LEDGER_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS telegram_updates (
        update_id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,            -- new, handling, done
        revision INTEGER,                -- the session's revision when handling began
        received REAL NOT NULL,
        finished REAL
    )""",
    "CREATE INDEX IF NOT EXISTS telegram_updates_status ON telegram_updates (status, update_id)",
    """CREATE TABLE IF NOT EXISTS telegram_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id INTEGER NOT NULL,
        update_id INTEGER,
        method TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL,            -- pending, sent, given_up
        created REAL NOT NULL,
        sent REAL,
        message_id INTEGER,
        reason TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS telegram_messages_status ON telegram_messages (status, id)",
)


@MIGRATIONS()
def m007_seats(db: sqlite_utils.Database) -> None:
    """Which session is the current one at each kiosk or console (a seat).

    Each person at a kiosk gets a session of their own; the seat names the current one, so
    a restarted kiosk carries on with the person in front of it and the kiosk screen (often
    another process) follows the seat from one person to the next.
    """
    db.table("seats").create({"seat": str, "session_key": str, "updated": float}, pk="seat")


@MIGRATIONS()
def m008_retention(db: sqlite_utils.Database) -> None:
    """Recent attempts per address (wrong codes, new sessions), the clean-up's runs, and the
    indexes the clean-up reads by.

    Attempts are in the store, not in memory, so a restart does not reset a guesser's count
    and every process behind one database counts the same attempts.
    """
    db.table("attempts").create(
        {"id": int, "kind": str, "address": str, "code": str, "at": float},
        pk="id",
        not_null={"kind", "address", "at"},
    )
    db.table("attempts").create_index(["kind", "address", "at"])
    db.table("attempts").create_index(["at"])
    db.table("cleanup_runs").create(
        {"id": int, "at": float, "dry_run": int, "removed": str}, pk="id"
    )
    db.table("sessions").create_index(["updated"])
    db.table("turns").create_index(["at"])
    db.table("artifacts").create_index(["created"])


@MIGRATIONS()
def m009_edits_in_words(db: sqlite_utils.Database) -> None:
    """Edits after delivery (issue 15): a session's look (title, text and photo sizes), the
    inputs of its earlier versions for "undo", and the look a queued task builds with, so a
    restart rebuilds exactly what was asked."""
    db.table("sessions").add_column("look", str)
    db.table("sessions").add_column("undo", str)
    db.table("generations").add_column("look", str)


@MIGRATIONS()
def m011_artifact_review(db: sqlite_utils.Database) -> None:
    """Issue 16, part B: an artifact's review (pending, approved, sent back with a comment the
    user sees, by whom and when), the slugs it is published under with every site version,
    and its e-mail sendings, kept without the address they went to."""
    artifacts = db.table("artifacts")
    artifacts.add_column("review", str, not_null_default="pending")
    artifacts.add_column("review_comment", str)
    artifacts.add_column("reviewed_by", str)
    artifacts.add_column("reviewed_at", float)
    db.table("sites").create(
        {"slug": str, "series": str, "artifact_id": str, "version": int, "live": int,
         "by": str, "at": float},
        pk="slug",
    )  # fmt: skip
    db.table("sites").create_index(["series"])
    db.table("site_versions").create(
        {"id": int, "slug": str, "version": int, "artifact_id": str, "live": int,
         "by": str, "at": float},
        pk="id",
    )  # fmt: skip
    db.table("artifact_sends").create(
        {"id": int, "artifact_id": str, "as_link": int, "by": str, "at": float,
         "status": str, "code": str},
        pk="id",
    )  # fmt: skip
    db.table("artifact_sends").create_index(["artifact_id"])


# -- issue 16, part C: the audit log -----------------------------------------------------------


@MIGRATIONS()
def m012_audit_log(db: sqlite_utils.Database) -> None:
    """The staff audit log (who did what, when, from where, to which session or artifact),
    append-only by the database itself: triggers refuse every UPDATE and DELETE of its rows,
    so no bug and no later code can rewrite history. Also an index for the staff figures,
    which read the turns of the sessions started in a window (``assistant/store/stats.py``)."""
    for statement in _AUDIT_SCHEMA:
        db.execute(statement)


_AUDIT_SCHEMA = (
    """CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        who TEXT NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        address TEXT NOT NULL DEFAULT '',
        session_key TEXT,
        artifact_id TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX audit_log_at ON audit_log (at)",
    "CREATE INDEX audit_log_who ON audit_log (who, at)",
    "CREATE INDEX audit_log_action ON audit_log (action, at)",
    "CREATE INDEX audit_log_session ON audit_log (session_key)",
    "CREATE INDEX audit_log_artifact ON audit_log (artifact_id)",
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    "CREATE INDEX IF NOT EXISTS sessions_created ON sessions (created)",
)


@MIGRATIONS()
def m010_staff_accounts(db: sqlite_utils.Database) -> None:
    """Staff accounts for the console (issue 16, part A): name, role, argon2 hash, disabled,
    TOTP secret and the account's recent failed sign-ins with its lockout.

    Failures per address go to ``attempts`` (kind ``staff_sign_in``), so the clean-up ages them
    out with the other attempts and every process counts the same ones.
    """
    db.table("staff_accounts").create(
        {
            "name": str,
            "role": str,
            "password_hash": str,
            "disabled": int,
            "totp_secret": str,
            "created": float,
            "failures": int,
            "first_failure": float,
            "locked_until": float,
            "session_epoch": int,  # raised to end every session of the account (sign-out)
            "totp_last_step": int,  # the last TOTP time step used: a code works only once
        },
        pk="name",
        not_null={"role", "password_hash", "disabled", "created", "failures", "session_epoch"},
        defaults={"disabled": 0, "failures": 0, "session_epoch": 0},
    )


@MIGRATIONS()
def m015_job_versions(db: sqlite_utils.Database) -> None:
    """Versions of job files edited in the staff console (issue 16, part J): the full text,
    who saved it, when and a short note; a rollback is a new version, nothing is overwritten."""
    db.table("job_versions").create(
        {"job_id": str, "version": int, "text": str, "who": str, "at": float, "note": str},
        pk=("job_id", "version"),
        not_null={"job_id", "version", "text", "who", "at"},
    )


@MIGRATIONS()
def m016_turn_confidence(db: sqlite_utils.Database) -> None:
    """The recogniser's confidence with each turn (issue 16, part K2): NULL for typed words
    and turns without words, so the console can chart how well each question is heard."""
    db.table("turns").add_column("confidence", float)


@MIGRATIONS()
def m017_turn_questions(db: sqlite_utils.Database) -> None:
    """Which question each turn answered and which it asked, and whether its replies told of a
    problem, as plain columns the charts read through one covering index (issue 16: the charts
    of 10,000 sessions took 1.5 s parsing every turn's replies). A trigger writes them as the
    turn is inserted, so every writer agrees with the replies; the rows already stored are
    filled once here, from their replies, so old history still charts."""
    for statement in _TURN_QUESTIONS_SCHEMA:
        db.execute(statement)


# The first reply of ``{replies}`` asking a question names it; ``instr`` skips the parse when
# no question can be in it. A turn asks at most one question.
_ASKED = (
    "CASE WHEN instr({replies}, '\"question_id\"') > 0 AND json_valid({replies}) THEN "
    "(SELECT json_extract(r.value, '$.question_id') FROM json_each({replies}) r "
    "WHERE json_extract(r.value, '$.kind') = 'question' "
    "AND json_extract(r.value, '$.question_id') IS NOT NULL LIMIT 1) END"
)
_PROBLEM = (
    "coalesce(instr({replies}, '\"problem\"') > 0 AND json_valid({replies}) AND EXISTS "
    "(SELECT 1 FROM json_each({replies}) p WHERE json_extract(p.value, '$.kind') = 'problem'), 0)"
)
# A turn that came while a question was being asked (``ask``, or ``edit`` of one answer)
# answered the one asked last before it in its session; other turns answered none.
_ANSWERED = (
    "CASE WHEN {turn}.state_before IN ('ask', 'edit') THEN "
    "(SELECT p.question_asked FROM turns p WHERE p.session_key = {turn}.session_key "
    "AND p.id < {turn}.id AND p.question_asked IS NOT NULL ORDER BY p.id DESC LIMIT 1) END"
)
_TURN_QUESTIONS_SCHEMA = (
    "ALTER TABLE turns ADD COLUMN question_answered TEXT",
    "ALTER TABLE turns ADD COLUMN question_asked TEXT",
    "ALTER TABLE turns ADD COLUMN problem INTEGER NOT NULL DEFAULT 0",
    f"UPDATE turns SET question_asked = {_ASKED.format(replies='replies')}, "
    f"problem = {_PROBLEM.format(replies='replies')}",
    # In a second pass: it reads the first pass's question_asked of the earlier turns.
    f"UPDATE turns SET question_answered = {_ANSWERED.format(turn='turns')}",
    f"""CREATE TRIGGER turns_questions AFTER INSERT ON turns BEGIN
        UPDATE turns SET question_asked = {_ASKED.format(replies="NEW.replies")},
            problem = {_PROBLEM.format(replies="NEW.replies")},
            question_answered = {_ANSWERED.format(turn="NEW")}
        WHERE id = NEW.id;
    END""",
    # Every chart figure reads a window's turns by session from this index alone, never
    # the rows with their replies: 10,000 sessions chart in tens of milliseconds.
    "CREATE INDEX turns_charts ON turns (session_key, state_after, at, state_before, "
    "confidence, question_answered, question_asked, problem)",
)


@MIGRATIONS()
def m018_session_job_digest(db: sqlite_utils.Database) -> None:
    """Which text of its job a session started (the job's sha256, issue 16, part J), so after a
    restart a session in a job edited since finishes with the version it started; NULL for
    sessions at the menu and those that started before this column."""
    db.table("sessions").add_column("job_digest", str)
