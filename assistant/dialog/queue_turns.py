"""The generation queue's side of a session (a mixin of ``DialogManager``): a build delivered,
how it goes, or given up. These are turns no user made, so they live apart from the turns
that are; each is stored and sent to the session's channel as a turn's replies are, unless the
session moved on (another build, a cancel) while the queue worked.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.dialog import utterances as said
from assistant.events import Reply, SessionState
from assistant.session import Artifact, GenerationRequest, Session

if TYPE_CHECKING:
    from assistant.dialog.flow import DialogFlow
    from assistant.dialog.replies import ReplyWriter
    from assistant.jobs.catalog import JobCatalog
    from assistant.key_locks import KeyLocking
    from assistant.ports import SessionStore, TurnEffects


class QueueTurns:
    """Deliveries, progress and failures from the generation queue."""

    store: SessionStore
    writer: ReplyWriter
    jobs: JobCatalog
    flow: DialogFlow
    _locks: KeyLocking

    if TYPE_CHECKING:  # the manager's own, declared for the type checker only

        async def _commit(
            self,
            session: Session,
            before: SessionState,
            channel: str,
            text: str | None,
            replies: list[Reply],
            effects: TurnEffects | None = None,
            *,
            confidence: float | None = None,
            private: list[str] | None = None,
            announce: bool = True,
        ) -> None: ...

        async def _announce(self, key: str) -> None: ...

        async def _emit(self, session: Session, replies: list[Reply]) -> None: ...

    async def deliver(self, request: GenerationRequest, artifact: Artifact) -> list[Reply]:
        """The queue finished an artifact: tell the session's channel, unless it moved on."""
        async with self._locks.hold(request.session_key):
            session = await self.store.load(request.session_key)
            if not _waiting_for(session, request):
                return []
            assert session is not None
            before = session.state
            session.state = SessionState.DELIVERED
            session.generation_id = None
            session.version = request.version
            session.artifact_id = artifact.id
            job = self.jobs.for_session(request.session_key, request.job_id)
            replies = self.writer.render(
                session, [said.Delivery(job, artifact), said.DeliveredNext()]
            )
            await self._commit(session, before, "generator", None, replies, announce=False)
        await self._emit(session, replies)
        await self._announce(session.key)
        return replies

    async def progress(
        self, request: GenerationRequest, stage: str, fraction: float | None
    ) -> None:
        """Tell the session's channel how generation is going (not stored: it is momentary)."""
        session = await self.store.load(request.session_key)
        if not _waiting_for(session, request):
            return
        assert session is not None
        reply = self.writer.progress(session, stage, fraction)
        if fraction is not None and stage == "writing":
            # How much is written, shown but not spoken: a voice repeating percentages every
            # second would drown the kiosk; the first "writing" was spoken.
            percent = round(fraction * 100)
            reply = replace(
                reply, text=self.writer.say(session, "progress_written", percent=percent), speech=""
            )
        await self._emit(session, [reply])

    async def generation_failed(self, request: GenerationRequest) -> list[Reply]:
        """The queue gave up: back to confirm with the answers intact, one plain sentence."""
        async with self._locks.hold(request.session_key):
            session = await self.store.load(request.session_key)
            if not _waiting_for(session, request):
                return []
            assert session is not None
            before = session.state
            session.state = SessionState.CONFIRM
            session.generation_id = None
            # The answers are intact: show the read-back again, with its buttons.
            replies = self.writer.render(
                session, [said.problem("generation_failed"), self.flow.prompt(session)]
            )
            await self._commit(session, before, "generator", None, replies, announce=False)
        await self._emit(session, replies)
        await self._announce(session.key)
        return replies


def _waiting_for(session: Session | None, request: GenerationRequest) -> bool:
    return (
        session is not None
        and session.state == SessionState.GENERATING
        and session.generation_id == request.id
    )
