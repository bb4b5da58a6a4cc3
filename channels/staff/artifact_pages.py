"""The console's artifacts screen (issue 16): the filtered list and one artifact's page.

Both pages only read: the review store behind the desk (``desk.store``) gives the list, the
versions of a series, its publication and its sendings (never the address a mail went to).
The preview is the artifact's own sandboxed ``/p/<token>/`` page of this server in a frame;
the acts that change something are in ``artifact_acts.py`` and come back here with a sentence.
"""

from __future__ import annotations

import datetime
from typing import Any

from aiohttp import web
from aiohttp_session import get_session

from assistant.generation.package import given_name
from assistant.review import REVIEW_STATES, Review, Site
from assistant.session import Artifact
from channels.staff import app as console_app
from channels.staff.guard import csrf_token, language, require_role, say
from channels.staff.parts import parts

LIST_LIMIT = 200
DONE = (
    "approved",
    "sent_back",
    "sent_back_untold",
    "published",
    "unpublished",
    "sent",
)  # ?done= sentences


def _day(text: str) -> datetime.date | None:
    """A ``YYYY-MM-DD`` from the filter form; None when empty; ValueError when not a date."""
    return datetime.date.fromisoformat(text) if text else None


def _start_of(day: datetime.date) -> float:
    """Local midnight at the start of ``day`` (the facility's own days)."""
    return datetime.datetime.combine(day, datetime.time()).astimezone().timestamp()


def made_when(at: float) -> str:
    """A time as staff read it: local, to the minute."""
    return datetime.datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M")


def title_of(artifact: Artifact) -> str:
    """The name the user gave, with what it is: "Blue Harbor Café (Café web page)"."""
    kind = str(artifact.manifest.get("title") or artifact.job_id)
    name = given_name(dict(artifact.manifest))
    return f"{name} ({kind})" if name else kind


def status_words(request: web.Request, review: Review) -> str:
    """A review state in the page's language."""
    return say(request, f"artifacts.status_{review.status}")


@require_role("viewer")
async def artifact_list(request: web.Request) -> web.Response:
    """Every artifact, newest first, narrowed by job, day made (from, to) and review state."""
    desk = parts(request).desk
    job = request.query.get("job", "")
    status = request.query.get("status", "")
    status = status if status in REVIEW_STATES else ""
    since_text, until_text = request.query.get("from", ""), request.query.get("to", "")
    message, code = "", 200
    try:
        since, until = _day(since_text), _day(until_text)
    except ValueError:
        since = until = None
        message, code = say(request, "artifacts.bad_date"), 400
    found = await desk.store.reviewed_artifacts(
        job_id=job,
        status=status,
        since=_start_of(since) if since else None,
        until=_start_of(until + datetime.timedelta(days=1)) if until else None,
        limit=LIST_LIMIT,
    )
    rows = [
        {
            "id": artifact.id,
            "title": title_of(artifact),
            "job": artifact.job_id,
            "made": made_when(artifact.created),
            "status": status_words(request, review),
            "version": artifact.version,
        }
        for artifact, review in found
    ]
    return console_app.render(
        request,
        "artifacts.html",
        status=code,
        title=say(request, "artifacts.title"),
        rows=rows,
        jobs=[
            (job_id, job.title.get(language(request)))
            for job_id, job in sorted(parts(request).jobs.jobs.items())
        ],
        states=[(state, say(request, f"artifacts.status_{state}")) for state in REVIEW_STATES],
        chosen={"job": job, "status": status, "from": since_text, "to": until_text},
        message=message,
    )


async def artifact_values(request: web.Request, artifact_id: str) -> dict[str, Any]:
    """What the artifact page shows; 404 when there is no such artifact."""
    console = parts(request)
    store = console.desk.store
    artifact = await store.artifact(artifact_id)
    review = await store.review(artifact_id)
    if artifact is None or review is None:
        raise web.HTTPNotFound(text=say(request, "error.artifact_unknown"))
    site: Site | None = await store.site_of_series(artifact.series)
    expired = artifact.expires is not None and artifact.expires < console.manager.clock()
    versions = [
        {"id": other.id, "version": other.version, "made": made_when(other.created),
         "status": status_words(request, other_review), "current": other.id == artifact.id}
        for other, other_review in await store.series_versions(artifact.series)
    ]  # fmt: skip
    sends = [
        {"at": made_when(send.at), "how": say(request, "artifacts.as_link" if send.as_link
         else "artifacts.as_attachment"), "by": send.by,
         "status": say(request, f"artifacts.send_{send.status}")}
        for send in await store.sends(artifact_id)
    ]  # fmt: skip
    return {
        "artifact": artifact,
        "heading": title_of(artifact),
        "made": made_when(artifact.created),
        "review": review,
        "review_status": status_words(request, review),
        "decided": made_when(review.at) if review.at else "",
        "preview": f"/p/{artifact.token}/" if artifact.token and not expired else "",
        "versions": versions,
        "site": site,
        "site_url": f"/site/{site.slug}/" if site else "",
        "sends": sends,
        "csrf": csrf_token(await get_session(request)),
    }


def artifact_page(
    request: web.Request,
    values: dict[str, Any],
    *,
    done: str = "",
    error: str = "",
    status: int = 200,
    comment: str = "",
) -> web.Response:
    """The artifact's page, with a status sentence after an act or its error sentence."""
    return console_app.render(
        request,
        "artifacts_one.html",
        status=status,
        title=values["heading"],
        done=done,
        error=error,
        comment=comment,
        **values,
    )


def done_sentence(request: web.Request, done: str, values: dict[str, Any]) -> str:
    """The sentence for ``?done=`` after an act (unknown values say nothing)."""
    if done not in DONE:
        return ""
    if done == "published":
        return say(request, "published", url=values["site_url"])
    if done == "unpublished":
        return say(request, "unpublished")
    if done == "sent":
        return say(request, "mail_sent")
    return say(request, f"artifacts.done_{done}")


@require_role("viewer")
async def artifact_detail(request: web.Request) -> web.Response:
    """One artifact: preview, versions, review, publication and sendings."""
    values = await artifact_values(request, request.match_info["artifact_id"])
    done = done_sentence(request, request.query.get("done", ""), values)
    return artifact_page(request, values, done=done)
