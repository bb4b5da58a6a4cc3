"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, in the test's own event loop): the
``smtp_server`` fixture gives its inbox and port. A plugin of ``tests/conftest.py``, so the
mail tests, the console's artifact tests and the user's sending share one server and one
inbox instead of a copy each."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session


class Inbox:
    """The server's handler: keeps every message; refuses mail to ``refused@…``."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.arrived = asyncio.Event()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("refused@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        self.arrived.set()
        return "250 OK"


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[Inbox, int]]:
    """An SMTP server on a free port of 127.0.0.1: its inbox and its port."""
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(inbox, hostname="mail.test"), "127.0.0.1", 0)
    yield inbox, server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
