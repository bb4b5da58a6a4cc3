"""The console's live sessions and live help (issue 16, part S), with the whole service served
as ``assistant serve`` wires it and a real web chat on its websocket: staff see the session,
send it a message, answer for the user, hand it back; every act is in the audit log; a viewer
watches but cannot act."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from assistant.compose import Services
from assistant.staff.audit import AuditLog, AuditQuery
from testing.staff_console import csrf_of, running_console, sign_in
from tests.test_web_socket import Page, open_page

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Coroutine[Any, Any, Client]]
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")
Console = tuple[Services, Client, Client]  # the service, the user's browser, the staff's


@pytest.fixture
async def console(tmp_path: Path, aiohttp_client: MakeClient) -> AsyncIterator[Console]:
    async with running_console(tmp_path / "data") as (app, services):
        user = await aiohttp_client(app)
        # The staff member's own browser on the same server, with its own cookies.
        async with TestClient(cast(TestServer, user.server)) as staff:
            yield services, user, staff
            # The user's page leaves first: the server's close waited ~45 s for its socket,
            # which nobody read to answer the closing handshake.
            await user.close()


async def _at_topic(user: Client) -> tuple[Page, str]:
    """A web chat user in the quiz, waiting at the question "topic"."""
    page, summary = await open_page(user, language="en")
    for text in ("4", "Animal quiz"):
        await page.say(text)
    return page, summary["key"]


async def _act(staff: Client, key: str, act: str, text: str = "") -> Any:
    path = f"/staff/sessions/{quote(key, safe='')}"
    form = {"csrf": await csrf_of(staff, "/staff/"), "text": text}
    return await staff.post(f"{path}/{act}?lang=en", data=form, allow_redirects=False)


async def test_staff_see_the_session_and_help_it_through_the_web_chat(console: Console) -> None:
    services, user, staff = console
    page, key = await _at_topic(user)
    await sign_in(staff, "sam")
    listed = await staff.get("/staff/sessions?lang=en")
    assert listed.status == 200
    body = await listed.text()
    assert key in body and "Quiz game" in body and "topic" in body
    japanese = await (await staff.get("/staff/sessions?lang=ja")).text()
    assert "進行中のセッション" in japanese and "いまの質問" in japanese
    data = await (await staff.get("/staff/sessions", headers={"Accept": "application/json"})).json()
    assert [row["key"] for row in data["sessions"]] == [key]

    sent = await _act(staff, key, "message", "Pick <b>1</b> for animals")
    assert sent.status == 303 and "done=message" in sent.headers["Location"]
    heard = await page.replies()
    assert [r["text"] for r in heard] == ["From staff: Pick <b>1</b> for animals"]

    answered = await _act(staff, key, "answer", "1")
    assert answered.status == 303
    assert (await page.replies())[-1]["question_id"] == "question_count"

    back = await _act(staff, key, "hand-back")
    assert back.status == 303
    assert [r["text"] for r in await page.replies()] == ["You can carry on."]
    assert (await page.say("5"))[-1]["question_id"] == "show_answer"  # the user carries on

    transcript = await (await staff.get(f"/staff/sessions/{quote(key, safe='')}?lang=en")).text()
    assert "Staff (sam): message" in transcript
    assert "Entered by staff (sam) for the user" in transcript
    assert "From staff: Pick &lt;b&gt;1&lt;/b&gt; for animals" in transcript  # text, not markup
    entries = await AuditLog(services.store).search(AuditQuery(session_key=key))
    assert sorted(e.action for e in entries) == ["answer_for_user", "hand_back", "staff_message"]
    assert {e.who for e in entries} == {"sam"}


async def test_a_bad_answer_is_refused_and_a_viewer_cannot_act(console: Console) -> None:
    services, user, staff = console
    page, key = await _at_topic(user)
    await sign_in(staff, "sam")
    refused = await _act(staff, key, "answer", "banana")
    assert refused.status == 422
    sentence = "Please type one of the choices, or its number, or press one."
    assert sentence in await refused.text()  # the sentence the user got, shown to staff
    assert (await page.replies())[0]["text"] == sentence
    session = await services.manager.session(key)
    assert session is not None and session.state.value == "ask"  # still at "topic"

    empty = await _act(staff, key, "message", "   ")
    assert empty.status == 422 and "Please write something first." in await empty.text()
    long = await _act(staff, key, "message", "x" * 501)
    assert long.status == 422 and "at most 500 characters" in await long.text()
    gone = await _act(staff, "web:nobody", "hand-back")
    assert gone.status == 404

    turns = await (
        await staff.get(
            f"/staff/sessions/{quote(key, safe='')}", headers={"Accept": "application/json"}
        )
    ).json()
    assert turns["turns"][-1]["said"] == "banana" and turns["turns"][-1]["by_staff"]

    await sign_in(staff, "vic")  # a viewer watches ...
    watched = await staff.get(f"/staff/sessions/{quote(key, safe='')}?lang=en")
    assert watched.status == 200 and "Help this person" not in await watched.text()
    for act in ("message", "answer", "hand-back"):  # ... and cannot act
        assert (await _act(staff, key, act, "1")).status == 403, act
    entries = await AuditLog(services.store).search(AuditQuery(session_key=key))
    assert [(e.action, e.who, e.detail.get("refused")) for e in entries] == [
        ("answer_for_user", "sam", True)
    ]


JSON = {"Accept": "application/json"}


async def test_the_list_and_the_transcript_say_who_is_helping_until_the_hand_back(
    console: Console,
) -> None:
    _, user, staff = console
    _, key = await _at_topic(user)
    path = f"/staff/sessions/{quote(key, safe='')}"

    async def shown(lang: str = "en") -> tuple[str, str]:
        listed = await (await staff.get(f"/staff/sessions?lang={lang}", headers=JSON)).json()
        one = await (await staff.get(f"{path}?lang={lang}", headers=JSON)).json()
        return listed["sessions"][0]["helping"], one["helping"]

    await sign_in(staff, "sam")
    assert await shown() == ("", "")
    assert (await _act(staff, key, "message", "Pick 1 for animals")).status == 303
    assert await shown() == ("Helping: sam", "Helping: sam")
    assert await shown("ja") == ("対応中：sam", "対応中：sam")
    for page_path in ("/staff/sessions?lang=en", f"{path}?lang=en"):  # the pages without script
        assert "Helping: sam" in await (await staff.get(page_path)).text(), page_path

    await sign_in(staff, "ana")  # a second member of staff takes over
    assert (await _act(staff, key, "answer", "1")).status == 303
    assert await shown() == ("Helping: ana", "Helping: ana")

    assert (await _act(staff, key, "hand-back")).status == 303
    assert await shown() == ("", "")
    page = await (await staff.get(f"{path}?lang=en")).text()
    assert "Helping:" not in page


async def test_the_transcript_names_each_state_in_the_pages_language(console: Console) -> None:
    _, user, staff = console
    _, key = await _at_topic(user)
    path = f"/staff/sessions/{quote(key, safe='')}"
    await sign_in(staff, "vic")  # watching is enough
    english = await (await staff.get(f"{path}?lang=en", headers=JSON)).json()
    assert [row["state"] for row in english["turns"]] == [
        "Choosing what to make", "Answering a question", "Answering a question",
    ]  # fmt: skip
    assert english["state"] == "ask"  # the JSON keeps the state's own name for scripts
    assert "State: Answering a question." in english["summary"]
    japanese = await (await staff.get(f"{path}?lang=ja", headers=JSON)).json()
    assert [row["state"] for row in japanese["turns"]] == [
        "作るものを選んでいる", "質問に答えている", "質問に答えている",
    ]  # fmt: skip
    page = await (await staff.get(f"{path}?lang=ja")).text()
    assert "状態：質問に答えている。" in page and "<td>ask</td>" not in page
