"""The artifact desk (issue 16, part B): one object the staff console (and, when the facility
allows it, the dialog) calls to review, publish and send artifacts.

Every method returns its result or raises ``ArtifactActionError`` with a stable ``code``;
``say_error`` turns that code into a sentence in either language. Who acted (``by``) is the
caller's signed-in account: the desk trusts it, so roles are checked before it is called.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from assistant.config import Settings
from assistant.jobs.phrases import Phrases
from assistant.review import Review, ReviewStore, SendRecord, Site
from assistant.staff import review
from assistant.staff.mail import Mailer, MailSettings
from assistant.staff.publishing import Published, Publisher


class ArtifactDesk:
    """Review, publishing and sending over one store, site folder and SMTP server."""

    def __init__(
        self,
        store: ReviewStore,
        phrases: Phrases,
        *,
        site_dir: Path,
        mail: MailSettings,
        base_url: str,
        language: str = "ja",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")  # where a published page's address begins
        self._clock = clock
        self.publisher = Publisher(store, site_dir, clock=clock)
        self.mailer = Mailer(store, mail, phrases, base_url=base_url, language=language,
                             clock=clock)  # fmt: skip

    @classmethod
    def from_settings(
        cls, store: ReviewStore, phrases: Phrases, settings: Settings
    ) -> ArtifactDesk:
        """The desk the service's settings describe: ``site_dir`` and the ``smtp_*`` keys."""
        return cls(
            store,
            phrases,
            site_dir=settings.site_path,
            mail=MailSettings.from_settings(settings),
            base_url=settings.base_url,
            language=settings.language,
        )

    async def review(self, artifact_id: str) -> Review | None:
        """Where the artifact stands, or None when there is no such artifact."""
        return await self.store.review(artifact_id)

    async def approve(self, artifact_id: str, by: str) -> Review:
        """Approve it: from now on it may be published and sent."""
        return await review.approve(self.store, artifact_id, by, clock=self._clock)

    async def send_back(self, artifact_id: str, comment: str, by: str) -> Review:
        """Send it back with a comment the user sees."""
        return await review.send_back(self.store, artifact_id, comment, by, clock=self._clock)

    async def publish(self, artifact_id: str, by: str) -> Published:
        """Publish an approved artifact at ``/site/<slug>/`` as a new site version."""
        return await self.publisher.publish(artifact_id, by)

    async def unpublish(self, slug: str, by: str) -> Site:
        """Take a site down, keeping its versions."""
        return await self.publisher.unpublish(slug, by)

    async def send(
        self, artifact_id: str, address: str, *, as_link: bool, by: str, language: str = ""
    ) -> SendRecord:
        """E-mail an approved artifact as its link or its zip; the address is not kept."""
        return await self.mailer.send(
            artifact_id, address, as_link=as_link, by=by, language=language
        )
