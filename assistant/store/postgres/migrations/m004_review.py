"""Review, publication and sending of artifacts (issue 16, part B; SQLite's m011), and an index
for the Celery relay's catch-up.

An artifact's review lives on its own row, as in SQLite: ``pending`` by default, so an
artifact nobody has looked at shows the same review on both stores, and the clean-up that
removes an artifact removes its review with it. ``sites`` has one row per slug (the claim's
primary key is what makes a slug one series' across instances); ``site_versions`` keeps every
publication and unpublication; ``artifact_sends`` records each sending without its address.
No foreign keys to ``artifacts``: as in SQLite, the history outlives an artifact the clean-up
removes. The column ``by`` keeps SQLite's name (quoted: it is a keyword here).

The generations table needs no column for Celery's leases: a claim's time is ``started``,
as in SQLite, and its worker is ``owner`` (m001). ``unheard`` runs every few seconds on every
instance and reads the sessions that wait for a build: a partial index keeps that read to
those few rows instead of every session.
"""

from __future__ import annotations

from assistant.store.postgres.database import Connection
from assistant.store.postgres.migrate import run_statements

STATEMENTS = (
    """ALTER TABLE artifacts
        ADD COLUMN review text NOT NULL DEFAULT 'pending',
        ADD COLUMN review_comment text,
        ADD COLUMN reviewed_by text,
        ADD COLUMN reviewed_at double precision""",
    """CREATE TABLE sites (
        slug text PRIMARY KEY,
        series text NOT NULL,
        artifact_id text NOT NULL,
        version integer NOT NULL,
        live boolean NOT NULL,
        "by" text,
        at double precision NOT NULL
    )""",
    "CREATE INDEX sites_series ON sites (series, at)",
    """CREATE TABLE site_versions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        slug text NOT NULL,
        version integer NOT NULL,
        artifact_id text NOT NULL,
        live boolean NOT NULL,
        "by" text,
        at double precision NOT NULL
    )""",
    "CREATE INDEX site_versions_slug ON site_versions (slug, id)",
    """CREATE TABLE artifact_sends (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        artifact_id text NOT NULL,
        as_link boolean NOT NULL,
        "by" text,
        at double precision NOT NULL,
        status text NOT NULL,
        code text
    )""",
    "CREATE INDEX artifact_sends_artifact ON artifact_sends (artifact_id, id)",
    "CREATE INDEX sessions_generating ON sessions (generation_id) WHERE state = 'generating'",
)


async def apply(conn: Connection) -> None:
    """Add the review columns and the tables of sites and sendings."""
    await run_statements(conn, STATEMENTS)
