"""A SQLite store whose next turn loses a race with another process on the same file."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from assistant.ports import TurnEffects
from assistant.session import Session, TurnRecord
from assistant.store.sqlite import SQLiteStore


class RacedStore(SQLiteStore):
    """Before it commits the turn that said ``lose_text``, ``before_commit`` runs: another
    process writing the same session meanwhile."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.before_commit: Callable[[], Awaitable[object]] | None = None
        self.lose_text: str | None = None

    async def commit_turn(
        self, session: Session, record: TurnRecord, effects: TurnEffects
    ) -> Session:
        race = self.before_commit
        if race is not None and self.lose_text in (None, record.text):
            self.before_commit = None
            await race()
        return await super().commit_turn(session, record, effects)
