"""Reviews, published sites and e-mail sendings of artifacts (issue 16, part B) in SQLite.

Like the Telegram ledger, this is a port implementation on the store's own connection and
thread (``SQLiteStore.run``), so its writes never race the store's transactions. Its tables
and columns are made by migration ``m011_artifact_review``.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from assistant.review import Review, SendRecord, Site
from assistant.session import Artifact
from assistant.store import artifacts
from assistant.store.rows import conditions

if TYPE_CHECKING:
    from assistant.store.sqlite import SQLiteStore

_SITE_COLUMNS = "slug, series, artifact_id, version, live, by, at"


class SQLiteReviewStore:
    """``assistant.review.ReviewStore`` in the store's database."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    @property
    def conn(self) -> sqlite3.Connection:
        """The store's connection: only touched on the store's thread."""
        return self._store.db.conn

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """One stored artifact by its id."""
        return await self._store.run(lambda: artifacts.by_id(self.conn, artifact_id))

    async def review(self, artifact_id: str) -> Review | None:
        """The artifact's review, or None when there is no such artifact."""
        return await self._store.run(self._review, artifact_id)

    def _review(self, artifact_id: str) -> Review | None:
        row = self.conn.execute(
            "SELECT review, review_comment, reviewed_by, reviewed_at FROM artifacts WHERE id = ?",
            (artifact_id,),
        ).fetchone()
        if row is None:
            return None
        return Review(artifact_id, row[0] or "pending", row[1] or "", row[2] or "", row[3])

    async def set_review(
        self, artifact_id: str, status: str, comment: str, by: str, at: float
    ) -> Review | None:
        """Record a decision; None when there is no such artifact."""

        def update() -> Review | None:
            with self.conn:
                cursor = self.conn.execute(
                    "UPDATE artifacts SET review = ?, review_comment = ?, reviewed_by = ?, "
                    "reviewed_at = ? WHERE id = ?",
                    (status, comment, by, at, artifact_id),
                )
            return self._review(artifact_id) if cursor.rowcount else None

        return await self._store.run(update)

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
            "?",
        )
        where = " AND ".join(found or ["1 = 1"])
        sql = f"SELECT id FROM artifacts WHERE {where} ORDER BY created DESC, id LIMIT ?"
        return await self._store.run(self._with_reviews, sql, [*values, limit])

    async def series_versions(self, series: str) -> list[tuple[Artifact, Review]]:
        """Every version of one artifact series, oldest first."""
        sql = "SELECT id FROM artifacts WHERE series = ? ORDER BY version"
        return await self._store.run(self._with_reviews, sql, [series])

    def _with_reviews(self, sql: str, values: list[object]) -> list[tuple[Artifact, Review]]:
        found = []
        for (artifact_id,) in self.conn.execute(sql, values).fetchall():
            artifact, review = artifacts.by_id(self.conn, artifact_id), self._review(artifact_id)
            if artifact is not None and review is not None:
                found.append((artifact, review))
        return found

    async def site(self, slug: str) -> Site | None:
        """The site published under ``slug``, live or not."""
        return await self._store.run(self._site_where, "slug", slug)

    async def site_of_series(self, series: str) -> Site | None:
        """The slug an artifact series was published under before."""
        return await self._store.run(self._site_where, "series", series)

    def _site_where(self, column: str, value: str) -> Site | None:
        row = self.conn.execute(
            f"SELECT {_SITE_COLUMNS} FROM sites WHERE {column} = ? ORDER BY at DESC LIMIT 1",
            (value,),
        ).fetchone()
        if row is None:
            return None
        return Site(row[0], row[1], row[2], int(row[3]), bool(row[4]), row[5] or "", row[6])

    async def claim_slug(
        self, slug: str, series: str, artifact_id: str, by: str, at: float
    ) -> bool:
        """Take ``slug`` for ``series`` (not yet live, version 0) unless another series has it."""

        def claim() -> bool:
            with self.conn:
                self.conn.execute(
                    f"INSERT OR IGNORE INTO sites ({_SITE_COLUMNS}) VALUES (?, ?, ?, 0, 0, ?, ?)",
                    (slug, series, artifact_id, by, at),
                )
                row = self.conn.execute(
                    "SELECT series FROM sites WHERE slug = ?", (slug,)
                ).fetchone()
            return row is not None and row[0] == series

        return await self._store.run(claim)

    async def save_site(self, site: Site) -> None:
        """Record a publication or an unpublication, with a history row."""

        def write() -> None:
            values = (site.slug, site.series, site.artifact_id, site.version, int(site.live),
                      site.by, site.at)  # fmt: skip
            with self.conn:
                self.conn.execute(
                    f"INSERT OR REPLACE INTO sites ({_SITE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
                self.conn.execute(
                    "INSERT INTO site_versions (slug, version, artifact_id, live, by, at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (site.slug, site.version, site.artifact_id, int(site.live), site.by, site.at),
                )

        await self._store.run(write)

    async def record_send(
        self, artifact_id: str, as_link: bool, by: str, at: float, status: str, code: str
    ) -> int:
        """Keep that an artifact was sent (or failed to be), never to whom."""

        def insert() -> int:
            with self.conn:
                cursor = self.conn.execute(
                    "INSERT INTO artifact_sends (artifact_id, as_link, by, at, status, code) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (artifact_id, int(as_link), by, at, status, code),
                )
            return int(cursor.lastrowid or 0)

        return await self._store.run(insert)

    async def sends(self, artifact_id: str) -> list[SendRecord]:
        """The sendings of one artifact, oldest first."""

        def select() -> list[SendRecord]:
            rows = self.conn.execute(
                "SELECT id, artifact_id, as_link, by, at, status, code FROM artifact_sends "
                "WHERE artifact_id = ? ORDER BY id",
                (artifact_id,),
            ).fetchall()
            return [
                SendRecord(row[0], row[1], bool(row[2]), row[3] or "", row[4], row[5], row[6] or "")
                for row in rows
            ]

        return await self._store.run(select)
