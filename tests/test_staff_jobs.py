"""The staff console's jobs screen (issue 16, part J), over the whole service as ``assistant
serve`` wires it: an edit in the browser route changes the next session's question with no
restart while a session already in the job keeps its version; a broken edit is refused with
file, field and reason and nothing changes; history, diff and rollback; only admins edit.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from assistant.compose import Services
from assistant.config import Settings
from assistant.events import Turn
from assistant.staff.audit import AuditAction, AuditLog, AuditQuery
from testing.staff_console import Client, csrf_of, running_console, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")
OLD_PROMPT = "What name goes on the card?"
NEW_PROMPT = "Whose name shall we print on the card?"
EDIT = "/staff/jobs/business_card/edit"
NEW_TITLE_QUESTION = OLD_PROMPT


def copy_dialogs(tmp_path: Path) -> Path:
    """The project's jobs and phrases in a folder of the test's own (edits never touch dialogs/)."""
    folder = tmp_path / "dialogs"
    shutil.copytree(Settings().dialogs_dir, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest_asyncio.fixture
async def console(tmp_path: Path, aiohttp_client: object) -> AsyncIterator[tuple[Client, Services]]:
    async with running_console(tmp_path / "data", dialogs_dir=copy_dialogs(tmp_path)) as (
        app,
        services,
    ):
        client = await aiohttp_client(app)  # type: ignore[operator]
        assert isinstance(client, TestClient)
        yield client, services


async def say(services: Services, key: str, text: str) -> str:
    """One turn typed in a web session; what the assistant said, as one text."""
    replies = await services.manager.handle(Turn(key, text=text, language="en", channel="web"))
    return "\n".join(reply.text for reply in replies)


async def save(client: Client, text: str, note: str = "", status: int = 303) -> str:
    form = {"csrf": await csrf_of(client, EDIT), "text": text, "note": note}
    response = await client.post(EDIT, data=form, allow_redirects=False)
    assert response.status == status, await response.text()
    return response.headers["Location"] if status == 303 else await response.text()


async def test_an_edit_reaches_the_next_session_and_spares_the_one_in_progress(
    console: tuple[Client, Services],
) -> None:
    client, services = console
    await say(services, "web:before", "hello")
    assert OLD_PROMPT in await say(services, "web:before", "business card")
    await sign_in(client, "ana")
    path = services.settings.jobs_dir / "business_card.yaml"
    original = path.read_text(encoding="utf-8")

    await save(client, original.replace(OLD_PROMPT, NEW_PROMPT), note="friendlier name")

    assert NEW_PROMPT in path.read_text(encoding="utf-8")
    await say(services, "web:after", "hello")
    assert NEW_PROMPT in await say(services, "web:after", "business card")
    # The session that started before the edit is asked its question in the old words.
    assert OLD_PROMPT in await say(services, "web:before", "repeat")
    page = await (await client.get("/staff/jobs/business_card?lang=en")).text()
    assert NEW_PROMPT in page and "friendlier name" in page
    saved = await AuditLog(services.store).search(AuditQuery(action=AuditAction.JOB_SAVED))
    assert [(e.who, e.detail["job"], e.detail["version"]) for e in saved] == [
        ("ana", "business_card", 2)
    ]


async def test_a_broken_edit_is_refused_with_file_field_and_reason(
    console: tuple[Client, Services],
) -> None:
    client, services = console
    await sign_in(client, "ana")
    path = services.settings.jobs_dir / "business_card.yaml"
    original = path.read_text(encoding="utf-8")
    broken = original.replace("generator: page", "generator: poster")

    page = await save(client, broken, status=422)

    assert 'role="alert"' in page
    assert re.search(r"business_card\.yaml: generator: [^<]*poster", page), page
    assert "generator: poster" in page  # the text stays in the box
    assert path.read_text(encoding="utf-8") == original
    assert not services.jobs.errors and services.jobs.jobs["business_card"].generator == "page"
    assert not await services.store.job_versions().versions("business_card")
    bad_yaml = await save(client, "id: [unclosed", status=422)
    assert "not valid YAML" in bad_yaml
    assert path.read_text(encoding="utf-8") == original


async def test_history_diff_and_rollback(console: tuple[Client, Services]) -> None:
    client, services = console
    await sign_in(client, "ana")
    path = services.settings.jobs_dir / "business_card.yaml"
    original = path.read_text(encoding="utf-8")
    saved_at = await save(client, original.replace(OLD_PROMPT, NEW_PROMPT), note="new words")
    shown = await (await client.get(saved_at)).text()
    assert re.search(r'role="status"[^>]*>Saved as v2\.', shown), shown

    page = await (await client.get("/staff/jobs/business_card?lang=en&version=2")).text()
    assert ">v1<" in page and ">v2<" in page and "new words" in page
    diff = re.search(r'<pre class="diff"[^>]*>(.*?)</pre>', page, re.S)
    assert diff is not None
    assert f"-      en: &#34;{OLD_PROMPT}&#34;" in diff.group(1)
    assert f"+      en: &#34;{NEW_PROMPT}&#34;" in diff.group(1)

    form = {"csrf": await csrf_of(client, "/staff/jobs/business_card")}
    response = await client.post(
        "/staff/jobs/business_card/rollback/1", data=form, allow_redirects=False
    )
    assert response.status == 303
    assert path.read_text(encoding="utf-8") == original
    assert services.jobs.jobs["business_card"].questions[0].prompt.en == OLD_PROMPT
    page = await (await client.get("/staff/jobs/business_card?lang=en")).text()
    assert ">v3<" in page and "rollback to v1" in page
    query = AuditQuery(action=AuditAction.JOB_ROLLED_BACK)
    rolled = await AuditLog(services.store).search(query)
    assert [(e.who, e.detail["version"]) for e in rolled] == [("ana", 3)]


async def test_only_admins_edit_and_staff_get_403(console: tuple[Client, Services]) -> None:
    client, services = console
    await sign_in(client, "sam")
    assert (await client.get(EDIT)).status == 403
    form = {"csrf": await csrf_of(client, "/staff/"), "text": "id: x"}
    assert (await client.post(EDIT, data=form)).status == 403
    rollback = "/staff/jobs/business_card/rollback/1"
    assert (await client.post(rollback, data={"csrf": form["csrf"]})).status == 403
    listing = await (await client.get("/staff/jobs?lang=en")).text()
    assert "business_card" in listing and "Valid" in listing
    page = await (await client.get("/staff/jobs/business_card?lang=ja")).text()
    assert "名刺にのせる、お名前はなんですか？" in page and OLD_PROMPT in page
    assert "/edit" not in page


async def test_a_new_title_is_understood_at_the_menu_at_once(
    console: tuple[Client, Services],
) -> None:
    client, services = console
    await sign_in(client, "ana")
    path = services.settings.jobs_dir / "business_card.yaml"
    original = path.read_text(encoding="utf-8")
    await save(client, original.replace('en: "Business card"', 'en: "Name plate maker"'))

    await say(services, "web:menu", "hello")
    assert NEW_TITLE_QUESTION in await say(services, "web:menu", "name plate maker")
