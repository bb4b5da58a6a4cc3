"""The console channel: the whole flow in a terminal, or scripted through a pipe.

One line in is one turn. Replies are printed as plain lines, choices as a numbered list, and
the output is flushed after every turn so a program driving the console sees it at once.
Scripted input waits for a delivery before the next line, since that line answers what
comes after it; so does the end of input. Like the kiosk, a console is a seat
(``assistant/dialog/seat.py``): whoever uses it after a session ended gets a new session and
code; a console opened on a continued session (``--resume CODE``) stays on that session.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from assistant.dialog.conflict import handle_or_explain
from assistant.dialog.manager import DialogManager
from assistant.dialog.seat import Seat
from assistant.events import Reply, ReplyKind, SessionState, Turn
from assistant.safe_text import clean, decode

CHANNEL = "console"


def format_reply(reply: Reply) -> str:
    """One reply as terminal text."""
    lines = [reply.text]
    if reply.kind in (ReplyKind.MENU, ReplyKind.QUESTION):
        lines += [f"  {choice.number}. {choice.label}" for choice in reply.choices]
    lines += [f"  {link.label}: {link.url}" for link in reply.links if link.kind != "file"]
    return "\n".join(lines)


class ConsoleChannel:
    """Reads lines, sends them as turns, prints the replies."""

    def __init__(
        self,
        manager: DialogManager,
        *,
        session_key: str,
        language: str | None = None,
        input_stream: TextIO | None = None,
        output: TextIO | None = None,
        delivery_wait: float = 300.0,
        seat: bool = True,
    ) -> None:
        self.manager = manager
        # ``session_key`` names the seat; without one it is the session itself (--resume).
        self.seat = Seat(manager, session_key) if seat else None
        self._fixed_key = session_key
        self.language = language
        self.input = input_stream or sys.stdin
        self.output = output or sys.stdout
        self.delivery_wait = delivery_wait
        self.interactive = self.input.isatty()
        self._delivered = asyncio.Event()

    def show(self, replies: list[Reply]) -> None:
        """Print replies and flush."""
        for reply in replies:
            print(format_reply(reply), file=self.output)
        if self.interactive:
            print("> ", end="", file=self.output)
        self.output.flush()

    @property
    def session_key(self) -> str:
        """The session this console shows now."""
        return self.seat.key if self.seat is not None else self._fixed_key

    async def _greet(self) -> list[Reply]:
        if self.seat is not None:
            return await self.seat.resume(CHANNEL, self.language)
        return await self.manager.resume(self._fixed_key, CHANNEL, self.language)

    async def _handle(self, turn: Turn) -> list[Reply]:
        if self.seat is not None:
            return await self.seat.handle(turn)
        return await handle_or_explain(self.manager, turn)

    async def _on_unsolicited(self, session_key: str, replies: list[Reply]) -> None:
        if session_key != self.session_key:
            return
        self.show(replies)
        if replies and replies[-1].state != SessionState.GENERATING:  # not mere progress
            self._delivered.set()

    async def run(self) -> None:
        """Greet, then one turn per line until end of input or the session ends."""
        self.manager.add_listener(CHANNEL, self._on_unsolicited)
        try:
            self.show(await self._greet())
            while True:
                line = await asyncio.to_thread(self._read_line)
                if line is None:
                    break
                self._delivered.clear()
                turn = Turn(session_key=self.session_key, text=line, channel=CHANNEL)
                replies = await self._handle(turn)
                self.show(replies)
                if replies and replies[-1].state == SessionState.ENDED:
                    break
                if not self.interactive:  # a script's next line answers what comes after
                    await self._wait_for_delivery()
            await self._wait_for_delivery()
        finally:
            self.manager.remove_listener(CHANNEL)

    def _read_line(self) -> str | None:
        """The next line as clean text, None at the end of input. A terminal or a pipe may
        send any bytes (Latin-1 "Café", a stray escape): read as bytes where the stream has
        them, so a line that is not UTF-8 is still a line instead of a crash."""
        raw = getattr(self.input, "buffer", None)
        if raw is not None:
            data = raw.readline()
            return decode(data).rstrip("\n") if data else None
        line = self.input.readline()
        return clean(line).rstrip("\n") if line else None

    async def _wait_for_delivery(self) -> None:
        session = await self.manager.session(self.session_key)
        if session is None or session.state != SessionState.GENERATING:
            return
        try:
            await asyncio.wait_for(self._delivered.wait(), self.delivery_wait)
        except TimeoutError:
            print("(still generating; run the console again to see the result)", file=self.output)
            self.output.flush()
