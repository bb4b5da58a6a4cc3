"""The command line: ``assistant [serve|console|jobs|generate|check] ...``.

With no command it serves, because that is what ``scripts/run`` and an operator expect.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from assistant import __version__
from assistant.check.links import links_sentence
from assistant.cli import voice
from assistant.cli.audit import add_audit_parser, run_audit
from assistant.cli.backup import add_backup_parser, run_backup
from assistant.cli.cleanup import add_cleanup_parser, run_cleanup
from assistant.cli.jobs import run_jobs
from assistant.cli.kb import add_kb_parser, run_kb
from assistant.cli.litestream import add_litestream_parser, run_litestream
from assistant.cli.live import add_live_parser, run_live
from assistant.cli.logs import setup_logging
from assistant.cli.restore import add_restore_parser, run_restore
from assistant.cli.signals import stop_requested
from assistant.cli.staff import add_staff_parser, run_staff, staff_app
from assistant.cli.stats import add_stats_parser, run_stats
from assistant.cli.telegram import run_telegram, start_telegram
from assistant.cli.worker import add_worker_parser, run_worker
from assistant.client_address import TrustedProxies
from assistant.compose import Services
from assistant.config import Settings, load_settings
from assistant.errors import AssistantError, GenerationError
from assistant.http_guard import GuardedRunner
from assistant.net import is_loopback
from assistant.server import init_app
from assistant.store.backup.litestream import replication_for_serve
from assistant.understanding.answers import read_answers
from channels.console import ConsoleChannel

_LOGGER = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="facility-assistant: make web pages and programs by talking."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", type=Path, help="TOML settings file (default ./assistant.toml)")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the server (the default)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")

    console = commands.add_parser("console", help="talk to the assistant in this terminal")
    console.add_argument("--lang", choices=("ja", "en"), help="language of a new session")
    console.add_argument("--session", default="local", help="name of the console session to use")
    console.add_argument("--resume", metavar="CODE", help="continue a session by its code")

    generate = commands.add_parser("generate", help="make an artifact from answers, no dialog")
    generate.add_argument("job_id", help="the job to make (see `assistant jobs list`)")
    generate.add_argument(
        "--answers", type=Path, required=True, help="JSON file: question id → answer"
    )
    generate.add_argument(
        "--lang", choices=("ja", "en"), default=None, help="language of the artifact"
    )
    generate.add_argument(
        "--out", type=Path, help="folder for the artifact (default data/artifacts)"
    )

    kiosk = commands.add_parser("kiosk", help="talk to the assistant with a microphone and speaker")
    kiosk.add_argument("--lang", choices=("ja", "en"), help="language of a new session")
    kiosk.add_argument("--input-device", help="microphone: index or name (see `assistant check`)")
    kiosk.add_argument("--output-device", help="speaker: index or name")
    kiosk.add_argument("--session", default="local", help="name of the kiosk session")
    kiosk.add_argument(
        "--realtime-input",
        action="store_true",
        help="read the microphone no faster than real time (for file or pipe capture devices)",
    )
    kiosk.add_argument(
        "--exit-when-done",
        action="store_true",
        help="exit once the session has ended and the goodbye has been spoken",
    )

    say = commands.add_parser("say", help="speak a text with the kiosk's voice")
    say.add_argument("text")
    say.add_argument("--lang", choices=("ja", "en"), default="ja")
    say.add_argument("--out", type=Path, help="write a WAV file instead of playing it")

    transcribe = commands.add_parser("transcribe", help="recognise the speech in a WAV file")
    transcribe.add_argument("wav", type=Path)
    transcribe.add_argument("--lang", choices=("ja", "en", "ko"), default="en")
    transcribe.add_argument("--grammar", help="closed phrases separated by |, e.g. 'yes|no'")

    commands.add_parser(
        "telegram", help="run the Telegram bot alone (long polling; needs telegram_token)"
    )

    add_kb_parser(commands)
    add_cleanup_parser(commands)
    add_live_parser(commands)
    add_audit_parser(commands)  # issue 16, part C
    add_stats_parser(commands)  # issue 16, part C
    add_staff_parser(commands)  # issue 16, part A
    add_backup_parser(commands)  # issue 17: backups
    add_restore_parser(commands)
    add_litestream_parser(commands)
    add_worker_parser(commands)  # issue 17: generation on Celery

    commands.add_parser("check", help="what is installed, what is missing, and how to get it")

    jobs = commands.add_parser("jobs", help="list or check the jobs in dialogs/jobs")
    jobs_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    jobs_commands.add_parser("list", help="the jobs users can choose")
    validate = jobs_commands.add_parser("validate", help="check job files; exit 1 on any error")
    validate.add_argument("directory", nargs="?", type=Path, help="folder of job files")
    return parser


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    return load_settings(args.config, **overrides)


def _freeze_heap() -> None:
    """Keep what is loaded for good out of the garbage collector's full passes."""
    gc.collect()
    gc.freeze()


async def _serve(settings: Settings) -> None:
    replicator = replication_for_serve(settings)  # issue 17: Litestream beside the service
    services = Services.build(settings)
    await services.start()
    if replicator is not None:
        replicator.start()
    janitor = services.janitor()  # the one owner of the daily clean-up (assistant/retention.py)
    app = init_app(
        services.store,
        services.jobs,
        base_url=settings.base_url,
        body_timeout=settings.http_body_timeout_s,
        site_dir=settings.site_path,
        metrics_access=services.metrics_access(),
        trusted_proxies=TrustedProxies(settings.trusted_proxies),
    )
    if settings.trusted_proxies:
        _LOGGER.info(
            "client addresses: X-Forwarded-For believed from %s",
            ", ".join(str(network) for network in settings.trusted_proxies),
        )
    services.web_channel().add_routes(app)
    app.add_subapp("/staff/", staff_app(services.store, settings, services=services))
    bot_task, announce_webhook = await start_telegram(services, app)
    runner = GuardedRunner(
        app,
        header_timeout=settings.http_header_timeout_s,
        keepalive_timeout=settings.http_idle_timeout_s,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    lan = settings.lan_address()
    # On loopback, links name the LAN address (``Settings.base_url``): listen there too.
    lan_site = (
        web.TCPSite(runner, lan, settings.port) if lan and is_loopback(settings.host) else None
    )
    try:
        await site.start()
        if lan_site is not None:
            await lan_site.start()
        janitor.start()
        # The knowledge base, voices and model open now, in the background: the port is
        # already answering, and no user's first question or delivery opens them.
        services.start_warm_up(finally_=_freeze_heap)
        if announce_webhook is not None:
            await announce_webhook()  # only now can Telegram's first post be answered
        # Everything loaded so far lives as long as the server: keep it out of the garbage
        # collector's full passes, which otherwise pause every user's turn as the heap grows.
        _freeze_heap()
        _LOGGER.info(
            "serving on http://%s:%d (public %s)", settings.host, settings.port, settings.base_url
        )
        print(
            f"facility-assistant {__version__} listening on http://{settings.host}:{settings.port}",
            flush=True,
        )
        print(links_sentence(settings), flush=True)
        await stop_requested().wait()
        _LOGGER.info("stopping")
    finally:
        if bot_task is not None:
            bot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await bot_task
        await janitor.stop()
        await runner.cleanup()
        await services.stop()
        if replicator is not None:  # after the database is closed: its last sync ships all
            await replicator.stop()


async def _console(settings: Settings, args: argparse.Namespace) -> int:
    services = Services.build(settings)
    await services.start()
    try:
        key, seat = f"console:{args.session}", True
        if args.resume:
            session = await services.store.find_by_code(args.resume)
            if session is None:
                print(f"No session has the code {args.resume!r}.", file=sys.stderr)
                return 1
            key, seat = session.key, False  # the continued session itself, not a seat
        await ConsoleChannel(services.manager, session_key=key, language=args.lang, seat=seat).run()
    finally:
        await services.stop()
    return 0


async def _generate(settings: Settings, args: argparse.Namespace) -> int:
    services = Services.build(settings)
    job = services.jobs.jobs.get(args.job_id)
    if job is None:
        known = ", ".join(services.jobs.jobs) or "none"
        print(f"error: no job {args.job_id!r}; known jobs: {known}", file=sys.stderr)
        return 2
    language = args.lang or settings.language
    answers = read_answers(args.answers, job, language)
    if args.out is not None:
        services.queue.artifacts_dir = args.out
    await services.start()
    try:
        outcome = await services.generate_now(job, answers, language)
    finally:
        await services.stop()
    if isinstance(outcome, GenerationError):
        print(f"error: {outcome.code}: {outcome.message}", file=sys.stderr)
        return 1
    print(f"folder: {outcome.folder}")
    for link in services.manager.writer.links(outcome, language):
        print(f"{link.kind}: {link.url}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``assistant`` console script."""
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    try:
        if command == "serve":
            settings = _settings(
                args, host=getattr(args, "host", None), port=getattr(args, "port", None)
            )
            setup_logging(settings)
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(_serve(settings))
            return 0
        # `assistant worker --metrics-port N` overrides worker_metrics_port, checked as it is.
        settings = _settings(args, worker_metrics_port=getattr(args, "metrics_port", None))
        if command == "console":
            setup_logging(settings, quiet=True)
            return asyncio.run(_console(settings, args))
        if command == "jobs":
            return run_jobs(settings, args)
        if command == "check":
            from assistant.check.doctor import exit_code, format_findings, run_checks

            findings = run_checks(settings)
            print(format_findings(findings))
            return exit_code(findings)
        if command == "say":
            return asyncio.run(voice.say(settings, args))
        if command == "transcribe":
            return voice.transcribe(settings, args)
        if command == "kb":
            return run_kb(
                settings,
                args,
                ollama_host=settings.ollama_host,
                ollama_embed_model=settings.ollama_embed_model,
            )
        if command == "telegram":
            setup_logging(settings)
            return asyncio.run(run_telegram(settings))
        if command == "staff":  # issue 16, part A
            setup_logging(settings, quiet=True)
            return asyncio.run(run_staff(settings, args))
        if command == "cleanup":
            setup_logging(settings, quiet=True)
            return asyncio.run(run_cleanup(settings, args))
        if command == "live":
            setup_logging(settings, quiet=True)
            return asyncio.run(run_live(settings, args))
        if command == "audit":  # issue 16, part C
            return asyncio.run(run_audit(settings, args))
        if command == "stats":  # issue 16, part C
            return asyncio.run(run_stats(settings, args))
        if command in ("backup", "restore"):  # issue 17
            setup_logging(settings, quiet=True)
            return (run_backup if command == "backup" else run_restore)(settings, args)
        if command == "litestream":
            setup_logging(settings)
            return asyncio.run(run_litestream(settings, args))
        if command == "worker":
            setup_logging(settings)
            return run_worker(settings, args)
        if command == "kiosk":
            setup_logging(settings)
            return asyncio.run(voice.kiosk(settings, args))
        if command == "generate":
            setup_logging(settings, quiet=True)
            return asyncio.run(_generate(settings, args))
    except AssistantError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
