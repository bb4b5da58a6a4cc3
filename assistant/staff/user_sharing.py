"""Publishing and sending as the user asks for them after delivery (issue 16), through the
same desk the staff console uses, when the facility allows it.

The user's sure yes after the read-back is their approval of a version still waiting for
review: it is recorded as approved by ``user`` and the act goes to the audit log with the
session, like a staff member's. A version staff sent back is not approved by the user's yes:
staff asked for a change first. A sending is always of the link (an attachment is for staff
to choose), and the address goes no further than the mail.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.config import Settings
from assistant.review import APPROVED, PENDING, ArtifactActionError
from assistant.session import SHARE_KINDS, ShareRequest
from assistant.staff.audit import AuditAction, AuditLog
from assistant.staff.desk import ArtifactDesk

USER = "user"  # who acted, in the review and the audit log: the person at the kiosk or chat


def share_kinds(settings: Settings) -> tuple[str, ...]:
    """What the facility lets users do with what they made (the settings check that a
    sending has a mail server)."""
    allowed = {"publish": settings.user_publish, "send": settings.user_send}
    return tuple(kind for kind in SHARE_KINDS if allowed[kind])


@dataclass
class DeskSharing:
    """The desk as a user may use it (``UserSharing``)."""

    desk: ArtifactDesk
    audit: AuditLog
    kinds: tuple[str, ...]

    async def share(self, request: ShareRequest) -> str:
        """Approve (when still pending), then publish or send; the page's address or ""."""
        if request.kind not in self.kinds:
            raise ArtifactActionError(f"{request.kind} is not allowed", code="not_allowed")
        review = await self.desk.review(request.artifact_id)
        if review is None:
            raise ArtifactActionError("no such artifact", code="artifact_unknown")
        if review.status == PENDING:
            await self.desk.approve(request.artifact_id, USER)
            await self._audit(AuditAction.APPROVE, request)
        elif review.status != APPROVED:
            raise ArtifactActionError("staff sent it back", code="not_approved")
        if request.kind == "publish":
            published = await self.desk.publish(request.artifact_id, USER)
            await self._audit(AuditAction.PUBLISH, request,
                              {"slug": published.slug, "version": published.version})  # fmt: skip
            return f"{self.desk.base_url}{published.url_path}"
        try:
            await self.desk.send(request.artifact_id, request.address, as_link=True, by=USER,
                                 language=request.language)  # fmt: skip
        except ArtifactActionError as err:
            await self._audit(AuditAction.SEND, request, {"how": "link", "status": err.code})
            raise
        await self._audit(AuditAction.SEND, request, {"how": "link", "status": "sent"})
        return ""

    async def _audit(
        self, action: AuditAction, request: ShareRequest, detail: dict[str, object] | None = None
    ) -> None:
        await self.audit.record(USER, USER, action, session_key=request.session_key,
                                artifact_id=request.artifact_id, detail=detail)  # fmt: skip
