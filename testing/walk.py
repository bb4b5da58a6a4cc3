"""Helpers that walk a job through the dialog manager the way a user would."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from assistant.dialog.auto import DescriptionFiller
from assistant.dialog.edit_reader import EditReader
from assistant.dialog.job_guess import JobGuesser
from assistant.dialog.manager import DialogManager
from assistant.events import Reply, Turn
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import JobCatalog, Question
from assistant.jobs.phrases import Phrases
from assistant.ports import KnowledgeAnswerer, SessionStore
from assistant.session import Artifact

HEX = re.compile(r"#[0-9a-f]{6}")

# A photo id as a channel hands it over (issue 15): the walk sends it before the alt text.
WALK_PHOTO_ID = "WalkPhotoId0123456789abc"

# Wednesday 25 November 2026, 10:00 local time: dates in answers are relative to this.
FIXED_NOW = datetime.datetime(2026, 11, 25, 10, 0).timestamp()


def english_manager(
    catalog: JobCatalog,
    phrases: Phrases,
    store: SessionStore,
    *,
    filler: DescriptionFiller | None = None,
    knowledge: KnowledgeAnswerer | None = None,
    job_guesser: JobGuesser | None = None,
    edit_reader: EditReader | None = None,
) -> DialogManager:
    """A manager over ``store`` that greets in English at ``FIXED_NOW``, with the model-backed
    parts a test chooses: the tests of auto mode, help answers and the job guess differ only
    in those, so they build the rest in one place."""
    return DialogManager(
        jobs=catalog,
        phrases=phrases,
        store=store,
        default_language="en",
        clock=lambda: FIXED_NOW,
        filler=filler,
        knowledge=knowledge,
        job_guesser=job_guesser,
        edit_reader=edit_reader,
    )


async def say(
    manager: DialogManager, text: str, language: str = "en", key: str = "u"
) -> list[Reply]:
    """One turn of session ``key`` typed in ``language``; the manager's replies."""
    return await manager.handle(Turn(key, text=text, language=language, channel="test"))


def good_answer(question: Question, language: str) -> tuple[str, object]:
    """An utterance a user might give, and the value it must be stored as."""
    ja = language == "ja"
    kind = question.type
    if kind == "text" and question.pattern:  # the business card's e-mail and phone (issue 15)
        sample = "hana@example.com" if "@" in question.pattern else "012 345 6789"
        assert re.fullmatch(question.pattern, sample), (question.id, question.pattern)
        return (sample, sample)
    if kind == "text":
        return ("ブルーベーカリー", "ブルーベーカリー") if ja else ("Blue Bakery", "Blue Bakery")
    if kind == "list":
        return (
            ("コーヒー、ケーキ", ["コーヒー", "ケーキ"])
            if ja
            else ("coffee, cake", ["coffee", "cake"])
        )
    if kind == "number":
        low = int(question.min if question.min is not None else 1)
        value = low + 1 if question.max is None or low + 1 <= question.max else low
        return (
            str(value).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
            if ja
            else str(value),
            value,
        )
    if kind == "choice":
        last = question.choices[-1]
        return (last.label.get(language), last.id)
    if kind == "yesno":
        return ("はい", True) if ja else ("yes", True)
    if kind == "color":
        return ("＃３３６６９９", "#336699") if ja else ("#336699", "#336699")
    if kind == "date":
        return ("12月24日", "2026-12-24") if ja else ("December 24", "2026-12-24")
    if kind == "time":
        return ("午後3時", "15:00") if ja else ("3 pm", "15:00")
    if kind == "photo":  # the alt text, said after ``Walker.photo(WALK_PHOTO_ID)``
        alt = "青いドアのお店" if ja else "a shop with a blue door"
        return (alt, {"id": WALK_PHOTO_ID, "alt": alt})
    raise AssertionError(kind)


def bad_answer(question: Question, language: str) -> tuple[str, str, dict[str, object]]:
    """An utterance that must be refused, its problem phrase key and the phrase's values."""
    ja = language == "ja"
    kind = question.type
    if kind == "text":
        limit = question.max_length or 200
        return ("あ" * (limit + 1), "problem.too_long", {"max": limit})
    if kind == "list":
        limit = question.max_items or 20
        items = ("、" if ja else ", ").join(f"item{n}" for n in range(limit + 1))
        return (items, "problem.too_many_items", {"max": limit})
    table = {
        "number": (("たくさん", "lots"), "problem.not_a_number"),
        "choice": (("ぞうさんのおうち", "purple elephant"), "problem.not_a_choice"),
        "yesno": (("たぶん", "maybe"), "problem.not_yes_no"),
        "color": (("きらきら", "sparkly"), "problem.not_a_color"),
        "date": (("いつか", "someday"), "problem.not_a_date"),
        "time": (("あとで", "later"), "problem.not_a_time"),
        "photo": (("しゃしん", "a picture"), "problem.photo_expected"),
    }
    (ja_text, en_text), key = table[kind]
    return (ja_text if ja else en_text), key, {}


@dataclass
class Walker:
    """Feeds turns for one session and keeps every reply, including unsolicited ones."""

    manager: DialogManager
    queue: GenerationQueue
    key: str
    language: str
    pushed: list[Reply] = field(default_factory=list)

    def __post_init__(self) -> None:
        async def listen(session_key: str, replies: list[Reply]) -> None:
            if session_key == self.key:
                self.pushed.extend(replies)

        self.manager.add_listener("test", listen)

    async def say(self, text: str | None) -> list[Reply]:
        return await self.manager.handle(
            Turn(session_key=self.key, text=text, language=self.language, channel="test")
        )

    async def photo(self, photo_id: str | None, problem: str | None = None) -> list[Reply]:
        """A picture sent (its id, as the channel stored it), or one the channel refused."""
        return await self.manager.handle(
            Turn(
                session_key=self.key,
                language=self.language,
                channel="test",
                photo=photo_id,
                photo_problem=problem,
            )
        )

    async def artifact(self) -> Artifact:
        """The session's latest delivered artifact, as stored."""
        session = await self.manager.session(self.key)
        assert session is not None and session.artifact_id, "something was delivered"
        artifact = await self.manager.store.artifact(session.artifact_id)
        assert artifact is not None
        return artifact

    async def generate(self) -> list[Reply]:
        self.pushed.clear()
        assert await self.queue.run_once(), "a generation task was queued"
        return list(self.pushed)
