"""Staff's words and answers in a user's session (issue 16): the dialog manager's side of the
console's live help and of an artifact sent back with a comment.

A mixin of ``DialogManager`` (it uses the manager's session locks, store, writer and the
channel listeners), kept apart so the manager stays about turns: these are words no turn of
the user asked for, kept in the session's history under ``staff:<name>`` and sent to the
session's channel the way a delivery is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.events import Reply, ReplyKind, SessionState, Turn

if TYPE_CHECKING:
    from assistant.dialog.replies import ReplyWriter
    from assistant.key_locks import KeyLocking
    from assistant.ports import SessionStore, TurnEffects
    from assistant.session import Session

STAFF_CHANNEL = "staff:"  # a history row's channel when staff said or typed it: staff:<name>


class StaffTurns:
    """What the console's staff say or type into a session (mixed into ``DialogManager``)."""

    store: SessionStore
    writer: ReplyWriter
    _locks: KeyLocking

    if TYPE_CHECKING:  # the manager's own, declared for the type checker only

        async def handle(
            self, turn: Turn, *, entered_by: str | None = None, announce: bool = True
        ) -> list[Reply]: ...

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
            announce: bool = True,
        ) -> None: ...

        async def _announce(self, key: str) -> None: ...

        async def _emit(self, session: Session, replies: list[Reply]) -> None: ...

    async def tell(
        self,
        session_key: str,
        words: Callable[[str], str | None],
        *,
        channel: str = "staff",
        live_only: bool = False,
    ) -> list[Reply]:
        """Words no turn asked for (staff sent the user's artifact back with a comment, or
        speak to a stuck user): ``words(language)`` in the session's language, kept in its
        history, so a returning user sees them too, and sent to its channel now. The state is
        unchanged. None said (``[]``) when there is no session (or, ``live_only``, it ended)."""

        def make(session: Session) -> list[Reply]:
            text = words(session.language)
            return [self.writer.reply(session, ReplyKind.INFO, text)] if text else []

        return await self.tell_replies(session_key, make, channel=channel, live_only=live_only)

    async def tell_replies(
        self,
        session_key: str,
        make: Callable[[Session], list[Reply]],
        *,
        channel: str = "staff",
        live_only: bool = False,
    ) -> list[Reply]:
        """``tell`` with whole replies (a published page's link): ``make(session)``."""
        async with self._locks.hold(session_key):
            session = await self.store.load(session_key)
            if session is None or (live_only and session.state == SessionState.ENDED):
                return []
            replies = make(session)
            if not replies:
                return []
            await self._commit(session, session.state, channel, None, replies, announce=False)
        await self._emit(session, replies)
        await self._announce(session.key)
        return replies

    async def staff_say(self, session_key: str, by: str, key: str, **params: Any) -> list[Reply]:
        """Staff speak into a live session (phrase ``key``), kept as a turn of ``staff:<by>``
        and shown and spoken by its channel like a delivery. LookupError: no live session."""
        replies = await self.tell(
            session_key,
            lambda language: self.writer.phrases.say(language, key, **params),
            channel=f"{STAFF_CHANNEL}{by}",
            live_only=True,
        )
        if not replies:
            raise LookupError(session_key)
        return replies

    async def answer_for_user(self, session_key: str, text: str, by: str) -> list[Reply]:
        """Staff type the user's answer (the user agreed), checked like the user's own."""
        session = await self.store.load(session_key)
        if session is None or session.state == SessionState.ENDED:
            raise LookupError(session_key)
        turn = Turn(session_key, text=text, language=session.language, channel=session.channel)
        replies = await self.handle(turn, entered_by=by, announce=False)
        await self._emit(session, replies)
        await self._announce(session_key)
        return replies
