"""What staff do to an artifact from its page (issue 16): approve, send back with a comment,
publish, unpublish, send by e-mail. Staff and above only; every act is a CSRF-checked POST
(the console's middleware), done by the desk, written to the audit log (the desk itself does
not audit), and answered with 303 back to the page and a sentence, or the page again with the
desk's error sentence and a 4xx status.

A sent-back artifact's comment reaches the user: it is said into the artifact's session
through the dialog manager, so the channel shows it (and the kiosk speaks it) at once and the
session's history keeps it for a user who comes back later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from assistant.review import ArtifactActionError
from assistant.staff.audit import AuditAction
from assistant.staff.desk import ArtifactDesk
from assistant.staff.mail import checked_address
from assistant.staff.review import say_error, sent_back_words
from channels.staff import artifact_pages as pages
from channels.staff.guard import STAFF_KEY, config, language, require_role
from channels.staff.parts import parts

COMMENT_LIMIT = 1000  # what staff may write to the user (the desk's own limit is wider)
# An error's status: the request was wrong (400), names nothing (404), or the artifact is not
# in a state for it (409, for example publishing before approval, or the mail server down).
ERROR_STATUS = {
    "artifact_unknown": 404,
    "comment_missing": 400,
    "comment_too_long": 400,
    "address_invalid": 400,
}
# Failures after the mail server was tried: the desk keeps a record of those, so does the log.
MAIL_FAILURES = frozenset({"mail_unreachable", "mail_refused", "mail_login_failed", "mail_failed"})
Act = Callable[[web.Request, dict[str, Any], dict[str, str]], Awaitable[str]]


async def _approve(request: web.Request, values: dict[str, Any], form: dict[str, str]) -> str:
    artifact = values["artifact"]
    await _desk(request).approve(artifact.id, request[STAFF_KEY].name)
    await _audit(request, AuditAction.APPROVE, artifact.id)
    return "approved"


async def _send_back(request: web.Request, values: dict[str, Any], form: dict[str, str]) -> str:
    artifact = values["artifact"]
    comment = form.get("comment", "")
    if len(comment.strip()) > COMMENT_LIMIT:
        raise ArtifactActionError("the comment is too long", code="comment_too_long")
    review = await _desk(request).send_back(artifact.id, comment, request[STAFF_KEY].name)
    phrases = config(request).phrases
    told = await parts(request).manager.tell(
        artifact.session_key, lambda lang: sent_back_words(phrases, lang, review)
    )
    await _audit(request, AuditAction.SEND_BACK, artifact.id, session_key=artifact.session_key,
                 detail={"comment": review.comment, "told_user": bool(told)})  # fmt: skip
    return "sent_back" if told else "sent_back_untold"


async def _publish(request: web.Request, values: dict[str, Any], form: dict[str, str]) -> str:
    artifact = values["artifact"]
    published = await _desk(request).publish(artifact.id, request[STAFF_KEY].name)
    await _audit(request, AuditAction.PUBLISH, artifact.id,
                 detail={"slug": published.slug, "version": published.version})  # fmt: skip
    return "published"


async def _unpublish(request: web.Request, values: dict[str, Any], form: dict[str, str]) -> str:
    artifact, site = values["artifact"], values["site"]
    if site is None or not site.live:
        raise ArtifactActionError("the artifact is not published", code="not_published")
    await _desk(request).unpublish(site.slug, request[STAFF_KEY].name)
    await _audit(request, AuditAction.UNPUBLISH, artifact.id, detail={"slug": site.slug})
    return "unpublished"


async def _send(request: web.Request, values: dict[str, Any], form: dict[str, str]) -> str:
    artifact = values["artifact"]
    address = checked_address(form.get("address", ""))  # kept only for this request
    as_link = form.get("how", "link") != "attachment"
    how = "link" if as_link else "attachment"
    try:
        await _desk(request).send(artifact.id, address, as_link=as_link, by=request[STAFF_KEY].name)
    except ArtifactActionError as err:
        if err.code not in MAIL_FAILURES:
            raise
        await _audit(request, AuditAction.SEND, artifact.id,
                     detail={"how": how, "status": "failed", "reason": err.code})  # fmt: skip
        raise
    await _audit(request, AuditAction.SEND, artifact.id, detail={"how": how, "status": "sent"})
    return "sent"


def _desk(request: web.Request) -> ArtifactDesk:
    return parts(request).desk


async def _audit(
    request: web.Request,
    action: AuditAction,
    artifact_id: str,
    *,
    session_key: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    account = request[STAFF_KEY]
    await parts(request).audit.record(
        account.name, account.role, action, address=request.remote or "",
        session_key=session_key, artifact_id=artifact_id, detail=detail,
    )  # fmt: skip


def _guarded(act: Act) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """One act as a route: staff only, then 303 to the page, or the page with the error."""

    @require_role("staff")
    async def route(request: web.Request) -> web.StreamResponse:
        values = await pages.artifact_values(request, request.match_info["artifact_id"])
        posted = await request.post()
        form = {key: str(value) for key, value in posted.items() if isinstance(value, str)}
        try:
            done = await act(request, values, form)
        except ArtifactActionError as err:
            sentence = say_error(config(request).phrases, language(request), err)
            fresh = await pages.artifact_values(request, values["artifact"].id)
            return pages.artifact_page(
                request, fresh, error=sentence, status=ERROR_STATUS.get(err.code, 409),
                comment=form.get("comment", "")[:COMMENT_LIMIT * 2],
            )  # fmt: skip
        target = request.app.router["artifact_detail"].url_for(artifact_id=values["artifact"].id)
        raise web.HTTPSeeOther(str(target.with_query(done=done, lang=language(request))))

    route.__name__ = route.__qualname__ = f"artifact{act.__name__}"
    return route


ACTS = {
    "approve": _guarded(_approve),
    "send-back": _guarded(_send_back),
    "publish": _guarded(_publish),
    "unpublish": _guarded(_unpublish),
    "send": _guarded(_send),
}
