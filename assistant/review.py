"""Review, publication and sending of artifacts (issue 16, part B): the records and the port.

Staff approve an artifact or send it back with a comment the user sees; only an approved one
is published to the static site folder or sent by e-mail. These records are the vocabulary
both the store (which keeps them) and the staff core (which acts on them) speak, so neither
imports the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from assistant.errors import AssistantError
from assistant.session import Artifact, ShareRequest

PENDING = "pending"
APPROVED = "approved"
SENT_BACK = "sent_back"
REVIEW_STATES = (PENDING, APPROVED, SENT_BACK)
# A published site's name in ``site_dir`` and in ``/site/<slug>/``: never a dot, a slash or
# anything a path could climb out with.
SITE_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
SITE_VERSIONS = ".versions"  # site_dir/.versions/<slug>/<version>/: every version published


class ArtifactActionError(AssistantError):
    """A review, publication or sending that cannot be done; ``code`` names why, and the
    phrase ``staff.error.<code>`` says it in words in both languages."""

    code = "artifact_action_failed"


@dataclass(frozen=True, slots=True)
class Review:
    """Where an artifact stands: ``pending`` until someone approves it or sends it back."""

    artifact_id: str
    status: str = PENDING
    comment: str = ""  # shown to the user when sent back
    by: str = ""
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Site:
    """A published slug: which artifact series owns it, its latest site version, and whether
    it is live (served at ``/site/<slug>/``) or was unpublished (its versions are kept)."""

    slug: str
    series: str
    artifact_id: str
    version: int
    live: bool
    by: str
    at: float


@dataclass(frozen=True, slots=True)
class SendRecord:
    """One e-mail sending, kept without the address it went to."""

    id: int
    artifact_id: str
    as_link: bool
    by: str
    at: float
    status: str  # sent or failed
    code: str = ""  # why it failed


class ReviewStore(Protocol):
    """Reviews, published sites and send records; every method is safe to await."""

    async def artifact(self, artifact_id: str) -> Artifact | None:
        """One stored artifact by its id."""
        ...

    async def review(self, artifact_id: str) -> Review | None:
        """The artifact's review, or None when there is no such artifact."""
        ...

    async def set_review(
        self, artifact_id: str, status: str, comment: str, by: str, at: float
    ) -> Review | None:
        """Record a decision; None when there is no such artifact."""
        ...

    async def reviewed_artifacts(
        self,
        *,
        job_id: str = "",
        status: str = "",
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[tuple[Artifact, Review]]:
        """Artifacts newest first with their reviews, filtered by job, review status and
        when they were made (the console's list)."""
        ...

    async def series_versions(self, series: str) -> list[tuple[Artifact, Review]]:
        """Every version of one artifact series, oldest first."""
        ...

    async def site(self, slug: str) -> Site | None:
        """The site published under ``slug``, live or not."""
        ...

    async def site_of_series(self, series: str) -> Site | None:
        """The slug an artifact series was published under before, so a new version keeps it."""
        ...

    async def claim_slug(
        self, slug: str, series: str, artifact_id: str, by: str, at: float
    ) -> bool:
        """Take ``slug`` for ``series`` unless another series has it (atomic in the store, so
        two publishers, even in two processes, never share a slug)."""
        ...

    async def save_site(self, site: Site) -> None:
        """Record a publication or an unpublication (one history row per site version)."""
        ...

    async def record_send(
        self, artifact_id: str, as_link: bool, by: str, at: float, status: str, code: str
    ) -> int:
        """Keep that an artifact was sent (or failed to be), never to whom."""
        ...

    async def sends(self, artifact_id: str) -> list[SendRecord]:
        """The sendings of one artifact, oldest first."""
        ...


class UserSharing(Protocol):
    """Publishing and sending as a user may ask for them after delivery (issue 16): which of
    the two the facility allows, and doing one. Staff's own review stays the console's."""

    kinds: tuple[str, ...]  # what is offered: "publish", "send", both or neither

    async def share(self, request: ShareRequest) -> str:
        """Carry the request out; the published page's address, or "" for a sending.
        Raises ``AssistantError`` with a ``code`` the user is told in words."""
        ...
