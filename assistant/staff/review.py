"""Approving an artifact or sending it back with a comment (issue 16, part B).

Only an approved artifact may be published or sent; a sent-back one carries a comment the
user sees, so the comment is kept as plain text (never markup) and must say something.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from assistant.jobs.phrases import Phrases
from assistant.review import APPROVED, PENDING, SENT_BACK, ArtifactActionError, Review, ReviewStore

COMMENT_LIMIT = 2000


async def approve(
    store: ReviewStore, artifact_id: str, by: str, *, clock: Callable[[], float] = time.time
) -> Review:
    """Mark the artifact approved by ``by`` now."""
    return await _decide(store, artifact_id, APPROVED, "", by, clock())


async def send_back(
    store: ReviewStore,
    artifact_id: str,
    comment: str,
    by: str,
    *,
    clock: Callable[[], float] = time.time,
) -> Review:
    """Send the artifact back with ``comment`` for the user; an empty comment is refused,
    since the user would not know what to change."""
    text = " ".join(comment.split())
    if not text:
        raise ArtifactActionError("a sent-back artifact needs a comment", code="comment_missing")
    if len(text) > COMMENT_LIMIT:
        raise ArtifactActionError(
            f"the comment is longer than {COMMENT_LIMIT} characters", code="comment_too_long"
        )
    return await _decide(store, artifact_id, SENT_BACK, text, by, clock())


async def reopen(
    store: ReviewStore, artifact_id: str, by: str, *, clock: Callable[[], float] = time.time
) -> Review:
    """Put the artifact back to ``pending`` (for example a decision made by mistake)."""
    return await _decide(store, artifact_id, PENDING, "", by, clock())


async def require_approved(store: ReviewStore, artifact_id: str) -> Review:
    """The artifact's review when it is approved; otherwise a coded error."""
    review = await store.review(artifact_id)
    if review is None:
        raise ArtifactActionError(f"no artifact {artifact_id!r}", code="artifact_unknown")
    if review.status != APPROVED:
        raise ArtifactActionError(
            f"artifact {artifact_id!r} is {review.status}, not approved", code="not_approved"
        )
    return review


async def _decide(
    store: ReviewStore, artifact_id: str, status: str, comment: str, by: str, at: float
) -> Review:
    review = await store.set_review(artifact_id, status, comment, by, at)
    if review is None:
        raise ArtifactActionError(f"no artifact {artifact_id!r}", code="artifact_unknown")
    return review


def say_error(phrases: Phrases, language: str, error: ArtifactActionError) -> str:
    """The error in words for staff or the user: ``staff.error.<code>``, else a general one."""
    key = f"staff.error.{error.code}"
    return phrases.say(language, key if phrases.has(key) else "staff.error.artifact_action_failed")


def sent_back_words(phrases: Phrases, language: str, review: Review) -> str | None:
    """What the user is told about a sent-back artifact: staff's comment, kept as plain text
    (a channel escapes it like any other reply); None while nothing was sent back."""
    if review.status != SENT_BACK or not review.comment:
        return None
    return phrases.say(language, "staff.sent_back", comment=review.comment)
