"""Every job, both languages, from welcome to delivered: straight through and with mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT
from assistant.dialog.manager import DialogManager
from assistant.events import ReplyKind, SessionState
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog
from assistant.jobs.conditions import visible_questions
from assistant.jobs.loader import load_jobs
from assistant.jobs.phrases import Phrases
from testing.walk import WALK_PHOTO_ID, Walker, bad_answer, good_answer

JOB_IDS = sorted(load_jobs(PROJECT_ROOT / "dialogs" / "jobs").jobs)
K = ReplyKind
S = SessionState


def _shape(replies: list) -> list[tuple[str, str, str | None]]:
    return [(r.kind.value, r.state.value, r.question_id) for r in replies]


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("job_id", JOB_IDS)
async def test_walk_straight_through(
    job_id: str, language: str, catalog: JobCatalog, phrases: Phrases,
    manager: DialogManager, queue: GenerationQueue,
) -> None:  # fmt: skip
    job = catalog.jobs[job_id]
    walk = Walker(manager, queue, f"walk-{job_id}-{language}", language)
    number = catalog.ordered().index(job) + 1

    replies = await walk.say(None)
    assert _shape(replies) == [("welcome", "choose_job", None), ("menu", "choose_job", None)]
    assert replies[0].text == phrases.say(language, "welcome")
    assert [c.label for c in replies[1].choices] == [
        j.title.get(language) for j in catalog.ordered()
    ]

    replies = await walk.say(str(number))
    first = job.questions[0]
    assert _shape(replies) == [("info", "ask", None), ("question", "ask", first.id)]
    assert replies[0].text == phrases.say(
        language, "job_chosen", title=job.title.get(language),
        count=len(visible_questions(job, {})),  # those asked when every offer is declined
    )  # fmt: skip

    expected: dict[str, object] = {}
    for position, question in enumerate(job.questions):
        utterance, value = good_answer(question, language)
        expected[question.id] = value
        if question.type == "photo":  # issue 15: the picture first, then what is in it
            await walk.photo(WALK_PHOTO_ID)
        replies = await walk.say(utterance)
        following = job.questions[position + 1] if position + 1 < len(job.questions) else None
        assert replies[0].kind == K.INFO, replies[0].text
        session = await manager.session(walk.key)
        spoken_value = manager.writer.format_value(session, question, value)
        assert replies[0].text == phrases.say(language, "kept", value=spoken_value)
        if following is not None:
            assert _shape(replies[1:]) == [("question", "ask", following.id)]
            assert following.prompt.get(language) in replies[1].text
        else:
            assert _shape(replies[1:]) == [("confirm", "confirm", None)]

    session = await manager.session(walk.key)
    assert session.answers == expected
    confirm = replies[-1]
    for question in job.questions:
        assert question.prompt.get(language) in confirm.text

    replies = await walk.say("はい" if language == "ja" else "yes")
    assert _shape(replies) == [("progress", "generating", None)]
    delivered = await walk.generate()
    assert _shape(delivered) == [("delivery", "delivered", None), ("question", "delivered", None)]
    assert delivered[0].speech == phrases.say(
        language, "delivered_speech", title=job.title.get(language)
    )
    artifact = await walk.artifact()
    assert [link.kind for link in delivered[0].links] == ["preview", "download", "qr"]
    assert delivered[0].links[0].url.endswith(f"/p/{artifact.token}/")
    folder = Path(artifact.folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["answers"] == expected and manifest["job"] == job_id
    assert manifest["language"] == language and manifest["version"] == 1
    main_file = folder / manifest["files"][0]
    assert main_file.stat().st_size > 200

    replies = await walk.say("終わる" if language == "ja" else "finish")
    assert _shape(replies) == [("goodbye", "ended", None)]


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("job_id", JOB_IDS)
async def test_walk_with_mistakes(
    job_id: str, language: str, catalog: JobCatalog, phrases: Phrases,
    manager: DialogManager, queue: GenerationQueue,
) -> None:  # fmt: skip
    ja = language == "ja"
    job = catalog.jobs[job_id]
    walk = Walker(manager, queue, f"mistakes-{job_id}-{language}", language)
    await walk.say(None)
    replies = await walk.say("なんでもいい" if ja else "whatever")
    assert _shape(replies) == [("problem", "choose_job", None), ("menu", "choose_job", None)]
    await walk.say(job.title.get(language))  # by name this time
    first, second = job.questions[0], job.questions[1]

    # An invalid answer: one plain sentence, then the same question again.
    utterance, problem_key, params = bad_answer(first, language)
    replies = await walk.say(utterance)
    assert _shape(replies) == [("problem", "ask", None), ("question", "ask", first.id)]
    assert replies[0].text == phrases.say(language, problem_key, **params)

    await walk.say(good_answer(first, language)[0])
    # "help" explains the current question and lists the commands, then asks it again.
    replies = await walk.say("ヘルプ" if ja else "help")
    assert _shape(replies) == [("help", "ask", None), ("question", "ask", second.id)]
    assert second.help is None or second.help.get(language) in replies[0].text
    assert phrases.say(language, "help_general") in replies[0].text
    # "repeat" asks again without changing anything.
    assert _shape(await walk.say("もう一回" if ja else "repeat")) == [
        ("question", "ask", second.id)
    ]
    # "back" goes to the previous question; answering it again moves on.
    assert _shape(await walk.say("戻る" if ja else "back")) == [("question", "ask", first.id)]
    replies = await walk.say(good_answer(first, language)[0])
    assert _shape(replies) == [("info", "ask", None), ("question", "ask", second.id)]

    for question in job.questions[1:]:
        if question.type == "photo":
            await walk.photo(WALK_PHOTO_ID)
        await walk.say(good_answer(question, language)[0])
    assert (await manager.session(walk.key)).state == S.CONFIRM

    # A change at confirm: the number of the answer, the new answer, back to confirm.
    replies = await walk.say("1番" if ja else "number one")
    assert _shape(replies) == [("info", "edit", None), ("question", "edit", first.id)]
    bad, _, _ = bad_answer(first, language)
    assert _shape(await walk.say(bad)) == [
        ("problem", "edit", None),
        ("question", "edit", first.id),
    ]
    replacement = {"text": ("みどり食堂", "Green Diner"), "number": None}.get(first.type)
    new_text = replacement[0 if ja else 1] if replacement else good_answer(first, language)[0]
    replies = await walk.say(new_text)
    assert _shape(replies) == [("info", "confirm", None), ("confirm", "confirm", None)]
    if replacement:
        assert new_text in replies[1].text
        assert (await manager.session(walk.key)).answers[first.id] == new_text

    # "no" at confirm asks which one; "yes" makes it.
    assert _shape(await walk.say("いいえ" if ja else "no")) == [("info", "confirm", None)]
    assert _shape(await walk.say("はい" if ja else "yes")) == [("progress", "generating", None)]
    assert _shape(await walk.say("まだ？" if ja else "is it done?")) == [
        ("progress", "generating", None)
    ]
    delivered = await walk.generate()
    assert delivered[0].kind == K.DELIVERY
