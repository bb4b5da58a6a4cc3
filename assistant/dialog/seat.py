"""A seat: a kiosk or a console that one person after another sits down at.

Each person gets a session of their own, with a code of their own, so nothing of one person
(answers, code, links) reaches the next, nor does a phone that continued one person's session
follow the kiosk into the next person's. A new person is recognised, by what they say, as:

* anyone speaking after the session ended (the welcome after "finish");
* "start over" at the menu, where there is no job to start again;
* a voice after the kiosk paused for a long silence, unless it says "continue".

The seat's current session is kept in the store (``take_seat``), not in this object: a kiosk
restarted after a crash carries on with the person in front of it, and the kiosk screen
(usually served by another process) follows the seat to each new person. The seat's first
session keeps the seat's own name (``kiosk:local``), as before seats existed; later ones are
``kiosk:local/<random>``. An old session is marked ended, never deleted.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace

from assistant.dialog.conflict import handle_or_explain, is_session_conflict
from assistant.dialog.flow import LOW_CONFIDENCE
from assistant.dialog.manager import DialogManager
from assistant.errors import StoreError
from assistant.events import CommandName, Reply, SessionState, Turn, TurnEvent
from assistant.session import Session
from assistant.understanding.expectation import Expectation
from assistant.understanding.interpret import detect_command

_LOGGER = logging.getLogger(__name__)

_MENU = (SessionState.WELCOME, SessionState.CHOOSE_JOB)


class Seat:
    """Routes a kiosk's or console's turns to the session of the person using it now."""

    def __init__(self, manager: DialogManager, name: str) -> None:
        self.manager = manager
        self.name = name
        self.key = name  # the current person's session (until ``open`` reads the store)
        self._opened = False
        # Paused by a long silence: the next voice may well be somebody else.
        self._idle = False

    async def open(self) -> str:
        """Carry on with the seat's current person, or seat a new one if theirs ended."""
        key = await self.manager.store.seat_session(self.name) or self.name
        session = await self.manager.session(key)
        if session is not None and session.state == SessionState.ENDED:
            key = self._new_key()
        self.key = key
        await self.manager.store.take_seat(self.name, key)
        self._opened = True
        return key

    async def resume(self, channel: str, language: str | None = None) -> list[Reply]:
        """Greet whoever is at the seat: the welcome, or where the current person stands."""
        await self.open()
        return await self.manager.resume(self.key, channel, language)

    async def expectation(self, language: str | None = None) -> Expectation:
        """What to listen for next. After a long silence the next voice may be somebody new:
        the menu's phrases and the commands ("continue" among them), not the paused question's
        answers, which a closed grammar would force a stranger's greeting onto."""
        if self._idle:
            session = await self.manager.session(self.key)
            fresh = Session(
                key=self.key,
                language=session.language if session else language or "ja",
                channel="",
            )
            return self.manager.flow.expectation(fresh)
        return await self.manager.expectation(self.key, language)

    async def handle(self, turn: Turn) -> list[Reply]:
        """One turn of whoever is at the seat (a new person first gets a session of their
        own); a turn another process overtook is answered with a sentence."""
        if not self._opened:
            await self.open()
        session = await self.manager.session(self.key)
        if turn.event is None:
            if session is not None and self._someone_new(session, turn):
                await self._next_person(turn.channel)
            self._idle = False
        elif turn.event == TurnEvent.LONG_SILENCE and session is not None:
            self._idle = not session.paused and session.state not in (
                SessionState.WELCOME,
                SessionState.ENDED,
            )
        return await handle_or_explain(self.manager, replace(turn, session_key=self.key))

    def _someone_new(self, session: Session, turn: Turn) -> bool:
        if session.state == SessionState.ENDED:
            return True
        command = turn.command
        if command is None and turn.text:
            command = detect_command(turn.text)
        name = command.name if command is not None else None
        if self._idle:
            return name != CommandName.RESUME
        unsure = turn.confidence is not None and turn.confidence < LOW_CONFIDENCE
        return (
            name == CommandName.START_OVER
            and not unsure
            and session.state in _MENU
            and session.job_id is None
            and session.pending is None
        )

    async def _next_person(self, channel: str) -> None:
        """End the current person's session and give the seat a fresh one."""
        old = self.key
        try:
            await self.manager.end(old, channel)
        except StoreError as err:
            if not is_session_conflict(err):
                raise
            _LOGGER.warning("%s changed elsewhere while ending it; trying once more", old)
            await self.manager.end(old, channel)
        self.key = self._new_key()
        self._idle = False
        await self.manager.store.take_seat(self.name, self.key)
        _LOGGER.info("%s: a new person, session %s (after %s)", self.name, self.key, old)

    def _new_key(self) -> str:
        return f"{self.name}/{secrets.token_urlsafe(9)}"
