"""The console's knowledge screen (issue 16): the help documents, and a box to try a question.

Viewers see the documents and try questions; admins upload, replace, delete and re-ingest.
A change is ingested at once (the dialog answers from it on the next question) and written
to the audit log. The question box asks the knowledge base exactly as the dialog does
(``KnowledgeBase.ask`` with the dialog's neighbourhood, then ``relevant``), so staff see which
passages would answer a user and which are only near.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp_session import get_session

from assistant.http_guard import reads_own_body
from assistant.knowledge.answers import NEIGHBOURHOOD, relevant
from assistant.knowledge.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentRefused,
    KnowledgeDocuments,
    documents_folder,
)
from assistant.knowledge.passages import SUFFIXES
from assistant.staff.audit import AuditAction
from channels.staff.app import render
from channels.staff.guard import STAFF_KEY, csrf_token, language, require_role, say
from channels.staff.parts import parts

if TYPE_CHECKING:
    from assistant.knowledge.base import KnowledgeBase

SHOWN = 5  # passages shown for a tried question
DONE = ("uploaded", "replaced", "deleted", "reingested", "nothing")  # notes after an action


def _documents(request: web.Request) -> KnowledgeDocuments:
    return KnowledgeDocuments(documents_folder(parts(request).settings.data_dir))


async def _base(request: web.Request) -> KnowledgeBase:
    """The running service's knowledge base, or 503 with a sentence when it cannot open."""
    knowledge = parts(request).knowledge
    answers = await knowledge.ready() if knowledge is not None else None
    if answers is None:
        raise web.HTTPServiceUnavailable(text=say(request, "knowledge.unavailable"))
    return answers.base


async def _page(
    request: web.Request, *, status: int = 200, error: str = "", question: str = ""
) -> web.Response:
    documents = await asyncio.to_thread(_documents(request).list)
    found = []
    if question:
        base = await _base(request)
        near = await asyncio.to_thread(base.ask, question, language(request), NEIGHBOURHOOD)
        answering = set(map(id, relevant(near)))
        found = [(passage, id(passage) in answering) for passage in near[:SHOWN]]
    done = request.query.get("done", "")
    return render(
        request,
        "knowledge.html",
        status=status,
        title=say(request, "part_knowledge"),
        documents=documents,
        admin=request[STAFF_KEY].role == "admin",
        csrf=csrf_token(await get_session(request)),
        formats=", ".join(SUFFIXES),
        limit_mb=MAX_DOCUMENT_BYTES // (1024 * 1024),
        note=say(request, f"knowledge.done_{done}") if done in DONE else "",
        error=error,
        question=question,
        found=found,
    )


@require_role("viewer")
async def knowledge_page(request: web.Request) -> web.Response:
    """The documents and, when a question is given, the passages that answer it."""
    return await _page(request, question=request.query.get("q", "").strip()[:500])


async def _changed(request: web.Request, change: str, document: str) -> web.Response:
    """Ingest the folder again, log the change and go back to the page (POST, then GET)."""
    folder = documents_folder(parts(request).settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    base = await _base(request)
    report = await asyncio.to_thread(base.ingest, folder)
    account = request[STAFF_KEY]
    await parts(request).audit.record(
        account.name,
        account.role,
        AuditAction.KNOWLEDGE_CHANGED,
        address=request.remote or "",
        detail={"change": change, "document": document, "passages": report.passages},
    )
    raise web.HTTPSeeOther(f"/staff/knowledge?lang={language(request)}&done={change}")


@reads_own_body  # multipart: the body must reach the form parser unread (see the docstring)
@require_role("admin")
async def upload(request: web.Request) -> web.Response:
    """Add a document, or replace one when the form says so (multipart, checked first).

    The service's ``body_deadline`` reads every body ahead of its handler, and aiohttp cannot
    parse a multipart body it has already read; so this route reads its own, through the
    console's CSRF check (``request.post()``, bounded by the server's 2 MiB body limit)."""
    form = await request.post()
    upload = form.get("document")
    replace = form.get("replace") == "1"
    if not isinstance(upload, web.FileField):
        return await _page(request, status=400, error=say(request, "knowledge.refused_empty"))
    data = upload.file.read(MAX_DOCUMENT_BYTES + 1)
    try:
        saved = await asyncio.to_thread(
            _documents(request).save, upload.filename or "", data, replace=replace
        )
    except DocumentRefused as refused:
        sentence = say(
            request,
            f"knowledge.refused_{refused.code}",
            formats=", ".join(SUFFIXES),
            limit=MAX_DOCUMENT_BYTES // (1024 * 1024),
        )
        return await _page(request, status=400, error=sentence)
    return await _changed(request, "replaced" if replace else "uploaded", saved.name)


@require_role("admin")
async def delete(request: web.Request) -> web.Response:
    """Delete a document and take its passages out of the knowledge base."""
    name = str((await request.post()).get("name", ""))
    try:
        await asyncio.to_thread(_documents(request).delete, name)
    except DocumentRefused as refused:
        sentence = say(request, f"knowledge.refused_{refused.code}", formats="", limit="")
        return await _page(request, status=400, error=sentence)
    return await _changed(request, "deleted", name)


@require_role("admin")
async def reingest(request: web.Request) -> web.Response:
    """Ingest the documents folder again (after files were copied in by hand, say).

    With no folder yet nothing was ever uploaded, so there is nothing to read, and the
    knowledge base (seconds of embedding the first time) is not opened for it."""
    if not documents_folder(parts(request).settings.data_dir).is_dir():
        raise web.HTTPSeeOther(f"/staff/knowledge?lang={language(request)}&done=nothing")
    return await _changed(request, "reingested", "")


def add_routes(app: web.Application) -> None:
    """The knowledge screen's routes, on the console app."""
    app.router.add_get("/knowledge", knowledge_page)
    app.router.add_post("/knowledge/upload", upload)
    app.router.add_post("/knowledge/delete", delete)
    app.router.add_post("/knowledge/reingest", reingest)
