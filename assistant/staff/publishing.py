"""Publishing an approved artifact to the static site folder (issue 16, part B).

``site_dir/<slug>`` is a symbolic link to ``site_dir/.versions/<slug>/<version>/``, a folder
of plain files (what the client's zip holds). A new version is copied into a staging folder
beside the versions, renamed into place, and only then is the link swapped with one
``rename`` over it: a reader (our server at ``/site/<slug>/``, or nginx or Apache pointed at
``site_dir`` with symlinks followed) sees the old site or the new one, never half of one.
Unpublishing removes the link and keeps every version.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.generation.package import artifact_name, client_files
from assistant.review import SITE_SLUG, SITE_VERSIONS, ArtifactActionError, ReviewStore, Site
from assistant.session import Artifact
from assistant.staff.review import require_approved

_LOGGER = logging.getLogger(__name__)
_SLUG_BASE_LIMIT = 56  # leaves room for "-999" within SITE_SLUG's 64 characters


@dataclass(frozen=True, slots=True)
class Published:
    """Where an artifact now lives: ``/site/<slug>/``, as site version ``version``."""

    slug: str
    version: int
    folder: Path  # the version's own folder (the live link points at it)

    @property
    def url_path(self) -> str:
        """The path the server answers at."""
        return f"/site/{self.slug}/"


class Publisher:
    """Publishes and unpublishes. The lock keeps this process's publications in order; the
    store's slug claim and the version folder's rename keep other processes' apart."""

    def __init__(
        self, store: ReviewStore, site_dir: Path, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._site_dir = site_dir
        self._clock = clock
        self._lock = asyncio.Lock()

    async def publish(self, artifact_id: str, by: str) -> Published:
        """Copy an approved artifact's client files live as a new version of its site."""
        await require_approved(self._store, artifact_id)
        artifact = await self._store.artifact(artifact_id)
        if artifact is None:
            raise ArtifactActionError(f"no artifact {artifact_id!r}", code="artifact_unknown")
        async with self._lock:
            slug = await self._slug_for(artifact, by)
            published = await asyncio.to_thread(self._publish_files, artifact, slug)
            site = Site(slug, artifact.series, artifact.id, published.version, True, by,
                        self._clock())  # fmt: skip
            await self._store.save_site(site)
        _LOGGER.info("published artifact %s as %s version %d", artifact.id, slug, site.version)
        return published

    async def unpublish(self, slug: str, by: str) -> Site:
        """Take a site off line; its versions stay in ``.versions`` for a later publication."""
        if not SITE_SLUG.fullmatch(slug):
            raise ArtifactActionError(f"{slug!r} is not a site name", code="slug_invalid")
        async with self._lock:
            site = await self._store.site(slug)
            if site is None or not site.live:
                raise ArtifactActionError(f"{slug!r} is not published", code="not_published")
            await asyncio.to_thread(self._remove_live, slug)
            site = replace(site, live=False, by=by, at=self._clock())
            await self._store.save_site(site)
        _LOGGER.info("unpublished %s", slug)
        return site

    async def _slug_for(self, artifact: Artifact, by: str) -> str:
        """The series' earlier slug, else the artifact's name made unique (``-2``, ``-3``…)."""
        earlier = await self._store.site_of_series(artifact.series)
        if earlier is not None:
            return earlier.slug
        base = artifact_name(artifact.manifest)[:_SLUG_BASE_LIMIT].rstrip("-") or "artifact"
        if not SITE_SLUG.fullmatch(base):
            base = "artifact"
        for number in range(1, 1000):
            slug = base if number == 1 else f"{base}-{number}"
            if await self._store.site(slug) is not None:
                continue
            if await asyncio.to_thread(self._on_disk, slug):
                continue  # something not ours is in the folder under that name
            if await self._store.claim_slug(slug, artifact.series, artifact.id, by, self._clock()):
                return slug
        raise ArtifactActionError(f"no free site name for {base!r}", code="slug_taken")

    def _on_disk(self, slug: str) -> bool:
        return os.path.lexists(self._site_dir / slug) or (self._versions(slug)).exists()

    def _versions(self, slug: str) -> Path:
        return self._site_dir / SITE_VERSIONS / slug

    def _publish_files(self, artifact: Artifact, slug: str) -> Published:
        """Stage, rename into ``.versions``, then swap the live link (blocking)."""
        versions = self._versions(slug)
        versions.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=versions))
        try:
            copied = _copy_client_files(artifact, staging)
            if not copied:
                raise ArtifactActionError(
                    f"artifact {artifact.id!r} has no files to publish", code="files_missing"
                )
            staging.chmod(0o755)  # plain files any web server may read
            version, final = _rename_to_next_version(staging, versions)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        live = self._site_dir / slug
        link = self._site_dir / f".{slug}.{secrets.token_hex(6)}.link"
        os.symlink(os.path.join(SITE_VERSIONS, slug, str(version)), link)
        try:
            os.replace(link, live)  # the swap: one rename, atomic on POSIX
        except OSError as err:
            link.unlink(missing_ok=True)
            raise ArtifactActionError(
                f"{live} is in the way of the published site: {err.strerror}", code="site_blocked"
            ) from err
        return Published(slug, version, final)

    def _remove_live(self, slug: str) -> None:
        live = self._site_dir / slug
        if live.is_symlink():
            live.unlink()


def _rename_to_next_version(staging: Path, versions: Path) -> tuple[int, Path]:
    """Rename the staged folder to the next free version number. ``rename`` onto an existing
    version fails rather than merging, so another process publishing the same slug at the
    same moment makes this one take the number after."""
    for _ in range(100):
        numbers = [int(path.name) for path in versions.iterdir() if path.name.isdigit()]
        version = max(numbers, default=0) + 1
        final = versions / str(version)
        try:
            os.rename(staging, final)
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            continue
        return version, final
    raise ArtifactActionError(f"no free version in {versions}", code="site_blocked")


def _copy_client_files(artifact: Artifact, staging: Path) -> list[str]:
    """Copy what the zip holds; a listed name that leaves the artifact's folder is skipped."""
    folder = Path(artifact.folder).resolve()
    copied = []
    for name in client_files(folder, artifact.files, dict(artifact.manifest)):
        source = (folder / name).resolve()
        target = (staging / name).resolve()
        if not (source.is_relative_to(folder) and target.is_relative_to(staging.resolve())):
            _LOGGER.warning("artifact %s lists %r outside its folder: skipped", artifact.id, name)
            continue
        if not source.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(name)
    return copied
