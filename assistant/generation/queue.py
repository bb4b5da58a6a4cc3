"""The generation queue: asyncio workers taking confirmed requests from SQLite.

The queue's state lives in the store, not in memory, so a task interrupted by a crash runs
again after restart, and a second process could share the work. Each artifact is written to a
temporary folder and renamed into place, so a crash never leaves half an artifact behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import logging
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from pathlib import Path

from assistant import __version__
from assistant.errors import AssistantError, GenerationError
from assistant.generation.package import write_client_zip
from assistant.jobs.catalog import JobCatalog
from assistant.ports import GenerationQueueStore, GenerationTask, Generator, ReportProgress
from assistant.private_files import FOLDER_MODE, make_private, private_folder
from assistant.session import Artifact, GenerationRequest
from assistant.telemetry import NO_TELEMETRY, Telemetry

_LOGGER = logging.getLogger(__name__)

DeliveryCallback = Callable[[GenerationRequest, Artifact], Awaitable[object]]
FailureCallback = Callable[[GenerationRequest], Awaitable[object]]
ProgressCallback = Callable[[GenerationRequest, str, float | None], Awaitable[object]]
POLL_SECONDS = 2.0
STAGING_GRACE_S = 60.0  # a staging folder this much older than a build may last is a crash's


class _StoredElsewhere(Exception):
    """This build's task was taken over after its lease ran out, and the other worker stored
    its artifact first: nothing of this build is kept."""


PROGRESS_INTERVAL = 1.0  # seconds between two updates of one stage


class GenerationQueue:
    """Runs generators for queued requests and reports each outcome to the dialog."""

    def __init__(
        self,
        *,
        store: GenerationQueueStore,
        jobs: JobCatalog,
        generators: Mapping[str, Generator],
        artifacts_dir: Path,
        on_delivered: DeliveryCallback,
        on_failed: FailureCallback,
        workers: int = 1,
        timeout: float = 120.0,
        link_lifetime: float | None = None,
        on_progress: ProgressCallback | None = None,
        progress_interval: float = PROGRESS_INTERVAL,
        base_url: str = "",
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.generators = generators
        self.artifacts_dir = artifacts_dir
        self.on_delivered = on_delivered
        self.on_failed = on_failed
        self.worker_count = workers
        self.timeout = timeout
        self.link_lifetime = link_lifetime
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        self.base_url = base_url.rstrip("/")  # pages that print their own link need it
        self.telemetry = telemetry  # each task's outcome and build time
        self._wake = asyncio.Event()
        self._told: set[asyncio.Task[object]] = set()
        self._last_told: dict[int | None, asyncio.Task[object]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()  # builds in flight, one per slot
        self._slots = asyncio.Semaphore(workers)

    async def start(self) -> None:
        """Requeue what a crash interrupted and start the dispatcher."""
        await asyncio.to_thread(private_folder, self.artifacts_dir)
        await self.store.requeue_interrupted()
        self._slots = asyncio.Semaphore(self.worker_count)
        self._tasks = [asyncio.create_task(self._dispatch(), name="generation-dispatcher")]
        self._wake.set()

    async def stop(self) -> None:
        """Cancel the dispatcher and the builds; a task cut short stays ``running`` and is
        requeued next start."""
        tasks = [*self._tasks, *self._running]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._running.clear()

    def wake(self) -> None:
        """A request was enqueued: look now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> bool:
        """Process one waiting task, if any (for tools and tests)."""
        task = await self.store.claim_next()
        if task is None:
            return False
        await self._process(task)
        return True

    async def build_claimed(self, task: GenerationTask) -> None:
        """Build a task claimed elsewhere (a Celery worker's claim by id) with this queue's
        generators, storing and reporting it exactly as the in-process workers do."""
        await self._process(task)

    async def make_now(self, request: GenerationRequest) -> Artifact | GenerationError:
        """Make one artifact outside any session (``assistant generate``), recorded as usual."""
        task_id = await self.store.enqueue_running(request)
        request = replace(request, id=task_id)
        started = time.perf_counter()
        try:
            artifact = await self._build(request)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            return await self._record_failure(request, err, started)
        await self.store.finish(task_id, artifact)
        self.telemetry.generation("delivered", "none", time.perf_counter() - started)
        return artifact

    async def _dispatch(self) -> None:
        """Claim a task whenever one of the ``workers`` slots is free and build it in a task
        of its own. One claimer, not one per worker: an enqueue costs one claim, where every
        idle worker used to wake and ask the store (a burst of 2,000 confirms paid for each
        empty answer on the store's one thread)."""
        while True:
            await self._slots.acquire()
            self._wake.clear()
            try:
                task = await self.store.claim_next()
            except BaseException:
                self._slots.release()
                raise
            if task is None:
                self._slots.release()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                continue
            build = asyncio.create_task(self._process(task), name=f"generation-{task.request.id}")
            self._running.add(build)
            build.add_done_callback(self._built)

    def _built(self, build: asyncio.Task[None]) -> None:
        """A build ended: its slot is free; an error the build did not handle is logged."""
        self._running.discard(build)
        self._slots.release()
        if not build.cancelled() and build.exception() is not None:
            _LOGGER.error("generation worker failed", exc_info=build.exception())

    async def _process(self, task: GenerationTask) -> None:
        request = task.request
        assert request.id is not None
        started = time.perf_counter()
        try:
            artifact = await self._build(request, keep_stored=True)
        except _StoredElsewhere:
            self.telemetry.generation("discarded", "none", time.perf_counter() - started)
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:
            await self._record_failure(request, err, started)
            await self._progress_told(request)
            await self.on_failed(request)
            return
        await self._progress_told(request)
        built = time.perf_counter() - started
        if await self.store.finish(request.id, artifact):
            self.telemetry.generation("delivered", "none", built)
            await self.on_delivered(request, artifact)
        else:
            self.telemetry.generation("discarded", "none", built)
            stored = await self.store.artifact(artifact.id)
            if stored is not None and stored.folder == artifact.folder:
                _LOGGER.info("generation %s was stored by another worker first", request.id)
                return  # the folder is that worker's stored artifact: never removed here
            _LOGGER.info("generation %s was cancelled; its artifact is discarded", request.id)
            shutil.rmtree(artifact.folder, ignore_errors=True)

    async def _record_failure(
        self, request: GenerationRequest, err: Exception, started: float
    ) -> GenerationError:
        """Log once with the reason, store it with the task for staff, and count it by its
        code with the time the build took (``started``: ``perf_counter``)."""
        assert request.id is not None
        if isinstance(err, GenerationError):
            error = err
        elif isinstance(err, TimeoutError):
            error = GenerationError(
                f"took longer than {self.timeout:g} s", code="generation_timeout"
            )
        elif isinstance(err, AssistantError):
            error = GenerationError(err.message, code=err.code)
        else:
            error = GenerationError(repr(err))
        _LOGGER.error(
            "generation %s (%s) failed: %s", request.id, request.job_id, error.message,
            exc_info=not isinstance(err, AssistantError | TimeoutError),
        )  # fmt: skip
        self.telemetry.generation("failed", error.code, time.perf_counter() - started)
        await self.store.fail(request.id, error.code, error.message)
        return error

    def _progress(self, request: GenerationRequest) -> ReportProgress | None:
        """A generator's progress, passed on at once for a new stage and then at most once per
        ``progress_interval`` with a new fraction (a fast stream must not flood a chat)."""
        if self.on_progress is None or request.session_key == "cli:generate":
            return None
        callback = self.on_progress
        told: dict[str, tuple[float, float | None]] = {}  # stage → (when, fraction) last told

        def progress(stage: str, fraction: float | None) -> None:
            now = time.monotonic()
            last = told.get(stage)
            if last is not None and (
                fraction is None or fraction == last[1] or now - last[0] < self.progress_interval
            ):
                return
            told[stage] = (now, fraction)
            previous = self._last_told.get(request.id)
            task = asyncio.get_running_loop().create_task(
                self._tell(previous, request, stage, fraction, callback)
            )
            self._last_told[request.id] = task
            self._told.add(task)
            task.add_done_callback(self._told.discard)

        return progress

    @staticmethod
    async def _tell(
        previous: asyncio.Task[object] | None,
        request: GenerationRequest,
        stage: str,
        fraction: float | None,
        callback: ProgressCallback,
    ) -> object:
        """One progress message, sent only after the one before it: tasks alone would let a
        late percentage overtake "checking"."""
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        return await callback(request, stage, fraction)

    async def _progress_told(self, request: GenerationRequest) -> None:
        """Wait for this request's progress messages, so the delivery is always the last word."""
        last = self._last_told.pop(request.id, None)
        if last is not None:
            with contextlib.suppress(Exception):
                await last

    async def _build(self, request: GenerationRequest, *, keep_stored: bool = False) -> Artifact:
        """Build the request into its folder; with ``keep_stored``, raise ``_StoredElsewhere``
        rather than replace the folder of an artifact another worker stored meanwhile."""
        job = self.jobs.find_for_session(request.session_key, request.job_id)
        if job is None:
            raise GenerationError(f"job {request.job_id!r} no longer exists", code="job_unknown")
        generator = self.generators.get(job.generator)
        if generator is None:
            raise GenerationError(f"no generator for {job.generator!r}", code="generator_missing")
        artifact_id = f"{request.series}v{request.version}"
        final = self.artifacts_dir / artifact_id
        # A staging folder of this attempt's own: with several workers (issue 17) a build that
        # outlived its lease may still run beside the one that took the task over.
        staging = self.artifacts_dir / f".staging-{artifact_id}-{secrets.token_hex(4)}"
        await asyncio.to_thread(_fresh_folder, staging, self.timeout)
        # The link is chosen before the build, so a page can carry it (the event poster's QR).
        token = secrets.token_urlsafe(24)
        if self.base_url:
            request = replace(request, link=f"{self.base_url}/p/{token}/")
        started = time.time()
        manifest = {
            "artifact": artifact_id,
            "job": job.id,
            "title": job.title.get(request.language),
            "answers": request.answers,
            **({"look": request.look} if request.look else {}),
            "language": request.language,
            "series": request.series,
            "version": request.version,
            "generator": job.generator,
            "output_language": job.language,
            "template": job.template,
            "service_version": __version__,
        }
        try:
            produced = await asyncio.wait_for(
                generator.generate(job, request, staging, self._progress(request)),
                timeout=self.timeout,
            )
        except BaseException as err:
            self._keep_failed(staging, manifest, started, err)
            raise
        finished = time.time()
        manifest.update(produced.details)
        manifest["files"] = list(produced.files)
        manifest["timings"] = {
            "started": started,
            "finished": finished,
            "seconds": finished - started,
        }
        if keep_stored and await self.store.artifact(artifact_id) is not None:
            # Another worker took the task over after this one's lease ran out, and stored its
            # build: that folder is the artifact its links name; this build is dropped.
            await asyncio.to_thread(shutil.rmtree, staging, True)
            _LOGGER.info("generation %s was stored by another worker first", request.id)
            raise _StoredElsewhere
        await asyncio.to_thread(_publish, staging, final, manifest, produced.files)
        return Artifact(
            id=artifact_id,
            series=request.series,
            version=request.version,
            session_key=request.session_key,
            job_id=job.id,
            folder=str(final),
            files=tuple(produced.files),
            manifest=manifest,
            created=finished,
            token=token,
            expires=finished + self.link_lifetime if self.link_lifetime else None,
        )

    def _keep_failed(
        self, staging: Path, manifest: dict, started: float, error: BaseException
    ) -> None:
        """A failed attempt's files and reasons stay for staff under ``failed/``; never served."""
        if isinstance(error, asyncio.CancelledError) or not staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
            return
        manifest = {
            **manifest,
            "error": {"code": getattr(error, "code", "generation_failed"), "message": str(error)},
            **getattr(error, "details", {}),
            "timings": {"started": started, "finished": time.time()},
        }
        target = self.artifacts_dir / "failed" / f"{manifest['artifact']}-{int(started)}"
        try:
            _write_manifest(staging, manifest)
            target.parent.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
            make_private(staging)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        except OSError:
            _LOGGER.exception("could not keep the failed attempt %s", manifest["artifact"])
            shutil.rmtree(staging, ignore_errors=True)


def _fresh_folder(folder: Path, timeout: float) -> None:
    """An empty staging folder (0700). Staging folders of the same artifact that crashes left
    behind go first: those older than a build may last (a live attempt's is younger)."""
    prefix = folder.name.rsplit("-", 1)[0] + "-"
    too_old = time.time() - timeout - STAGING_GRACE_S
    for other in folder.parent.glob(f"{glob.escape(prefix)}*"):
        with contextlib.suppress(OSError):
            if other.stat().st_mtime < too_old:
                shutil.rmtree(other, ignore_errors=True)
    folder.mkdir(parents=True, mode=FOLDER_MODE)


def _publish(staging: Path, final: Path, manifest: dict, files: tuple[str, ...]) -> None:
    """Manifest, zip, private modes, then one rename makes the artifact appear whole (on a
    worker thread: these are a delivery's file system calls, kept off the event loop)."""
    try:
        write_client_zip(staging, f"{final.name}.zip", files, manifest)  # names the download
        _write_manifest(staging, manifest)
        make_private(staging)  # users' answers and files: the service's alone
        try:
            staging.rename(final)
        except OSError:  # a folder a crash left under the final name: this attempt replaces it
            shutil.rmtree(final, ignore_errors=True)
            staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
