"""The manager's side of publishing and sending for the user (issue 16): carrying out the
request a turn's sure yes made, and keeping the e-mail address out of the history.

A mixin of ``DialogManager``. The request runs as the manager's own task once the turn is
stored, so the user hears "sending it now" at once and the result (the page's address, or why
it did not happen) follows through the channel, as a delivery does; the task ends with the
manager (``close``). The address is said back in the read-back turn, so the history row of
every turn that holds one stores it masked: staff read transcripts, and an address is kept
only as long as the sending needs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError
from assistant.session import PendingShare, ShareRequest

if TYPE_CHECKING:
    from assistant.dialog.replies import ReplyWriter
    from assistant.events import Reply
    from assistant.review import UserSharing
    from assistant.session import Session

_LOGGER = logging.getLogger(__name__)
MASK = "***"  # what the history keeps in place of an e-mail address
SHARE_CHANNEL = "sharing"  # the history row's channel for the result


class ShareTurns:
    """Publishing and sending for the user (mixed into ``DialogManager``)."""

    writer: ReplyWriter
    sharing: UserSharing | None
    _share_tasks: set[asyncio.Task[None]]

    if TYPE_CHECKING:  # the staff mixin's, declared for the type checker only

        async def tell_replies(
            self, session_key: str, make: Any, *, channel: str = "staff", live_only: bool = False
        ) -> list[Reply]: ...

    def start_share(self, request: ShareRequest) -> None:
        """Carry the request out in the background; the result is told to the session."""
        task = asyncio.create_task(self._share(request), name=f"share-{request.kind}")
        self._share_tasks.add(task)
        task.add_done_callback(self._share_tasks.discard)

    async def close(self) -> None:
        """Stop publishings and sendings under way (the service is stopping)."""
        tasks = list(self._share_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def shares_done(self) -> None:
        """Wait until every publishing and sending started so far has ended (tests, and a
        clean stop that lets a mail on its way finish)."""
        while self._share_tasks:
            await asyncio.gather(*list(self._share_tasks), return_exceptions=True)

    async def _share(self, request: ShareRequest) -> None:
        sharing = self.sharing
        assert sharing is not None
        try:
            url = await sharing.share(request)
        except AssistantError as err:
            _LOGGER.warning("a %s for session %s failed: %s", request.kind, request.session_key,
                            err.code)  # fmt: skip
            code = err.code
            url = None
        except Exception:  # the user hears that it did not work; the log has why
            _LOGGER.exception("a %s for session %s failed", request.kind, request.session_key)
            code = "other"
            url = None

        def make(session: Session) -> list[Reply]:
            if url is None:
                return [self.writer.share_failed(session, code)]
            return [self.writer.shared(session, request.kind, url)]

        await self.tell_replies(request.session_key, make, channel=SHARE_CHANNEL)


def addresses_held(*pendings: object) -> list[str]:
    """The e-mail addresses a turn's sessions (before and after) held for a sending."""
    return [p.address for p in pendings if isinstance(p, PendingShare) and p.address]


def masked(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (text, or a reply's wire form) with every secret replaced by ``MASK``."""
    hidden = [secret for secret in secrets if secret]
    if not hidden:
        return value
    if isinstance(value, str):
        for secret in hidden:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {key: masked(item, hidden) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item, hidden) for item in value]
    return value
