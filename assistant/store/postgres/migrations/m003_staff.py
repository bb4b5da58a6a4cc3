"""What the staff console keeps: the audit log, staff accounts, versions of job files, with
the columns of the SQLite store's m010, m012 and m015.

The audit log is append-only by the database itself, as in SQLite: triggers refuse every
UPDATE, DELETE and TRUNCATE of its rows, so no bug and no later code can rewrite history.
Failed sign-ins per address go to ``attempts`` (kind ``staff_sign_in``) as in SQLite, so the
clean-up ages them out with the other attempts; that table belongs to the upkeep migration
(m002), and is made here only when a database has none, with the columns SQLite gives it.
An index on the generations by session serves the console's live list (each session's
latest build).
"""

from __future__ import annotations

from assistant.store.postgres.database import Connection
from assistant.store.postgres.migrate import run_statements

STATEMENTS = (
    """CREATE TABLE audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at double precision NOT NULL,
        who text NOT NULL,
        role text NOT NULL,
        action text NOT NULL,
        address text NOT NULL DEFAULT '',
        session_key text,
        artifact_id text,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb
    )""",
    "CREATE INDEX audit_log_at ON audit_log (at)",
    "CREATE INDEX audit_log_who ON audit_log (who, at)",
    "CREATE INDEX audit_log_action ON audit_log (action, at)",
    "CREATE INDEX audit_log_session ON audit_log (session_key, id)",
    "CREATE INDEX audit_log_artifact ON audit_log (artifact_id)",
    """CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_refuse()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse()""",
    """CREATE TABLE staff_accounts (
        name text PRIMARY KEY,
        role text NOT NULL,
        password_hash text NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        totp_secret text,
        created double precision NOT NULL,
        failures integer NOT NULL DEFAULT 0,
        first_failure double precision,
        locked_until double precision,
        session_epoch integer NOT NULL DEFAULT 0,
        totp_last_step bigint
    )""",
    """CREATE TABLE job_versions (
        job_id text NOT NULL,
        version integer NOT NULL,
        text text NOT NULL,
        who text NOT NULL,
        at double precision NOT NULL,
        note text,
        PRIMARY KEY (job_id, version)
    )""",
    "CREATE INDEX generations_session ON generations (session_key, id)",
    """DO $$ BEGIN
        IF to_regclass('attempts') IS NULL THEN
            CREATE TABLE attempts (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                kind text NOT NULL,
                address text NOT NULL,
                code text,
                at double precision NOT NULL
            );
            CREATE INDEX attempts_kind_address_at ON attempts (kind, address, at);
            CREATE INDEX attempts_at ON attempts (at);
        END IF;
    END $$""",
)


async def apply(conn: Connection) -> None:
    """Create the staff console's tables."""
    await run_statements(conn, STATEMENTS)
