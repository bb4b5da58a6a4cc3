"""The dialog manager: turns in, replies out, one state machine shared by every channel.

It does no I/O of its own: the store, the clock and the listeners that carry unsolicited
replies (delivery) are handed in. Each session has its own lock, so two turns of one session
never interleave while different sessions run side by side. A turn's new state and its history
row are committed before its replies are returned: what the user was told is kept, is kept.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace

from assistant.cluster.ports import SessionChanges
from assistant.dialog import utterances as said
from assistant.dialog.auto import DescriptionFiller
from assistant.dialog.describing import apply_description, is_description
from assistant.dialog.edit_reader import EditReader
from assistant.dialog.flow import MAX_TEXT_LENGTH, DialogFlow, Step
from assistant.dialog.job_guess import JobGuesser, names_job, understand_job
from assistant.dialog.queue_turns import QueueTurns
from assistant.dialog.replies import ReplyWriter
from assistant.dialog.share_turns import MASK, ShareTurns, addresses_held, masked
from assistant.dialog.staff_turns import STAFF_CHANNEL, StaffTurns
from assistant.dialog.unanswered import not_known
from assistant.dialog.wording import INPUT, TYPED_CHANNELS
from assistant.events import Reply, SessionState, Turn
from assistant.jobs.catalog import Job, JobCatalog
from assistant.jobs.phrases import Phrases
from assistant.key_locks import KeyLocking, KeyLocks
from assistant.ports import KnowledgeAnswerer, SessionStore, TurnEffects
from assistant.review import UserSharing
from assistant.safe_text import clean, has_controls, has_surrogates
from assistant.session import Session, TurnRecord
from assistant.telemetry import NO_TELEMETRY, Telemetry, error_code
from assistant.understanding.expectation import Expectation
from assistant.understanding.interpret import match_choice
from assistant.understanding.job_choice import JobChooser

_LOGGER = logging.getLogger(__name__)

ReplyListener = Callable[[str, list[Reply]], Awaitable[None]]
MODEL_CHECK_SECONDS = 30.0
REMEMBERED_REVISIONS = 10_000  # sessions whose stored revision a channel can ask without a read


class DialogManager(QueueTurns, StaffTurns, ShareTurns):
    """Walks each session through welcome, job choice, questions, confirmation and delivery."""

    def __init__(
        self,
        *,
        jobs: JobCatalog,
        phrases: Phrases,
        store: SessionStore,
        default_language: str = "ja",
        clock: Callable[[], float] = time.time,
        on_enqueue: Callable[[], None] | None = None,
        base_url: str = "http://127.0.0.1:8080",
        filler: DescriptionFiller | None = None,
        knowledge: KnowledgeAnswerer | None = None,
        job_guesser: JobGuesser | None = None,
        job_chooser: JobChooser | None = None,
        edit_reader: EditReader | None = None,
        sharing: UserSharing | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
        locks: KeyLocking | None = None,
        changes: SessionChanges | None = None,
    ) -> None:
        self.jobs = jobs
        self.telemetry = telemetry  # turns, their time and errors; channels report through it
        self.store = store
        self.default_language = default_language
        self.clock = clock
        self.on_enqueue = on_enqueue
        # Publishing and sending offered to the user, where the facility allows them.
        self.sharing = sharing
        self._share_tasks = set()
        self.writer = ReplyWriter(phrases, base_url, sharing.kinds if sharing else ())
        # Per process by default; shared by every instance when several serve one database.
        self._locks: KeyLocking = locks if locks is not None else KeyLocks()
        # Told of every committed revision, so pages on other instances follow at once.
        self.changes = changes
        self._listeners: dict[str, ReplyListener] = {}
        self.flow = DialogFlow(
            jobs, self.writer.delivered_question, self.writer.make_words, clock, job_chooser
        )
        self.filler = filler
        self.knowledge = knowledge
        self.job_guesser = job_guesser
        self.edit_reader = edit_reader  # edits after delivery the phrase tables do not know
        self.flow.can_describe = self._can_describe
        self._model_ready = False
        self._model_checked = float("-inf")
        self._saved: OrderedDict[str, int] = OrderedDict()  # key → revision stored last here

    # -- public API -------------------------------------------------------------------------

    def add_listener(self, channel: str, listener: ReplyListener) -> None:
        """Where replies that no turn asked for (delivery, failures) go for ``channel``."""
        self._listeners[channel] = listener

    def remove_listener(self, channel: str) -> None:
        """Stop sending unsolicited replies to ``channel``."""
        self._listeners.pop(channel, None)

    def saved_revision(self, key: str) -> int | None:
        """The revision this process stored last for ``key`` (None: none recently), so a
        channel notes what it showed without reading the session back once per turn."""
        return self._saved.get(key)

    def busy(self) -> frozenset[str]:
        """Sessions in a turn right now: the clean-up never removes them."""
        return self._locks.keys()

    async def handle(
        self, turn: Turn, *, entered_by: str | None = None, announce: bool = True
    ) -> list[Reply]:
        """Apply one turn and return the replies, after the new state is stored.
        ``entered_by`` names the staff member who typed it for the user (the history says so);
        ``announce=False``: the caller tells the other instances (see ``_announce``).
        Every turn is counted by its channel and the state it was taken in, and timed; one
        that fails is counted by its error code."""
        started = time.perf_counter()
        try:
            replies, state = await self._handle(turn, entered_by, announce)
        except Exception as err:
            self.telemetry.error(error_code(err))
            raise
        self.telemetry.turn(turn.channel, state.value, time.perf_counter() - started)
        return replies

    async def _handle(
        self, turn: Turn, entered_by: str | None, announce: bool
    ) -> tuple[list[Reply], SessionState]:
        if turn.text is not None and (has_surrogates(turn.text) or has_controls(turn.text)):
            # The channels clean what they receive; this is the last line before the store,
            # where a lone surrogate would fail the whole turn with UnicodeEncodeError.
            turn = replace(turn, text=clean(turn.text))
        async with self._locks.hold(turn.session_key):
            session = await self._load(turn.session_key, turn.language, turn.channel)
            before = session.state
            session.channel = turn.channel
            if turn.text is not None and turn.channel in TYPED_CHANNELS:
                # A chat's words: spoken ones come with the recogniser's confidence.
                session.preferences[INPUT] = "typed" if turn.confidence is None else "spoken"
            held_before = session.pending
            step = await self._step(session, turn)
            # Decided, now worded: once, in the language and state the turn ended in.
            replies = self.writer.render(session, step.said)
            by = turn.channel if entered_by is None else f"{STAFF_CHANNEL}{entered_by}"
            # An e-mail address given for a sending is kept out of the history: the words
            # that gave it whole ("taro at example dot com" is not the address as written).
            given = addresses_held(session.pending)
            text = MASK if given and given != addresses_held(held_before) else turn.text
            await self._commit(
                session, before, by, text, replies, step.effects, confidence=turn.confidence,
                private=addresses_held(held_before, session.pending), announce=announce,
            )  # fmt: skip
        if step.effects.enqueue is not None and self.on_enqueue is not None:
            self.on_enqueue()
        if step.effects.share is not None and self.sharing is not None:
            self.start_share(step.effects.share)
        return replies, before

    async def _step(self, session: Session, turn: Turn) -> Step:
        """The turn through the flow, or first through the model or the knowledge base when
        it is a description to fill answers from, or a "how do I ..." question."""
        if session.state in (SessionState.WELCOME, SessionState.CHOOSE_JOB, SessionState.ASK):
            await self._check_model()  # hybrid jobs offer a description only when it answers
        text = turn.text or ""
        # A "how do I ..." question first, in every state: while describing, it is a question
        # about the service, not a description of what to make.
        if self.knowledge is not None and self.flow.asks_for_help(session, turn):
            found = await self.knowledge.answer(text, session.language)
            if found is not None:
                return self.flow.knowledge_reply(session, found)
            unknown = not_known(self.flow, session, text)  # "I don't know; staff can help"
            if unknown is not None:
                return unknown
            # at a free-text question the words are an answer after all
        if self.filler is not None and is_description(session, turn, MAX_TEXT_LENGTH):
            assert session.job_id is not None
            today = datetime.date.fromtimestamp(self.clock())
            job = self.jobs.for_session(session.key, session.job_id)
            # The model takes seconds: say so at once, through the channel's listener, so the
            # user is not left in silence while the turn holds the session.
            await self._emit(
                session, self.writer.render(session, [said.info("reading_description")])
            )
            kept = await self.filler.fill(job, text, session.language, today)
            return Step(apply_description(self.flow, session, kept))
        if names_job(self.flow, session, turn):
            # A job in one's own words: readings and meaning off the event loop, then the
            # model if they are unsure ("one moment" is said first: it takes seconds).
            async def one_moment() -> None:
                await self._emit(session, self.writer.render(session, [said.info("guessing_job")]))

            understood = await understand_job(
                self.flow.chooser,
                self.job_guesser,
                text.strip(),
                session.language,
                match_choice(text, self.flow.menu_question, session.language),
                one_moment,
            )
            return self.flow.apply(session, turn, understood=understood)
        reader = self.edit_reader
        if reader is not None and reader.wanted(self.flow, session, turn):
            await self._emit(session, self.writer.render(session, [said.info("reading_edit")]))
            edit = await reader.read_after_delivery(self.flow, session, text.strip())
            return self.flow.apply(session, turn, edit=edit)
        return self.flow.apply(session, turn)

    async def resume(
        self, session_key: str, channel: str, language: str | None = None
    ) -> list[Reply]:
        """Greet a (re)connecting channel: the welcome, or where the session stands."""
        async with self._locks.hold(session_key):
            session = await self._load(session_key, language, channel)
            before = session.state
            session.channel = channel
            if session.state in (SessionState.WELCOME, SessionState.ENDED):
                utterances = self.flow.welcome(session)
            else:
                session.paused = False
                utterances = [said.info("welcome_back"), *await self._prompt_with_artifact(session)]
            replies = self.writer.render(session, utterances)
            await self._commit(session, before, channel, None, replies)
        return replies

    async def end(self, session_key: str, channel: str) -> bool:
        """Mark a session ended, with nothing said (the next person took its kiosk).

        Its answers stay stored; its code stops working; pages that show it are told (they
        watch its revision). False when there was nothing to end.
        """
        async with self._locks.hold(session_key):
            session = await self.store.load(session_key)
            if session is None or session.state == SessionState.ENDED:
                return False
            before = session.state
            effects = TurnEffects(cancel_generation=session.generation_id)
            session.state = SessionState.ENDED
            session.paused = False
            session.generation_id = None
            session.pending = None
            await self._commit(session, before, channel, None, [], effects)
        return True

    async def expectation(self, session_key: str, language: str | None = None) -> Expectation:
        """What a voice channel's recogniser should listen for in this session's next turn."""
        session = await self.store.load(session_key)
        if session is None:
            return self.flow.expectation(
                Session(key=session_key, language=language or self.default_language, channel="")
            )
        return self.flow.expectation(session)

    async def update_preferences(
        self, session_key: str, channel: str, values: dict[str, object], language: str | None = None
    ) -> Session:
        """Merge ``values`` into the session's preferences and store them (validated by caller).

        Preferences live with the session, so a theme or a slower voice follows the user to a
        reloaded page or another device; the change is committed like a turn, with no reply.
        """
        async with self._locks.hold(session_key):
            session = await self._load(session_key, language, channel)
            session.preferences = {**session.preferences, **values}
            await self._commit(session, session.state, channel, None, [])
        return session

    async def last_replies(self, session_key: str) -> list[Reply]:
        """What the session was last told (a screen mirroring a session started elsewhere)."""
        wires = await self.store.last_replies(session_key)
        return [Reply.from_wire(wire) for wire in wires]

    async def session(self, session_key: str) -> Session | None:
        """The stored session (read-only view for channels and tests)."""
        return await self.store.load(session_key)

    # -- the language model ------------------------------------------------------------------

    def _can_describe(self, job: Job) -> bool:
        # Auto and hybrid both ask for a description only while the model answers: a model
        # that is down or missing means the plain dialog, with no detour through a
        # description it cannot read (one that fails later falls back in words).
        return self.filler is not None and job.mode in ("auto", "hybrid") and self._model_ready

    async def _check_model(self) -> None:
        """Whether the model answers, asked at most every ``MODEL_CHECK_SECONDS``."""
        if self.filler is None or time.monotonic() - self._model_checked < MODEL_CHECK_SECONDS:
            return
        self._model_checked = time.monotonic()
        status = await self.filler.model.status()
        self._model_ready = status.reachable and status.has_model

    # -- plumbing ---------------------------------------------------------------------------

    async def _load(self, key: str, language: str | None, channel: str) -> Session:
        session = await self.store.load(key)
        if session is None:
            if language not in ("ja", "en"):
                language = self.default_language
            session = Session(key=key, language=language, channel=channel)
        return session

    async def _commit(
        self,
        session: Session,
        before: SessionState,
        channel: str,
        text: str | None,
        replies: list[Reply],
        effects: TurnEffects | None = None,
        *,
        confidence: float | None = None,
        private: list[str] | None = None,
        announce: bool = True,
    ) -> None:
        """Store the new state and the turn's history row in one transaction; ``confidence``
        is the recogniser's for spoken words (the console charts it per question).
        ``private``: e-mail addresses the history keeps masked. ``announce=False``: the
        caller tells the other instances itself (``_announce``), after its own listener."""
        record = TurnRecord(
            session_key=session.key,
            at=self.clock(),
            channel=channel,
            text=masked(text, private or ()),
            state_before=before.value,
            state_after=session.state.value,
            replies=masked([r.to_wire() for r in replies], private or ()),
            confidence=confidence,
        )
        saved = await self.store.commit_turn(session, record, effects or TurnEffects())
        session.revision = saved.revision
        session.generation_id = saved.generation_id
        self._saved[session.key] = saved.revision
        self._saved.move_to_end(session.key)
        if len(self._saved) > REMEMBERED_REVISIONS:
            self._saved.popitem(last=False)
        if announce:
            await self._announce(session.key)

    async def _announce(self, key: str) -> None:
        """Tell every instance the revision stored here last for ``key``. Replies no turn
        asked for are announced after ``_emit`` has shown them here: heard first, this
        process's pages would be shown them twice, by the news and by the listener."""
        revision = self._saved.get(key)
        if self.changes is not None and revision is not None:
            await self.changes.publish(key, revision)

    async def _emit(self, session: Session, replies: list[Reply]) -> None:
        listener = self._listeners.get(session.channel)
        if listener is None or not replies:
            return
        try:
            await listener(session.key, replies)
        except Exception:  # a broken channel must not break the queue
            _LOGGER.exception(
                "channel %s could not take replies for %s", session.channel, session.key
            )

    async def _prompt_with_artifact(self, session: Session) -> list[said.Utterance]:
        if session.state == SessionState.DELIVERED and session.artifact_id and session.job_id:
            artifact = await self.store.artifact(session.artifact_id)
            job = self.jobs.find_for_session(session.key, session.job_id)
            if artifact is not None and job is not None:
                return [said.Delivery(job, artifact), self.flow.prompt(session)]
        return [self.flow.prompt(session)]
