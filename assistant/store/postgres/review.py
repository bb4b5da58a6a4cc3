"""Reviews, published sites and e-mail sendings of artifacts (issue 16, part B) in PostgreSQL.

``assistant.review.ReviewStore`` with the SQLite store's behaviour (``assistant/store/review.py``)
for several instances on one database: a review is a conditional update of the artifact's own
row; a slug is claimed by ``INSERT ... ON CONFLICT DO NOTHING`` on its primary key, so of two
publishers in two processes claiming one slug for two series the second waits for the first's
row and then finds it taken; a publication writes its site row and its history row in one
transaction. Lists read each artifact with its review in one query, not one query per row.
Ties in "newest first" order by id byte by byte (``COLLATE "C"``), as SQLite compares text.
"""

from __future__ import annotations

from typing import Any

from assistant.review import PENDING, Review, SendRecord, Site
from assistant.session import Artifact
from assistant.store.postgres import artifacts
from assistant.store.postgres.database import Database
from assistant.store.rows import conditions

_REVIEW_COLUMNS = "review, review_comment, reviewed_by, reviewed_at"
_WITH_REVIEW = f"SELECT {artifacts.COLUMNS}, {_REVIEW_COLUMNS} FROM artifacts"
_SITE_COLUMNS = 'slug, series, artifact_id, version, live, "by", at'


class PostgresReviewStore:
    """``assistant.review.ReviewStore`` in the store's PostgreSQL database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """One stored artifact by its id."""
        async with self.db.connection() as conn:
            return await artifacts.by_id(conn, artifact_id)

    async def review(self, artifact_id: str) -> Review | None:
        """The artifact's review, or None when there is no such artifact."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                f"SELECT id, {_REVIEW_COLUMNS} FROM artifacts WHERE id = %s", (artifact_id,)
            )
            row = await cursor.fetchone()
        return None if row is None else _review(row[0], row[1:])

    async def set_review(
        self, artifact_id: str, status: str, comment: str, by: str, at: float
    ) -> Review | None:
        """Record a decision; None when there is no such artifact."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                "UPDATE artifacts SET review = %s, review_comment = %s, reviewed_by = %s, "
                f"reviewed_at = %s WHERE id = %s RETURNING id, {_REVIEW_COLUMNS}",
                (status, comment, by, at, artifact_id),
            )
            row = await cursor.fetchone()
        return None if row is None else _review(row[0], row[1:])

    async def reviewed_artifacts(
        self,
        *,
        job_id: str = "",
        status: str = "",
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[tuple[Artifact, Review]]:
        """Artifacts newest first with their reviews, filtered (the console's list)."""
        found, values = conditions(
            (("job_id", job_id or None), ("review", status or None)),
            ("created", since, until),
            "%s",
        )
        where = " AND ".join(found or ["true"])
        return await self._with_reviews(
            f'{_WITH_REVIEW} WHERE {where} ORDER BY created DESC, id COLLATE "C" LIMIT %s',
            [*values, limit],
        )

    async def series_versions(self, series: str) -> list[tuple[Artifact, Review]]:
        """Every version of one artifact series, oldest first."""
        return await self._with_reviews(
            f"{_WITH_REVIEW} WHERE series = %s ORDER BY version", [series]
        )

    async def _with_reviews(self, sql: str, values: list[object]) -> list[tuple[Artifact, Review]]:
        async with self.db.connection() as conn:
            cursor = await conn.execute(sql, values)
            rows = await cursor.fetchall()
        width = len(artifacts.COLUMNS.split(","))
        found = []
        for row in rows:
            artifact = artifacts.from_row(row)
            assert artifact is not None
            found.append((artifact, _review(artifact.id, row[width:])))
        return found

    async def site(self, slug: str) -> Site | None:
        """The site published under ``slug``, live or not."""
        return await self._site_where("slug", slug)

    async def site_of_series(self, series: str) -> Site | None:
        """The slug an artifact series was published under before."""
        return await self._site_where("series", series)

    async def _site_where(self, column: str, value: str) -> Site | None:
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_SITE_COLUMNS} FROM sites WHERE {column} = %s ORDER BY at DESC LIMIT 1",
                (value,),
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        return Site(row[0], row[1], row[2], int(row[3]), bool(row[4]), row[5] or "", row[6])

    async def claim_slug(
        self, slug: str, series: str, artifact_id: str, by: str, at: float
    ) -> bool:
        """Take ``slug`` for ``series`` (not yet live, version 0) unless another series has it.

        Two statements, each committed: the insert of a slug another transaction is inserting
        waits for that one to end, and the read after it sees whichever row was committed."""
        async with self.db.connection() as conn:
            await conn.execute(
                f"INSERT INTO sites ({_SITE_COLUMNS}) VALUES (%s, %s, %s, 0, false, %s, %s) "
                "ON CONFLICT (slug) DO NOTHING",
                (slug, series, artifact_id, by, at),
            )
            cursor = await conn.execute("SELECT series FROM sites WHERE slug = %s", (slug,))
            row = await cursor.fetchone()
        return row is not None and row[0] == series

    async def save_site(self, site: Site) -> None:
        """Record a publication or an unpublication, with a history row."""
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO sites ({_SITE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (slug) DO UPDATE SET series = EXCLUDED.series, "
                "artifact_id = EXCLUDED.artifact_id, version = EXCLUDED.version, "
                'live = EXCLUDED.live, "by" = EXCLUDED."by", at = EXCLUDED.at',
                (site.slug, site.series, site.artifact_id, site.version, site.live, site.by,
                 site.at),
            )  # fmt: skip
            await conn.execute(
                'INSERT INTO site_versions (slug, version, artifact_id, live, "by", at) '
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (site.slug, site.version, site.artifact_id, site.live, site.by, site.at),
            )

    async def record_send(
        self, artifact_id: str, as_link: bool, by: str, at: float, status: str, code: str
    ) -> int:
        """Keep that an artifact was sent (or failed to be), never to whom."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                'INSERT INTO artifact_sends (artifact_id, as_link, "by", at, status, code) '
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (artifact_id, as_link, by, at, status, code),
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def sends(self, artifact_id: str) -> list[SendRecord]:
        """The sendings of one artifact, oldest first."""
        async with self.db.connection() as conn:
            cursor = await conn.execute(
                'SELECT id, artifact_id, as_link, "by", at, status, code FROM artifact_sends '
                "WHERE artifact_id = %s ORDER BY id",
                (artifact_id,),
            )
            rows = await cursor.fetchall()
        return [
            SendRecord(int(row[0]), row[1], bool(row[2]), row[3] or "", row[4], row[5],
                       row[6] or "")
            for row in rows
        ]  # fmt: skip


def _review(artifact_id: str, columns: tuple[Any, ...]) -> Review:
    """The review of ``columns`` (``_REVIEW_COLUMNS``); a row never reviewed is pending."""
    status, comment, by, at = columns
    return Review(artifact_id, status or PENDING, comment or "", by or "", at)
