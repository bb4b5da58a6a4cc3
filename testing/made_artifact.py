"""A real artifact for staff tests (issue 16, part B): a café page walked through the dialog
and built by the generation queue from its template, as a user's would be."""

from __future__ import annotations

from assistant.dialog.manager import DialogManager
from assistant.events import Turn
from assistant.generation.queue import GenerationQueue
from assistant.ports import SessionStore
from assistant.session import Artifact
from testing.cafe_walk import cafe_walk


async def made_artifact(
    manager: DialogManager, queue: GenerationQueue, store: SessionStore, key: str, shop: str
) -> Artifact:
    """Walk the café page for ``shop`` in session ``key``, build it, return the artifact."""
    for text in cafe_walk(shop=shop):
        await manager.handle(Turn(session_key=key, text=text, language="en", channel="web"))
    assert await queue.run_once(), "the walk queued a build"
    session = await store.load(key)
    assert session is not None and session.artifact_id, "the build delivered an artifact"
    artifact = await store.artifact(session.artifact_id)
    assert artifact is not None
    return artifact
