"""A turn overtaken by another process: the user hears one sentence and the dialog goes on.

Two processes may write one session (a console resumed by code while the server runs, two
servers behind a balancer). The store refuses the second write with ``session_conflict``
rather than undo the first; the turn is lost, so the user is asked to say it again, in the
session's language, by whichever channel they use. Nothing else about the session changes.
"""

from __future__ import annotations

import logging

from assistant.dialog.manager import DialogManager
from assistant.errors import AssistantError, StoreError
from assistant.events import Reply, ReplyKind, SessionState, Turn

_LOGGER = logging.getLogger(__name__)

SESSION_CONFLICT = "session_conflict"


def is_session_conflict(err: BaseException) -> bool:
    """Whether ``err`` is the store refusing a write another process overtook."""
    return isinstance(err, AssistantError) and err.code == SESSION_CONFLICT


async def conflict_reply(
    manager: DialogManager, session_key: str, language: str | None = None
) -> Reply:
    """The sentence for an overtaken turn, in the session's language and current state."""
    session = await manager.session(session_key)
    if session is not None:
        language, state = session.language, session.state
    else:
        language, state = language or manager.default_language, SessionState.WELCOME
    text = manager.writer.phrases.say(language, SESSION_CONFLICT)
    return Reply(ReplyKind.PROBLEM, text, text, language, state)


async def handle_or_explain(manager: DialogManager, turn: Turn) -> list[Reply]:
    """``manager.handle(turn)``, or the one sentence when another process overtook the turn."""
    try:
        return await manager.handle(turn)
    except StoreError as err:
        if not is_session_conflict(err):
            raise
        _LOGGER.warning("%s: %s", turn.session_key, err)
        return [await conflict_reply(manager, turn.session_key, turn.language)]
