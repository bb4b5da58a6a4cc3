"""The composition root: builds the store, the dialog, the queue and the generators.

Only this module and ``cli`` may import ``channels`` and ``generators``; everything else in
``assistant`` sees them through the ports.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.compose_jobs import checked_jobs, hold_started_versions, load_catalog
from assistant.compose_models import job_chooser, language_model
from assistant.compose_store import store_for
from assistant.compose_warm_up import WarmUpParts
from assistant.config import Settings
from assistant.dialog.auto import DescriptionFiller
from assistant.dialog.edit_reader import EditReader
from assistant.dialog.job_guess import JobGuesser
from assistant.dialog.manager import DialogManager
from assistant.errors import GenerationError
from assistant.extras import MissingExtraError, missing_extra_message
from assistant.generation.celery_queue import ClusterGeneration
from assistant.generation.queue import GenerationQueue
from assistant.jobs.catalog import Job, JobCatalog
from assistant.jobs.phrases import Phrases, load_phrases
from assistant.knowledge.answers import LazyKnowledge
from assistant.knowledge.examples import KnowledgeExamples
from assistant.limits import CodeGuard, SessionLimit
from assistant.llm.model_slot import OneAtATimeModel
from assistant.metrics import ServiceMetrics
from assistant.photos import PhotoStore
from assistant.ports import INTERACTIVE_TIMEOUT_S, LanguageModel
from assistant.private_files import private_folder
from assistant.retention import Janitor, policy_from
from assistant.server import MetricsAccess
from assistant.session import Artifact, GenerationRequest
from assistant.staff.audit import AuditLog
from assistant.staff.desk import ArtifactDesk
from assistant.staff.user_sharing import DeskSharing, share_kinds
from assistant.startup import WarmUp
from assistant.understanding.job_choice import JobChooser
from channels.web.channel import WebChannel
from channels.web.origins import OriginPolicy
from generators.browser import BrowserChecker, find_chromium
from generators.enrich import Enricher, EnrichingGenerator
from generators.registry import build_generators
from generators.sandbox import hide_from_programs
from generators.template import TemplateRenderer

if TYPE_CHECKING:
    from assistant.cluster.redis_parts import RedisCluster
    from assistant.compose_store import AppStore
    from assistant.speech.voice_kit import VoiceKit
    from channels.telegram.bot import TelegramChannel

_LOGGER = logging.getLogger(__name__)


def user_sharing(settings: Settings, desk: ArtifactDesk, store: AppStore) -> DeskSharing:
    """Publishing and sending for users, through the console's desk, audited alike."""
    return DeskSharing(desk, AuditLog(store, clock=store.clock), share_kinds(settings))


def photo_store(settings: Settings) -> PhotoStore:
    """Where pictures from every channel are accepted and kept (issue 15, part U)."""
    return PhotoStore(
        settings.photos_dir,
        max_bytes=int(settings.photo_max_mb * 1_000_000),
        max_edge=settings.photo_max_edge,
    )


@dataclass
class Services(WarmUpParts):
    """Everything a running assistant needs, wired together."""

    settings: Settings
    jobs: JobCatalog
    phrases: Phrases
    store: AppStore
    manager: DialogManager
    queue: GenerationQueue
    browser: BrowserChecker | None
    metrics: ServiceMetrics
    knowledge: LazyKnowledge | None = None
    model: LanguageModel | None = None
    photos: PhotoStore | None = None
    workers: ClusterGeneration | None = None  # with redis_url: builds on Celery workers
    _voice: VoiceKit | None = None
    _web: list[WebChannel] = field(default_factory=list)
    _warm_up: WarmUp | None = None
    _desk: ArtifactDesk | None = None
    cluster: RedisCluster | None = None  # with redis_url: what this instance shares

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Wire the parts; nothing is opened or started yet."""
        renderer = TemplateRenderer()
        jobs = load_catalog(settings, renderer)
        phrases = load_phrases(settings.locales_dir)
        store = store_for(settings)  # SQLite in data_dir, or database_url's PostgreSQL
        chromium = find_chromium()
        browser = BrowserChecker(chromium) if chromium else None
        if browser is None:
            _LOGGER.warning(
                "Chromium not found: browser programs are delivered without a browser check"
            )
        photos = photo_store(settings)
        # One desk per process (its publisher's lock orders publications): the console's, and
        # the dialog's where users may publish or send what they made.
        desk = ArtifactDesk.from_settings(store.reviews(), phrases, settings)
        generators = build_generators(renderer, browser, settings.event_time_zone, photos)
        hide_from_programs(settings.data_dir)  # users' answers and files: not for their code
        metrics = ServiceMetrics(queue_depth=store.depth)  # this service's own registry
        model = language_model(settings, telemetry=metrics)
        cluster = None
        if settings.redis_url:  # several instances: shared locks, change news, leases
            from assistant.cluster.redis_parts import RedisCluster

            cluster = RedisCluster.from_url(settings.redis_url)
        # Interactive calls (a description, a help question) hold the user's turn: they get a
        # shorter bound than generation, which the user watches progress for.
        interactive = min(settings.llm_timeout_s, INTERACTIVE_TIMEOUT_S)
        knowledge = LazyKnowledge(
            settings.data_dir / "knowledge",
            settings.dialogs_dir / "knowledge",
            model,
            settings.ollama_host,
            settings.ollama_embed_model,
            model_timeout=interactive,
        )
        if model is not None:
            # One enrichment at a time, and none waits for it: template deliveries never
            # queue behind the model (assistant/llm/model_slot.py).
            enricher = Enricher(OneAtATimeModel(model), examples=KnowledgeExamples(knowledge))
            generators = {kind: EnrichingGenerator(g, enricher) for kind, g in generators.items()}
        manager = DialogManager(
            jobs=jobs,
            phrases=phrases,
            store=store,
            default_language=settings.language,
            base_url=settings.base_url,
            filler=DescriptionFiller(model, timeout=interactive) if model is not None else None,
            job_guesser=JobGuesser(model, timeout=interactive) if model is not None else None,
            edit_reader=EditReader(model, timeout=interactive) if model is not None else None,
            job_chooser=job_chooser(settings, jobs),
            knowledge=knowledge,
            sharing=user_sharing(settings, desk, store) if share_kinds(settings) else None,
            telemetry=metrics,
            locks=cluster.locks if cluster is not None else None,
            changes=cluster.changes if cluster is not None else None,
        )
        queue = GenerationQueue(
            store=store,
            jobs=jobs,
            generators=generators,
            artifacts_dir=settings.artifacts_dir,
            on_delivered=manager.deliver,
            on_failed=manager.generation_failed,
            workers=settings.workers,
            timeout=settings.generation_timeout,
            link_lifetime=settings.link_expiry_hours * 3600 or None,
            on_progress=manager.progress,
            base_url=settings.base_url,
            telemetry=metrics,
        )
        # Issue 17: with Redis, Celery workers build (`assistant worker`) and this process
        # sends their tasks and hears their outcomes; the in-process queue only makes
        # `assistant generate`'s artifacts then.
        workers = (
            ClusterGeneration(
                settings,
                store,
                on_delivered=manager.deliver,
                on_failed=manager.generation_failed,
                on_progress=manager.progress,
            )  # fmt: skip
            if settings.redis_url
            else None
        )
        manager.on_enqueue = queue.wake if workers is None else workers.wake
        return cls(
            settings,
            jobs,
            phrases,
            store,
            manager,
            queue,
            browser,
            metrics,
            knowledge=knowledge,
            model=model,
            photos=photos,
            _desk=desk,
            workers=workers,
            cluster=cluster,
        )

    def metrics_access(self) -> MetricsAccess:
        """This service's ``/metrics`` and who may read it, for ``init_app`` (issue 17)."""
        return MetricsAccess.of(self.metrics, self.phrases, self.settings)

    # -- issue 12, part D: limits per address and the clean-up ------------------------------

    def code_guard(self) -> CodeGuard:
        """Wrong continuation codes per address, counted in the store."""
        settings = self.settings
        return CodeGuard(
            self.store, soft=settings.wrong_codes_soft, ceiling=settings.wrong_codes_per_day
        )

    def session_limit(self) -> SessionLimit:
        """New sessions per address, counted in the store."""
        settings = self.settings
        return SessionLimit(
            self.store,
            allowed=settings.new_sessions_per_address,
            window=settings.new_sessions_window_s,
        )

    def busy_here(self) -> frozenset[str]:
        """Sessions in use now in this process: in a turn, or shown on an open page."""
        keys = set(self.manager.busy())
        for channel in self._web:
            keys |= channel.hub.open_keys()
        return frozenset(keys)

    async def busy_sessions(self) -> frozenset[str]:
        """Sessions in use now here, and with ``redis_url`` on every other instance too."""
        if self.cluster is not None:
            return await self.cluster.busy.everywhere()
        return self.busy_here()

    def janitor(self) -> Janitor:
        """The retention clean-up over this store and the artifacts folder."""
        settings = self.settings
        return Janitor(
            self.store,
            settings.artifacts_dir,
            policy_from(settings),
            interval=settings.cleanup_interval_hours * 3600,
            busy=self.busy_sessions,
            photos=self.photos,
        )

    def artifact_desk(self) -> ArtifactDesk:
        """Review, publishing and sending of artifacts (issue 16, part B) over this store."""
        if self._desk is None:  # one per process: its publisher's lock orders publications
            self._desk = ArtifactDesk.from_settings(
                self.store.reviews(), self.phrases, self.settings
            )
        return self._desk

    # -- jobs edited in the staff console (issue 16, part J) ----------------------------------

    def reload_jobs(self, in_progress: Mapping[str, Collection[str]]) -> JobCatalog:
        """Load the jobs folder again and swap it into the running service without a
        restart: the manager, its flow and the generation queue hold this one catalog, which
        takes the new jobs in place; sessions in ``in_progress`` keep the job they started."""
        self.jobs.replace(checked_jobs(self.settings.jobs_dir), in_progress)
        # The menu understands the jobs' new titles and examples too (embedded on first use).
        old = self.manager.flow.chooser
        self.manager.flow.chooser = JobChooser(
            self.jobs.ordered(), reading=old.reading, embedder=old.embedder
        )
        return self.jobs

    def voice_kit(self) -> VoiceKit | None:
        """One set of speech engines for every channel of this process (they pool decoders
        and are safe across threads), or None when the speech packages are not installed."""
        if self._voice is None:
            try:
                from assistant.speech.voice_kit import build_voice
            except ImportError as err:
                _LOGGER.warning("%s (%s)", missing_extra_message("voice", "speech"), err)
                return None
            self._voice = build_voice(self.settings)
        return self._voice

    def web_channel(self, *, voice: bool | None = None) -> WebChannel:
        """The web chat, with speech when the speech packages are installed and wanted.

        Engines load on first use, so a server nobody talks to pays only for the imports.
        """
        settings = self.settings
        recognizer_for = vad_factory = synthesize = recognition = None
        kit = self.voice_kit() if (settings.web_voice if voice is None else voice) else None
        if kit is not None:
            from assistant.speech.recognition_pool import RecognitionPool
            from assistant.speech.vad import WebRtcVad

            recognizer_for, vad_factory = kit.recognizer_for, WebRtcVad
            synthesize = kit.synthesis.synthesize
            # Web speech is recognised in worker processes: any client may speak, and an
            # engine that keeps the interpreter lock must not stop everyone else's turns.
            recognition = RecognitionPool(
                settings.recognition_workers, settings.recognition_wait_s, settings=settings
            )
        channel = WebChannel(
            self.manager,
            self.phrases,
            default_language=settings.language,
            base_url=settings.base_url,
            kiosk_id=settings.kiosk_id,
            kiosk_screen_token=settings.kiosk_screen_token,
            recognizer_for=recognizer_for,
            vad_factory=vad_factory,
            synthesize=synthesize,
            code_guard=self.code_guard(),
            session_limit=self.session_limit(),
            audio_burst_s=settings.audio_burst_s,
            audio_address_streams=settings.audio_address_streams,
            max_utterance_s=settings.max_utterance_s,
            recognition=recognition,
            origins=OriginPolicy(settings.public_base_url, settings.host),
            photos=self.photos,
            shared_audio=self.cluster.counter if self.cluster is not None else None,
        )
        self._web.append(channel)
        return channel

    def telegram_channel(self) -> TelegramChannel:
        """The Telegram bot with the speech engines that are installed (voice notes)."""
        try:
            from channels.telegram.bot import TelegramChannel
        except ImportError as err:
            raise MissingExtraError(missing_extra_message("the Telegram bot", "telegram")) from err

        settings = self.settings
        recognizer_for = synthesize = None
        kit = self.voice_kit()
        if kit is not None:
            recognizer_for, synthesize = kit.recognizer_for, kit.synthesis.synthesize
        return TelegramChannel(
            self.manager,
            self.phrases,
            self.store,
            ledger=self.store.telegram_ledger,
            token=settings.telegram_token,
            api_url=settings.telegram_api_url,
            allowed_users=settings.telegram_allowed_users,
            default_language=settings.language,
            recognizer_for=recognizer_for,
            synthesize=synthesize,
            code_guard=self.code_guard(),
            photos=self.photos,
        )

    async def generate_now(
        self, job: Job, answers: dict[str, Any], language: str
    ) -> Artifact | GenerationError:
        """One artifact from given answers, with no dialog (``assistant generate``)."""
        request = GenerationRequest(
            session_key="cli:generate",
            job_id=job.id,
            language=language,
            answers=answers,
            series=secrets.token_hex(8),
            version=1,
        )
        return await self.queue.make_now(request)

    @property
    def language_model(self) -> LanguageModel | None:
        """The one model every session shares (the embedded one offers ``warm()``, which
        start-up calls to load it in the background)."""
        filler = self.manager.filler
        return filler.model if filler is not None else None

    async def start(self) -> None:
        """Open the database, put back the job versions sessions in progress started (before
        the workers resume their builds) and start the generation workers."""
        await self.store.open()
        if self.cluster is not None:
            await self.cluster.start()
            self.cluster.busy.start(self.busy_here)
        await hold_started_versions(self.jobs, self.store.job_versions())
        if self.workers is None:
            await self.queue.start()
        else:  # the workers build; running rows are theirs, never requeued from here
            await asyncio.to_thread(private_folder, self.settings.artifacts_dir)
            await self.workers.start()

    async def stop(self) -> None:
        """Stop the workers and close the database."""
        await self.stop_warm_up()
        await self.manager.close()  # a publishing or sending for a user under way
        await self.queue.stop()
        if self.workers is not None:
            await self.workers.stop()
        if self.browser is not None:
            await self.browser.close()
        await self.store.close()
        if self.cluster is not None:
            await self.cluster.stop()
