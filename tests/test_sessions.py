"""Sessions under load and across restarts: nothing lands in the wrong session, nothing is lost."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from assistant.dialog.manager import DialogManager
from assistant.events import SessionState, Turn
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.store.sqlite import SQLiteStore
from generators.registry import build_generators
from generators.template import TemplateRenderer
from testing.cafe_walk import cafe_walk
from tests.conftest import FIXED_NOW


def script_for(n: int) -> list[str]:
    """User n's café answers, up to the read-back."""
    return cafe_walk(
        shop=f"Shop {n}",
        items=f"item{n}a, item{n}b",
        hours=f"{n} to {n + 1}",
        mood=str(1 + n % 4),
        confirm=False,
    )


async def test_200_sessions_at_once_keep_their_own_answers(
    manager: DialogManager, store: SQLiteStore
) -> None:
    async def one_user(n: int) -> None:
        key = f"user-{n}"
        language = "ja" if n % 2 else "en"
        script = script_for(n)
        for text in script:
            await manager.handle(
                Turn(session_key=key, text=text, language=language, channel="load")
            )
            await asyncio.sleep(random.random() / 1000)

    await asyncio.gather(*(one_user(n) for n in range(200)))
    for n in range(200):
        session = await store.load(f"user-{n}")
        assert session.state == SessionState.CONFIRM, (n, session.state)
        assert session.answers["shop_name"] == f"Shop {n}"
        assert session.answers["menu_items"] == [f"item{n}a", f"item{n}b"]
        assert session.answers["opening_hours"] == f"{n} to {n + 1}"
        # Issue 15: three more questions (the offer of more sections, the logo, the photo).
        assert len(await store.history(f"user-{n}")) == len(script_for(n))
    assert await store.count("turns") == 200 * len(script_for(0))


async def test_turns_of_one_session_never_interleave(
    manager: DialogManager, store: SQLiteStore
) -> None:
    key = "burst"
    await manager.handle(Turn(session_key=key, text="", channel="t", language="en"))
    await manager.handle(Turn(session_key=key, text="1", channel="t"))
    # Fifty answers sent at once to one session: each is applied to the state the previous left.
    await asyncio.gather(
        *(manager.handle(Turn(session_key=key, text="repeat", channel="t")) for _ in range(50))
    )
    history = await store.history(key)
    assert len(history) == 52
    session = await store.load(key)
    assert session.revision == 52 and session.state == SessionState.ASK


async def test_restart_continues_at_the_same_question(
    tmp_path: Path, catalog: JobCatalog, phrases: Phrases
) -> None:
    path = tmp_path / "db.sqlite"

    async def manager_on(store: SQLiteStore) -> DialogManager:
        await store.open()
        return DialogManager(jobs=catalog, phrases=phrases, store=store, clock=lambda: FIXED_NOW)

    first_store = SQLiteStore(path)
    first = await manager_on(first_store)
    for text in ["", "3", "Aiko", "reading, music"]:
        await first.handle(Turn(session_key="k", text=text, language="en", channel="web"))
    await first_store.close()

    second_store = SQLiteStore(path)
    second = await manager_on(second_store)
    replies = await second.resume("k", "web")
    job = catalog.ordered()[2]
    assert replies[0].text == phrases.say("en", "welcome_back")
    assert replies[1].question_id == job.questions[2].id
    assert (await second_store.load("k")).answers == {
        job.questions[0].id: "Aiko",
        job.questions[1].id: ["reading", "music"],
    }
    await second_store.close()


async def test_a_task_interrupted_by_a_crash_runs_after_restart(
    tmp_path: Path, catalog: JobCatalog, manager: DialogManager, store: SQLiteStore
) -> None:
    for text in cafe_walk(shop="Blue", items="bread", hours="9-5"):
        await manager.handle(Turn(session_key="k", text=text, language="en", channel="x"))
    claimed = await store.claim_next()  # a worker took it, then the process died
    assert claimed is not None
    delivered: list = []

    async def on_delivered(request, artifact):  # noqa: ANN001, ANN202
        delivered.append(await manager.deliver(request, artifact))

    generators = build_generators(TemplateRenderer(), None)
    restarted = GenerationQueue(
        store=store, jobs=catalog, generators=generators,
        artifacts_dir=tmp_path / "artifacts", on_delivered=on_delivered,
        on_failed=manager.generation_failed,
    )  # fmt: skip
    await restarted.start()
    for _ in range(100):
        if delivered:
            break
        await asyncio.sleep(0.05)
    await restarted.stop()
    assert delivered and delivered[0][0].kind.value == "delivery"
    assert (await store.load("k")).state == SessionState.DELIVERED
