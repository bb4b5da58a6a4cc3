"""Sending approved artifacts by e-mail (issue 16, part B), through a real SMTP server
(aiosmtpd) listening on 127.0.0.1 in the test's own event loop."""

from __future__ import annotations

import dataclasses
import io
import logging
import socket
import zipfile
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.compose import Services
from assistant.config import load_settings
from assistant.dialog.manager import DialogManager
from assistant.errors import ConfigError
from assistant.generation.queue import GenerationQueue
from assistant.jobs.phrases import Phrases
from assistant.review import ArtifactActionError
from assistant.server import init_app
from assistant.session import Artifact
from assistant.staff.mail import Mailer, MailSettings, checked_address
from assistant.staff.review import approve, say_error
from assistant.store import artifacts as artifact_rows
from assistant.store.review import SQLiteReviewStore
from assistant.store.sqlite import SQLiteStore
from testing.made_artifact import made_artifact
from testing.smtp import Inbox

BASE_URL = "http://kiosk.example:8080"
SENDER = "desk@facility.example"
VISITOR = "hanako.visitor@example.org"
PASSWORD = "hunter2-smtp-secret"


@pytest.fixture
def reviews(store: SQLiteStore) -> SQLiteReviewStore:
    return SQLiteReviewStore(store)


@pytest.fixture
async def cafe(
    manager: DialogManager, queue: GenerationQueue, store: SQLiteStore, reviews: SQLiteReviewStore
) -> Artifact:
    artifact = await made_artifact(manager, queue, store, "k", "Blue Harbor Café")
    await approve(reviews, artifact.id, "alice")
    return artifact


def _mailer(
    reviews: SQLiteReviewStore, phrases: Phrases, port: int, security: str = "none"
) -> Mailer:
    settings = MailSettings("127.0.0.1", port, security, "", "", SENDER, timeout=5.0)
    return Mailer(reviews, settings, phrases, base_url=BASE_URL, language="ja")


async def test_a_link_mail_holds_the_public_link_in_the_users_language(
    smtp_server: tuple[Inbox, int], reviews: SQLiteReviewStore, phrases: Phrases,
    cafe: Artifact,
) -> None:  # fmt: skip
    inbox, port = smtp_server
    record = await _mailer(reviews, phrases, port).send(
        cafe.id, f"  {VISITOR} ", as_link=True, by="alice", language="en"
    )
    assert (record.status, record.as_link, record.by) == ("sent", True, "alice")
    [(envelope, message)] = inbox.messages
    assert (envelope.mail_from, envelope.rcpt_tos) == (SENDER, [VISITOR])
    assert (message["From"], message["To"]) == (SENDER, VISITOR)
    title = cafe.manifest["title"]
    assert message["Subject"] == f"{title}, from the facility assistant"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert cafe.token and f"{BASE_URL}/p/{cafe.token}/" in text and "Hello," in text
    assert not list(message.iter_attachments())


async def test_an_attachment_mail_holds_the_zip_in_japanese(
    smtp_server: tuple[Inbox, int], reviews: SQLiteReviewStore, phrases: Phrases,
    cafe: Artifact,
) -> None:  # fmt: skip
    inbox, port = smtp_server
    await _mailer(reviews, phrases, port).send(
        cafe.id, VISITOR, as_link=False, by="bob", language="ja"
    )
    [(_, message)] = inbox.messages
    assert message["Subject"] == f"{cafe.manifest['title']}（施設アシスタントより）"
    body = message.get_body(("plain",))
    assert body is not None and "blue-harbor-cafe.zip" in body.get_content()
    assert "施設アシスタント" in body.get_content() and cafe.token not in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "blue-harbor-cafe.zip"
    assert attachment.get_content_type() == "application/zip"
    data = attachment.get_content()
    assert data == Path(cafe.zip_path).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "blue-harbor-cafe/index.html" in archive.namelist()


async def test_only_an_approved_artifact_is_sent(
    smtp_server: tuple[Inbox, int], reviews: SQLiteReviewStore, phrases: Phrases,
    manager: DialogManager, queue: GenerationQueue, store: SQLiteStore,
) -> None:  # fmt: skip
    inbox, port = smtp_server
    pending = await made_artifact(manager, queue, store, "k3", "Green Café")
    with pytest.raises(ArtifactActionError) as raised:
        await _mailer(reviews, phrases, port).send(pending.id, VISITOR, as_link=True, by="x")
    assert raised.value.code == "not_approved" and inbox.messages == []


@pytest.mark.parametrize(
    "address",
    ["", "hanako", "hanako@", "@example.org", "hanako@example", "two@example.org, x@y.org",
     "a@example.org\r\nBcc: victim@example.org", "a b@example.org", "a..b@example.org",
     "<script>@example.org"],
)  # fmt: skip
async def test_a_bad_address_is_refused_in_words_before_anything_is_sent(
    smtp_server: tuple[Inbox, int], reviews: SQLiteReviewStore, phrases: Phrases,
    cafe: Artifact, address: str,
) -> None:  # fmt: skip
    inbox, port = smtp_server
    with pytest.raises(ArtifactActionError) as raised:
        await _mailer(reviews, phrases, port).send(cafe.id, address, as_link=True, by="alice")
    assert raised.value.code == "address_invalid" and inbox.messages == []
    assert say_error(phrases, "en", raised.value).startswith("That is not an e-mail address.")
    assert say_error(phrases, "ja", raised.value).startswith("メールアドレスになっていません。")
    assert await reviews.sends(cafe.id) == []


def test_a_plain_address_is_accepted() -> None:
    assert (
        checked_address(" Hanako.Y+kiosk@mail.example.co.jp ")
        == "Hanako.Y+kiosk@mail.example.co.jp"
    )


async def test_a_server_that_is_down_is_said_in_words_and_recorded(
    reviews: SQLiteReviewStore, phrases: Phrases, cafe: Artifact,
) -> None:  # fmt: skip
    with socket.socket() as sock:  # a port nothing listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ArtifactActionError) as raised:
        await _mailer(reviews, phrases, port).send(cafe.id, VISITOR, as_link=True, by="alice")
    assert raised.value.code == "mail_unreachable"
    assert "cannot be reached" in say_error(phrases, "en", raised.value)
    assert "つながらない" in say_error(phrases, "ja", raised.value)
    [record] = await reviews.sends(cafe.id)
    assert (record.status, record.code) == ("failed", "mail_unreachable")


async def test_a_refused_recipient_and_a_missing_starttls_are_errors_not_silence(
    smtp_server: tuple[Inbox, int], reviews: SQLiteReviewStore, phrases: Phrases,
    cafe: Artifact,
) -> None:  # fmt: skip
    inbox, port = smtp_server
    with pytest.raises(ArtifactActionError) as refused:
        await _mailer(reviews, phrases, port).send(
            cafe.id, "refused@example.org", as_link=True, by="alice"
        )
    assert refused.value.code == "mail_refused"
    # STARTTLS asked for, and this server offers none: nothing goes out in the clear.
    with pytest.raises(ArtifactActionError) as plain:
        await _mailer(reviews, phrases, port, "starttls").send(
            cafe.id, VISITOR, as_link=True, by="alice"
        )
    assert plain.value.code == "mail_failed"
    assert inbox.messages == []
    assert [r.code for r in await reviews.sends(cafe.id)] == ["mail_refused", "mail_failed"]


async def test_mail_off_until_configured(
    reviews: SQLiteReviewStore, phrases: Phrases, cafe: Artifact, tmp_path: Path
) -> None:
    settings = MailSettings.from_settings(load_settings(environ={}, data_dir=str(tmp_path)))
    assert settings.host == "" and settings.security == "starttls" and settings.port == 587
    mailer = Mailer(reviews, settings, phrases, base_url=BASE_URL)
    with pytest.raises(ArtifactActionError) as raised:
        await mailer.send(cafe.id, VISITOR, as_link=True, by="alice")
    assert raised.value.code == "mail_not_configured"
    with pytest.raises(ConfigError, match="smtp_security: 'ssl' is not allowed"):
        load_settings(environ={}, data_dir=str(tmp_path), smtp_security="ssl")


async def test_the_address_and_the_password_are_kept_nowhere(
    smtp_server: tuple[Inbox, int], reviews: SQLiteReviewStore, phrases: Phrases,
    cafe: Artifact, store: SQLiteStore, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    inbox, port = smtp_server
    caplog.set_level(logging.DEBUG)
    settings = MailSettings("127.0.0.1", port, "none", "", PASSWORD, SENDER, timeout=5.0)
    assert PASSWORD not in repr(settings)
    mailer = Mailer(reviews, settings, phrases, base_url=BASE_URL)
    await mailer.send(cafe.id, VISITOR, as_link=True, by="alice")
    with pytest.raises(ArtifactActionError):
        await mailer.send(cafe.id, "refused@example.org", as_link=False, by="alice")
    assert len(inbox.messages) == 1
    [sent, failed] = await reviews.sends(cafe.id)
    assert (sent.status, failed.status, failed.as_link) == ("sent", "failed", False)
    await store.run(lambda: store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
    stored = b"".join(
        path.read_bytes() for path in Path(store.path).parent.glob(Path(store.path).name + "*")
    )
    assert VISITOR.encode() not in stored and b"refused@example.org" not in stored
    # Our service's log lines (aiosmtpd's "mail.log" is the test's server, not the service).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert "sending an artifact by e-mail failed: mail_refused" in ours
    assert VISITOR not in ours and "refused@example.org" not in ours and PASSWORD not in ours


async def test_a_title_with_line_breaks_cannot_add_a_header(
    smtp_server: tuple[Inbox, int], reviews: SQLiteReviewStore, phrases: Phrases,
    cafe: Artifact, store: SQLiteStore,
) -> None:  # fmt: skip
    inbox, port = smtp_server
    hostile = dataclasses.replace(
        cafe,
        id="hostile",
        series="hostile",
        token="hostile-token-0123456789",
        manifest={**cafe.manifest, "title": "Café\r\nBcc: victim@example.org"},
    )

    def insert() -> None:
        with store.db.conn:
            artifact_rows.insert(store.db.conn, hostile)

    await store.run(insert)
    await approve(reviews, hostile.id, "alice")
    await _mailer(reviews, phrases, port).send(hostile.id, VISITOR, as_link=True, by="alice")
    [(envelope, message)] = inbox.messages
    assert envelope.rcpt_tos == [VISITOR] and message["Bcc"] is None
    assert message["Subject"] == "Café Bcc: victim@example.org, from the facility assistant"


async def test_the_services_desk_approves_publishes_and_mails_the_right_link(
    smtp_server: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, port = smtp_server
    settings = load_settings(
        environ={"ASSISTANT_LLM_BACKEND": "none", "ASSISTANT_WARM_UP": "false"},
        data_dir=str(tmp_path / "data"), public_base_url=BASE_URL, smtp_host="127.0.0.1",
        smtp_port=port, smtp_security="none", smtp_from=SENDER, smtp_password=PASSWORD,
    )  # fmt: skip
    assert settings.site_path == tmp_path / "data" / "site"
    assert PASSWORD not in repr(settings)
    services = Services.build(settings)
    await services.store.open()
    try:
        artifact = await made_artifact(
            services.manager, services.queue, services.store, "desk", "Harbor Books"
        )
        desk = services.artifact_desk()
        await desk.approve(artifact.id, "alice")
        published = await desk.publish(artifact.id, "alice")
        app = init_app(services.store, services.jobs, site_dir=settings.site_path)
        async with TestClient(TestServer(app)) as client:
            response = await client.get(published.url_path)
            assert response.status == 200
            assert await response.read() == (Path(artifact.folder) / "index.html").read_bytes()
        record = await desk.send(artifact.id, VISITOR, as_link=True, by="alice")
        assert record.status == "sent"
    finally:
        await services.store.close()
    [(envelope, message)] = inbox.messages
    body = message.get_body(("plain",))
    assert envelope.rcpt_tos == [VISITOR] and body is not None
    assert f"{BASE_URL}/p/{artifact.token}/" in body.get_content()
