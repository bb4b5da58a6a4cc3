"""Publishing and sending offered to the user after delivery (issue 16), where the facility
allows it: always read back first, then done through the console's desk. The whole service is
composed from its settings; mail goes to a real SMTP server (aiosmtpd) on 127.0.0.1, the
published page is fetched from the service's own ``/site/`` route, and what staff see (the
review, the audit log, the transcript) is read from the real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from assistant.compose import Services
from assistant.config import load_settings
from assistant.errors import ConfigError
from assistant.events import Reply, ReplyKind, Turn
from assistant.review import APPROVED
from assistant.server import init_app
from assistant.staff.audit import AuditLog, AuditQuery
from assistant.understanding.addresses import find_address
from testing.cafe_walk import cafe_walk
from testing.smtp import Inbox

BASE_URL = "http://kiosk.example:8080"
SENDER = "desk@facility.example"
VISITOR = "hanako.visitor@example.org"


async def _services(tmp_path: Path, **settings: Any) -> Services:
    environ = {"ASSISTANT_LLM_BACKEND": "none", "ASSISTANT_WARM_UP": "false"}
    built = Services.build(
        load_settings(
            environ=environ, data_dir=str(tmp_path / "data"), public_base_url=BASE_URL, **settings
        )  # fmt: skip
    )
    await built.store.open()
    return built


class Heard:
    """The web channel's listener: what reached the user without a turn of theirs."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []

    async def __call__(self, key: str, replies: list[Reply]) -> None:
        self.replies.extend(replies)


@pytest.fixture
async def sharing(
    tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> AsyncIterator[tuple[Services, Heard]]:
    _, port = smtp_server
    services = await _services(
        tmp_path, user_publish=True, user_send=True, smtp_host="127.0.0.1", smtp_port=port,
        smtp_security="none", smtp_from=SENDER,
    )  # fmt: skip
    heard = Heard()
    services.manager.add_listener("web", heard)
    try:
        yield services, heard
    finally:
        await services.manager.close()
        await services.store.close()


async def _say(
    services: Services, key: str, text: str, language: str = "en", **turn: Any
) -> list[Reply]:
    return await services.manager.handle(
        Turn(session_key=key, text=text, language=language, channel="web", **turn)
    )


async def _delivered(services: Services, key: str, language: str = "en") -> list[Reply]:
    """A café page made in session ``key``; the replies of its delivery."""
    for text in cafe_walk(language=language):
        await _say(services, key, text, language)
    assert await services.queue.run_once(), "the walk queued a build"
    replies = await services.manager.last_replies(key)
    assert replies[-1].choices, "what next is asked after the delivery"
    return replies


def _texts(replies: list[Reply]) -> str:
    return " ".join(reply.text for reply in replies)


async def _audit(services: Services) -> list[tuple[str, str, str | None]]:
    entries = await AuditLog(services.store).search(AuditQuery())
    return sorted((e.who, e.action, e.session_key) for e in entries)


async def test_what_next_offers_publishing_and_sending_only_where_allowed(
    tmp_path: Path, sharing: tuple[Services, Heard]
) -> None:
    services, _ = sharing
    replies = await _delivered(services, "web:offered")
    labels = [(c.number, c.label) for c in replies[-1].choices]
    # The numbers people know stay: 3 is still "finish".
    assert labels == [(1, "Change something"), (2, "Make another"), (3, "Finish"),
                      (4, "Put it on the web"), (5, "Send by e-mail")]  # fmt: skip
    assert "put it on the facility's web site, or send its link by e-mail" in replies[-1].text

    plain = await _services(tmp_path / "plain")
    try:
        replies = await _delivered(plain, "web:plain")
        assert [c.label for c in replies[-1].choices] == [
            "Change something", "Make another", "Finish",
        ]  # fmt: skip
        assert "web site" not in replies[-1].text
        # Asked for anyway, nothing is published: the words are not understood as a choice.
        answer = await _say(plain, "web:plain", "put it on the web")
        assert answer[0].kind == ReplyKind.PROBLEM
        assert not list((tmp_path / "plain" / "data" / "site").glob("*"))
    finally:
        await plain.store.close()


async def test_publishing_is_read_back_then_served_approved_and_audited(
    sharing: tuple[Services, Heard],
) -> None:
    services, heard = sharing
    await _delivered(services, "web:pub")
    heard.replies.clear()  # the delivery itself reached the page too
    asked = await _say(services, "web:pub", "put it on the web")
    assert "anyone can open it. Shall I?" in asked[-1].text
    assert [c.label for c in asked[-1].choices] == ["yes", "no"]
    assert not heard.replies, "nothing is done on the choice alone"

    going = await _say(services, "web:pub", "yes")
    assert going[0].text == "Putting it on the web site now."
    assert going[-1].text.startswith("What next?") and len(going[-1].choices) == 5
    await services.manager.shares_done()
    [done] = heard.replies
    [link] = done.links
    assert link.kind == "site" and link.url.startswith(f"{BASE_URL}/site/blue-bakery/")
    assert done.text == f"It is on the facility's web site now: {link.url}"
    assert "on the screen" in done.speech and "http" not in done.speech

    session = await services.store.load("web:pub")
    assert session is not None and session.artifact_id and session.pending is None
    artifact = await services.store.artifact(session.artifact_id)
    assert artifact is not None
    app = init_app(services.store, services.jobs, site_dir=services.settings.site_path)
    async with TestClient(TestServer(app)) as client:
        page = await client.get(link.url.removeprefix(BASE_URL))
        assert page.status == 200
        assert await page.read() == (Path(artifact.folder) / "index.html").read_bytes()
    review = await services.artifact_desk().review(artifact.id)
    assert review is not None and (review.status, review.by) == (APPROVED, "user")
    assert await _audit(services) == [
        ("user", "approve", "web:pub"), ("user", "publish", "web:pub"),
    ]  # fmt: skip
    # The result is kept in the session's history, for staff and a returning user.
    assert (await services.manager.last_replies("web:pub"))[-1].links == done.links


async def test_a_no_or_an_unsure_yes_publishes_nothing(sharing: tuple[Services, Heard]) -> None:
    services, heard = sharing
    await _delivered(services, "web:no")
    heard.replies.clear()  # the delivery itself reached the page too
    await _say(services, "web:no", "4")
    # A yes the recogniser was unsure of does not put a page out for anyone to see.
    unsure = await _say(services, "web:no", "yes", confidence=0.3)
    assert "Please say yes or no." in _texts(unsure) and "Shall I?" in _texts(unsure)
    kept = await _say(services, "web:no", "no")
    assert kept[0].text == "All right, I have left it as it is."
    assert [c.label for c in kept[-1].choices][-1] == "Send by e-mail"  # what next, again
    await services.manager.shares_done()
    assert not heard.replies
    assert not list(services.settings.site_path.glob("*"))
    assert await _audit(services) == []


async def test_sending_asks_the_address_reads_it_back_and_keeps_it_nowhere(
    sharing: tuple[Services, Heard], smtp_server: tuple[Inbox, int]
) -> None:
    services, heard = sharing
    inbox, _ = smtp_server
    await _delivered(services, "web:mail", "ja")
    heard.replies.clear()  # the delivery itself reached the page too
    asked = await _say(services, "web:mail", "メールで送って", "ja")
    assert "どのメールアドレス" in asked[-1].text
    wrong = await _say(services, "web:mail", "たなか", "ja")
    assert wrong[0].kind == ReplyKind.PROBLEM and "メールアドレスではない" in wrong[0].text
    read_back = await _say(services, "web:mail", f"{VISITOR} にお願いします", "ja")
    assert f"{VISITOR}に送ります。よろしいですか？" in read_back[-1].text
    # A restart before the yes loses nothing: the read-back waits in the stored session.
    await services.store.close()
    services = Services.build(services.settings)
    await services.store.open()
    services.manager.add_listener("web", heard)
    try:
        going = await _say(services, "web:mail", "はい", "ja")
        assert going[0].text == "いま送っています。" and going[-1].text.startswith(
            "次はどうしますか"
        )
        await services.manager.shares_done()
        assert [r.text for r in heard.replies] == ["リンクをのせたメールを送りました。"]
        await _sent_and_kept_nowhere(services, inbox)
    finally:
        await services.store.close()


async def _sent_and_kept_nowhere(services: Services, inbox: Inbox) -> None:

    [(envelope, message)] = inbox.messages
    session = await services.store.load("web:mail")
    assert session is not None and session.artifact_id and session.pending is None
    artifact = await services.store.artifact(session.artifact_id)
    assert artifact is not None and artifact.token
    body = message.get_body(("plain",))
    assert envelope.rcpt_tos == [VISITOR] and body is not None
    assert f"{BASE_URL}/p/{artifact.token}/" in body.get_content()
    assert "施設アシスタント" in message["Subject"]
    assert await _audit(services) == [
        ("user", "approve", "web:mail"), ("user", "send", "web:mail"),
    ]  # fmt: skip

    # Staff read the transcript: the address is in no turn, reply, session or audit row.
    history = json.dumps(await services.store.history("web:mail"), ensure_ascii=False)
    assert VISITOR not in history and "***" in history
    assert VISITOR not in _every_row(services.store.path)


def _every_row(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        return json.dumps(
            [
                list(row)
                for (t,) in list(tables)
                for row in connection.execute(f'SELECT * FROM "{t}"')
            ],
            ensure_ascii=False,
            default=str,
        )


async def test_a_mail_server_that_is_down_is_said_in_words(
    tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> None:
    _, port = smtp_server
    services = await _services(tmp_path, user_send=True, smtp_host="127.0.0.1", smtp_port=1,
                               smtp_security="none", smtp_from=SENDER)  # fmt: skip
    heard = Heard()
    services.manager.add_listener("web", heard)
    try:
        await _delivered(services, "web:down")
        heard.replies.clear()  # the delivery itself reached the page too
        await _say(services, "web:down", "send by e-mail")
        await _say(services, "web:down", "jiro at harbor dot example")
        await _say(services, "web:down", "yes")
        await services.manager.shares_done()
        [failed] = heard.replies
        assert failed.kind == ReplyKind.PROBLEM
        assert failed.text.startswith("The e-mail could not be sent: the mail server did not")
        entries = await AuditLog(services.store).search(AuditQuery(action="send"))
        assert [e.detail for e in entries] == [{"how": "link", "status": "mail_unreachable"}]
        # Said aloud, the words that gave the address are kept masked whole.
        history = json.dumps(await services.store.history("web:down"), ensure_ascii=False)
        assert "jiro" not in history and "***" in history
    finally:
        await services.manager.close()
        await services.store.close()


async def test_a_version_staff_sent_back_is_not_published_by_the_users_yes(
    sharing: tuple[Services, Heard],
) -> None:
    services, heard = sharing
    await _delivered(services, "web:back")
    heard.replies.clear()  # the delivery itself reached the page too
    session = await services.store.load("web:back")
    assert session is not None and session.artifact_id
    await services.artifact_desk().send_back(session.artifact_id, "Please add prices", "sam")
    await _say(services, "web:back", "publish")
    await _say(services, "web:back", "yes")
    await services.manager.shares_done()
    assert heard.replies[-1].text.startswith("Staff asked for a change first")
    assert not list(services.settings.site_path.glob("*"))


def test_sending_without_a_mail_server_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="user_send: .* set smtp_host and smtp_from"):
        load_settings(environ={}, data_dir=str(tmp_path), user_send=True)


@pytest.mark.parametrize(
    ("heard", "address"),
    [
        ("hanako.visitor@example.org", "hanako.visitor@example.org"),
        ("Send it to Taro.Y@Example.COM please", "taro.y@example.com"),
        ("My address is Kenji at gmail.com", "kenji@gmail.com"),
        ("taro at example dot com", "taro@example.com"),
        ("my-name at mail dot example dot jp.", "my-name@mail.example.jp"),
        ("taro アットマーク example ドット co ドット jp", "taro@example.co.jp"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "taro@example.com"),
        ("a@b.example and c@d.example", None),
        ("たなか", None),
        ("taro at example", None),
    ],
)
def test_an_address_typed_or_said(heard: str, address: str | None) -> None:
    assert find_address(heard) == address
