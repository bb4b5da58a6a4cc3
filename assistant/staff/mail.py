"""Sending an approved artifact by e-mail over SMTP (issue 16, part B).

As a link (its public ``/p/<token>/`` preview) or with its zip attached; subject and body in
the user's language. The address is checked before anything is sent and is never stored or
logged: the send record says which artifact, how, by whom, when and whether it worked. The
SMTP password stays in ``MailSettings`` (hidden from ``repr``) and out of every log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from assistant.config import Settings
from assistant.generation.package import zip_name
from assistant.jobs.phrases import Phrases
from assistant.review import ArtifactActionError, ReviewStore, SendRecord
from assistant.session import Artifact
from assistant.staff.review import require_approved
from assistant.understanding.addresses import is_address

_LOGGER = logging.getLogger(__name__)
_UNREACHABLE = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPTimeoutError,
    aiosmtplib.SMTPServerDisconnected,
    OSError,
    asyncio.TimeoutError,
)
_REFUSED = (
    aiosmtplib.SMTPRecipientsRefused,
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPDataError,
)


@dataclass(frozen=True, slots=True)
class MailSettings:
    """The SMTP server and the sender, from ``smtp_*`` settings."""

    host: str
    port: int = 587
    security: str = "starttls"  # none, starttls or tls
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> MailSettings:
        """The mail part of the service's settings."""
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_security,
                   settings.smtp_user, settings.smtp_password, settings.smtp_from)  # fmt: skip


def checked_address(address: str) -> str:
    """The address stripped, when it is one address; else ``address_invalid``."""
    text = address.strip()
    if not is_address(text):
        raise ArtifactActionError("that is not an e-mail address", code="address_invalid")
    return text


class Mailer:
    """Sends approved artifacts and keeps a record of each sending without its address."""

    def __init__(
        self,
        store: ReviewStore,
        settings: MailSettings,
        phrases: Phrases,
        *,
        base_url: str,
        language: str = "ja",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._settings = settings
        self._phrases = phrases
        self._base_url = base_url.rstrip("/")
        self._language = language
        self._clock = clock

    async def send(
        self, artifact_id: str, address: str, *, as_link: bool, by: str, language: str = ""
    ) -> SendRecord:
        """Send the artifact to ``address`` in the user's ``language`` (else the artifact's)."""
        if not (self._settings.host and self._settings.sender):
            raise ArtifactActionError(
                "smtp_host and smtp_from are not set", code="mail_not_configured"
            )
        await require_approved(self._store, artifact_id)
        artifact = await self._store.artifact(artifact_id)
        if artifact is None:
            raise ArtifactActionError(f"no artifact {artifact_id!r}", code="artifact_unknown")
        message = await self._message(artifact, checked_address(address), as_link, language)
        try:
            await self._deliver(message)
        except ArtifactActionError as err:
            await self._store.record_send(
                artifact.id, as_link, by, self._clock(), "failed", err.code
            )
            raise
        now = self._clock()
        record_id = await self._store.record_send(artifact.id, as_link, by, now, "sent", "")
        _LOGGER.info("sent artifact %s by e-mail (%s)", artifact.id, "link" if as_link else "zip")
        return SendRecord(record_id, artifact.id, as_link, by, now, "sent")

    async def _message(
        self, artifact: Artifact, address: str, as_link: bool, language: str
    ) -> EmailMessage:
        language = language or str(artifact.manifest.get("language") or self._language)
        language = language if language in self._phrases.table else self._language
        # The title is the user's words: one line, so it cannot add a header to the mail.
        title = " ".join(str(artifact.manifest.get("title") or artifact.job_id).split())
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = address
        message["Subject"] = self._phrases.say(language, "mail.subject", title=title)
        if as_link:
            if not artifact.token:
                raise ArtifactActionError("the artifact has no public link", code="no_link")
            if artifact.expires is not None and self._clock() > artifact.expires:
                raise ArtifactActionError("the artifact's link has expired", code="link_expired")
            link = f"{self._base_url}/p/{artifact.token}/"
            message.set_content(
                self._phrases.say(language, "mail.body_link", title=title, link=link)
            )
            return message
        name = str(artifact.manifest.get("download") or zip_name(artifact.manifest))
        message.set_content(self._phrases.say(language, "mail.body_zip", title=title, file=name))
        try:
            data = await asyncio.to_thread(Path(artifact.zip_path).read_bytes)
        except OSError as err:
            raise ArtifactActionError("the artifact's zip is gone", code="zip_missing") from err
        message.add_attachment(data, maintype="application", subtype="zip", filename=name)
        return message

    async def _deliver(self, message: EmailMessage) -> None:
        """One SMTP conversation; failures become coded errors (never with the address or
        the password in them)."""
        mail = self._settings
        try:
            await aiosmtplib.send(
                message,
                hostname=mail.host,
                port=mail.port,
                username=mail.user or None,
                password=mail.password or None,
                use_tls=mail.security == "tls",
                start_tls=mail.security == "starttls",
                timeout=mail.timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as err:
            raise _failed("mail_login_failed", "the SMTP server refused the sign-in") from err
        except _REFUSED as err:
            raise _failed("mail_refused", "the SMTP server refused the mail") from err
        except _UNREACHABLE as err:
            raise _failed("mail_unreachable", "the SMTP server cannot be reached") from err
        except aiosmtplib.SMTPException as err:
            raise _failed("mail_failed", "the SMTP server did not take the mail") from err


def _failed(code: str, message: str) -> ArtifactActionError:
    _LOGGER.warning("sending an artifact by e-mail failed: %s", code)
    return ArtifactActionError(message, code=code)
