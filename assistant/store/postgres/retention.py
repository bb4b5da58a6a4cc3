"""Removing what is past retention in PostgreSQL, by the rules of ``store/retention.py``.

Everything is removed in one transaction; a dry run does the very same deletes and rolls them
back, so its counts are exactly what a real run would remove. Never removed: a session in
``busy``, a session whose generation still waits or runs, the latest turn that said
something of a kept session, and an artifact a kept session points at.

Unlike SQLite, other instances write while the clean-up runs. Each rule is one ``DELETE``
whose conditions are checked again on the row it removes (a turn that just used an old
session moves its ``updated``, and the row is left), and a transaction-level advisory lock
makes two instances' clean-ups run one after the other, so the second removes (and counts)
only what the first left. The rules that remove a table's rows by age alone are
``AGE_RULES``: a concern with rows to age out adds one entry there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from assistant.store.postgres.database import Connection
from assistant.upkeep_ports import CleanupReport, RetentionPolicy

KEPT_RUNS = 100  # clean-up runs kept for staff
DAY = 86_400.0
CLEANUP_LOCK = 0x4641_636C_6561_6E75  # "FA" "cleanu": one clean-up at a time per database
_WAITING = "('pending', 'running')"  # a generation task still to be built


@dataclass(frozen=True, slots=True)
class AgeRule:
    """Rows of one table removed once older than one of the policy's ages.

    ``delete`` names the cutoff ``%(cutoff)s`` (a time: rows before it go); ``age`` gives the
    seconds from the policy, 0 or less keeping the rows forever; ``report`` is the key of
    ``CleanupReport.removed`` the removed rows count under (several rules may share one)."""

    report: str
    age: Callable[[RetentionPolicy], float]
    delete: str


def _turns_age(policy: RetentionPolicy) -> float:
    return policy.turns


def _attempts_age(policy: RetentionPolicy) -> float:
    return policy.attempts


def _ledger_age(policy: RetentionPolicy) -> float:
    """As old as the turn history, and a day at least: Telegram never sends an update again
    after a day, so an older update's id is not needed to recognise a redelivery."""
    return max(policy.turns, DAY) if policy.turns > 0 else 0.0


AGE_RULES: tuple[AgeRule, ...] = (
    # Finished queue rows as old as the turn history, that no kept session names.
    AgeRule(
        "generations",
        _turns_age,
        f"DELETE FROM generations g WHERE g.status NOT IN {_WAITING} AND g.created < %(cutoff)s "
        "AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.generation_id = g.id)",
    ),
    AgeRule("attempts", _attempts_age, "DELETE FROM attempts WHERE at < %(cutoff)s"),
    # Telegram updates handled and messages sent (or given up): never one unfinished (recovery
    # needs it), nor each chat's latest update and message (the bot's last message id per chat
    # is read from them).
    AgeRule(
        "ledger",
        _ledger_age,
        "DELETE FROM telegram_updates u WHERE u.status = 'done' AND u.received < %(cutoff)s "
        "AND EXISTS (SELECT 1 FROM telegram_updates later WHERE later.chat_id = u.chat_id "
        "AND later.update_id > u.update_id)",
    ),
    AgeRule(
        "ledger",
        _ledger_age,
        "DELETE FROM telegram_messages m WHERE m.status IN ('sent', 'given_up') "
        "AND m.created < %(cutoff)s AND (m.message_id IS NULL OR EXISTS (SELECT 1 FROM "
        "telegram_messages later WHERE later.chat_id = m.chat_id "
        "AND later.message_id IS NOT NULL AND later.id > m.id))",
    ),
)


async def clean_up(
    conn: Connection,
    policy: RetentionPolicy,
    now: float,
    busy: frozenset[str],
    *,
    dry_run: bool,
    rules: tuple[AgeRule, ...] = AGE_RULES,
) -> CleanupReport:
    """Remove (or only count) everything past ``policy``; see the module's docstring."""
    removed: dict[str, int] = {}
    spared = sorted(busy)
    async with conn.transaction(force_rollback=dry_run):
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (CLEANUP_LOCK,))
        keys = await _expired_sessions(conn, policy, now, spared)
        removed["sessions"] = len(keys)
        removed["turns"] = await _delete(
            conn, "DELETE FROM turns WHERE session_key = ANY(%s)", keys
        )
        removed["turns"] += await _old_turns(conn, policy, now, spared)
        removed["links"] = await _links(conn, policy, now)  # those of removed sessions too
        folders = await _artifacts(conn, policy, now)
        removed["artifacts"] = len(folders)
        for rule in rules:
            seconds = rule.age(policy)
            count = 0
            if seconds > 0:
                cursor = await conn.execute(rule.delete, {"cutoff": now - seconds})
                count = cursor.rowcount
            removed[rule.report] = removed.get(rule.report, 0) + count
    return CleanupReport(at=now, dry_run=dry_run, removed=removed, folders=tuple(folders))


async def _delete(conn: Connection, statement: str, keys: list[str]) -> int:
    if not keys:
        return 0
    cursor = await conn.execute(statement, (keys,))
    return cursor.rowcount


async def _expired_sessions(
    conn: Connection, policy: RetentionPolicy, now: float, spared: list[str]
) -> list[str]:
    """Remove ended sessions past ``ended`` and others past ``idle``; returns their keys."""
    keys: list[str] = []
    for ended, seconds in ((True, policy.ended), (False, policy.idle)):
        if seconds <= 0:
            continue
        cursor = await conn.execute(
            "DELETE FROM sessions s WHERE (s.state = 'ended') = %s AND s.updated < %s "
            "AND s.key <> ALL(%s::text[]) AND NOT EXISTS (SELECT 1 FROM generations g "
            f"WHERE g.session_key = s.key AND g.status IN {_WAITING}) RETURNING s.key",
            (ended, now - seconds, spared),
        )
        keys.extend(str(row[0]) for row in await cursor.fetchall())
    return keys


async def _old_turns(
    conn: Connection, policy: RetentionPolicy, now: float, spared: list[str]
) -> int:
    """Turns past ``turns`` of kept sessions, never a session's latest turn that said
    something (a page that reconnects shows it), nor any of a session in use."""
    if policy.turns <= 0:
        return 0
    cursor = await conn.execute(
        "DELETE FROM turns t WHERE t.at < %s AND t.session_key <> ALL(%s::text[]) "
        "AND (t.replies = '[]'::jsonb OR EXISTS (SELECT 1 FROM turns later "
        "WHERE later.session_key = t.session_key AND later.id > t.id "
        "AND later.replies <> '[]'::jsonb))",
        (now - policy.turns, spared),
    )
    return cursor.rowcount


async def _links(conn: Connection, policy: RetentionPolicy, now: float) -> int:
    """Links to sessions that are gone, and links unused past their retention."""
    cursor = await conn.execute(
        "DELETE FROM channel_links c WHERE NOT EXISTS "
        "(SELECT 1 FROM sessions s WHERE s.key = c.session_key)"
    )
    count = cursor.rowcount
    if policy.links > 0:
        cursor = await conn.execute(
            "DELETE FROM channel_links WHERE updated < %s", (now - policy.links,)
        )
        count += cursor.rowcount
    return count


async def _artifacts(conn: Connection, policy: RetentionPolicy, now: float) -> list[str]:
    """Remove old artifacts no kept session points at; returns their folders, oldest first."""
    if policy.artifacts <= 0:
        return []
    cursor = await conn.execute(
        "DELETE FROM artifacts a WHERE a.created < %s AND NOT EXISTS "
        "(SELECT 1 FROM sessions s WHERE s.artifact_id = a.id) RETURNING a.created, a.id, a.folder",
        (now - policy.artifacts,),
    )
    return [str(row[2]) for row in sorted(await cursor.fetchall())]


async def record(conn: Connection, report: CleanupReport) -> None:
    """Keep one run for staff, and only the latest ``KEPT_RUNS`` of them, in one transaction."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO cleanup_runs (at, dry_run, removed) VALUES (%s, %s, %s)",
            (report.at, report.dry_run, Jsonb(report.removed)),
        )
        await conn.execute(
            "DELETE FROM cleanup_runs WHERE id NOT IN "
            "(SELECT id FROM cleanup_runs ORDER BY id DESC LIMIT %s)",
            (KEPT_RUNS,),
        )


async def last(conn: Connection) -> CleanupReport | None:
    """The latest run that removed things for real."""
    cursor = await conn.execute(
        "SELECT at, removed FROM cleanup_runs WHERE NOT dry_run ORDER BY id DESC LIMIT 1"
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return CleanupReport(at=row[0], dry_run=False, removed=dict(row[1]))


async def strings_in_use(conn: Connection) -> frozenset[str]:
    """Every text value in the kept sessions' answers, pending answers and undo versions, and
    in the answers of tasks not yet built (keys of objects are not values): what a stored
    photo's id must be among to stay. Collected by the server, which sends each once."""
    cursor = await conn.execute(
        "SELECT DISTINCT value #>> '{}' FROM ("
        "SELECT answers AS doc FROM sessions UNION ALL SELECT pending FROM sessions "
        "UNION ALL SELECT undo FROM sessions UNION ALL SELECT answers FROM generations "
        f"WHERE status IN {_WAITING}) docs, jsonb_path_query(docs.doc, 'strict $.**') value "
        "WHERE docs.doc IS NOT NULL AND jsonb_typeof(value) = 'string'"
    )
    return frozenset(str(row[0]) for row in await cursor.fetchall())
